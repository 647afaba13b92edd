// mdc-agent: the vehicle's headless daemon. Parses arguments, opens the store,
// wires the agent to its local API, runs the event loop.
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFileInfo>
#include <QSocketNotifier>
#include <QTimer>

#include <csignal>
#include <iostream>
#include <optional>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/local_api.h"
#include "agent/store.h"
#include "shared/infra/log.h"
#include "shared/infra/service_notify.h"

using namespace mdc;

namespace {
int signalPipe[2] = {-1, -1};
void onSignal(int) {
  char c = 1;
  [[maybe_unused]] auto n = ::write(signalPipe[1], &c, 1);
}

int fail(const std::string& msg) {
  std::cerr << "mdc-agent: " << msg << "\n";
  return 2;
}

// The command line's options.
struct AgentOptions {
  QCommandLineOption config{"config", "JSON configuration file.", "file"};
  QCommandLineOption set{"set", "Override one configuration key (repeatable).", "key=value"};
  QCommandLineOption device{"device-id", "Same as --set device_id=ID.", "id"};
  QCommandLineOption unit{"unit-id", "Same as --set unit_id=UNIT.", "unit"};
  QCommandLineOption agency{"agency", "Same as --set agency=A.", "agency"};
  QCommandLineOption broker{"broker", "Same as --set broker=URI[,URI...] (tcp://host:port or ssl://host:port).",
                            "uri"};
  QCommandLineOption store{"store", "Same as --set store.path=FILE.", "file"};
  QCommandLineOption socket{"socket", "Same as --set socket.path=PATH.", "path"};
  QCommandLineOption print{"print-config", "Print the effective configuration as JSON and exit."};
  QCommandLineOption check{"check-store", "Check the store's integrity and lane invariants, print a summary, exit "
                                          "(0 when healthy, 1 otherwise)."};
};

void describe(QCommandLineParser& p, const AgentOptions& o) {
  p.setApplicationDescription(
      "The MDC edge agent: keeps every responder action in a durable outbox until the CAD backend has\n"
      "committed it, receives assignments and messages, and serves the MDC app over a local socket.\n\n"
      "Configuration: a JSON file (--config) with keys device_id, unit_id, agency, broker, tls.{ca,cert,key},\n"
      "store.{path,cap_bytes,avl_commit_ms}, socket.path, link.{mqtt_version,window,keepalive_s,heartbeat_s,\n"
      "backoff_initial_ms,backoff_max_ms,ack_timeout_s,backfill_per_s,avl_batch}, gps.{source,host,port}, log_level;\n"
      "any key can be overridden with --set key=value. broker may list a cluster's nodes, comma-separated; the\n"
      "agent moves to the next when one fails. See README.md.");
  p.addHelpOption();
  p.addVersionOption();
  p.addOptions({o.config, o.set, o.device, o.unit, o.agency, o.broker, o.store, o.socket, o.print, o.check});
}

// The configuration: the file, then --set and its aliases in that order; an
// exit code when one of them is wrong.
std::optional<int> configure(const QCommandLineParser& p, const AgentOptions& o, agent::AgentConfig& cfg) {
  if (p.isSet(o.config))
    if (Status s = agent::loadConfigFile(p.value(o.config).toStdString(), cfg); !s) return fail(s.error().message);
  std::vector<std::pair<std::string, std::string>> overrides;
  for (const QString& kv : p.values(o.set)) {
    auto text = kv.toStdString();
    auto eq = text.find('=');
    if (eq == std::string::npos) return fail("--set \"" + text + "\": expected key=value");
    overrides.emplace_back(text.substr(0, eq), text.substr(eq + 1));
  }
  auto alias = [&](const QCommandLineOption& opt, const char* key) {
    if (p.isSet(opt)) overrides.emplace_back(key, p.value(opt).toStdString());
  };
  alias(o.device, "device_id");
  alias(o.unit, "unit_id");
  alias(o.agency, "agency");
  alias(o.broker, "broker");
  alias(o.store, "store.path");
  alias(o.socket, "socket.path");
  for (const auto& [k, v] : overrides)
    if (Status s = cfg.set(k, v); !s) return fail(s.error().message);
  return std::nullopt;
}

// --check-store: reads what is there, never creates a store (a new one is
// made by the agent itself, with its seq origin).
int checkStore(const agent::AgentConfig& cfg) {
  if (!QFileInfo::exists(QString::fromStdString(cfg.storePath)))
    return fail("--check-store: store \"" + cfg.storePath + "\" does not exist (nothing was created)");
  auto store = agent::Store::open(cfg.storePath, {cfg.storeCapBytes, 500, cfg.storeKeyPath}, SystemClock::instance());
  if (!store) return fail(store.error().message);
  auto report = (*store)->check();
  std::cout << "store " << cfg.storePath << "\n";
  for (const auto& line : report.lines) std::cout << line << "\n";
  std::cout << (report.ok ? "healthy\n" : "NOT HEALTHY\n");
  return report.ok ? 0 : 1;
}

// Runs the agent until SIGTERM/SIGINT; the event loop's exit code.
int serve(QCoreApplication& app, const agent::AgentConfig& cfg) {
  agent::Store::Options storeOptions{cfg.storeCapBytes, 500, cfg.storeKeyPath};
  storeOptions.seqFromCreationTime = true;
  auto store = agent::Store::open(cfg.storePath, storeOptions, SystemClock::instance());
  if (!store) return fail(store.error().message);

  agent::Agent agentCore(cfg, **store, SystemClock::instance());
  agent::LocalApiServer api(agentCore, cfg.socketPath);
  if (Status s = api.listen(); !s) return fail(s.error().message);

  // SIGTERM/SIGINT: stop cleanly (offline presence, AVL flushed) through the loop.
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, signalPipe) != 0) return fail("socketpair failed");
  QSocketNotifier sn(signalPipe[0], QSocketNotifier::Read);
  QObject::connect(&sn, &QSocketNotifier::activated, &app, [&] {
    char c;
    [[maybe_unused]] auto n = ::read(signalPipe[0], &c, 1);
    log::info("agent", "stopping");
    service::stopping();
    agentCore.stop();
    app.quit();
  });
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  agentCore.start();
  // Under systemd (Type=notify): ready once the socket serves; the watchdog
  // is pinged from this loop, so a hung loop gets the agent restarted.
  QTimer watchdog;
  if (const int64_t ms = service::watchdogIntervalMs(); ms > 0) {
    QObject::connect(&watchdog, &QTimer::timeout, [] { service::watchdogPing(); });
    watchdog.start(int(ms));
  }
  service::ready("agent " + cfg.deviceId + " (unit " + cfg.unitId + ") serving " + cfg.socketPath);
  int rc = app.exec();
  log::info("agent", "stopped");
  return rc;
}
}  // namespace

int main(int argc, char** argv) {
  QCoreApplication app(argc, argv);
  QCoreApplication::setApplicationName("mdc-agent");
  QCoreApplication::setApplicationVersion(MDC_VERSION);

  QCommandLineParser p;
  const AgentOptions options;
  describe(p, options);
  p.process(app);

  agent::AgentConfig cfg;
  if (auto rc = configure(p, options, cfg)) return *rc;

  if (p.isSet(options.print)) {
    std::cout << cfg.toJson();
    return cfg.validate() ? 0 : fail(cfg.validate().error().message);
  }

  log::Level level = log::Level::Info;
  log::parseLevel(cfg.logLevel, level);
  if (!std::getenv("MDC_LOG_LEVEL")) log::setLevel(level);

  if (p.isSet(options.check)) return checkStore(cfg);
  if (Status s = cfg.validate(); !s) return fail(s.error().message);
  return serve(app, cfg);
}
