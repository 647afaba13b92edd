// cad-stub: the CAD backend stub. Parses arguments, opens the event store,
// runs the ingest service until SIGTERM/SIGINT.
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QHostAddress>
#include <QSocketNotifier>
#include <QTimer>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <sys/socket.h>
#include <unistd.h>

#include "server-stub/service/cad_service.h"
#include "server-stub/store/event_store.h"
#include "shared/infra/log.h"
#include "shared/infra/service_notify.h"

namespace {
int sigPipe[2] = {-1, -1};
void onSignal(int) {
  char c = 1;
  [[maybe_unused]] auto n = ::write(sigPipe[1], &c, 1);
}


/** cad-stub's command-line options, with their help texts and defaults. */
struct StubOptions {
  QCommandLineOption db{"db",
                      "The event store: a SQLite file (created if missing), or a PostgreSQL database as "
                      "postgresql://USER@HOST:PORT/DATABASE (its tables created if missing).",
                      "file|uri", "cad.db"};
  QCommandLineOption broker{"broker",
                          "MQTT broker URI; a comma-separated list (a cluster's nodes) is tried in turn, the "
                          "next one after a failed connect or a lost connection.",
                          "uri", "tcp://127.0.0.1:1883"};
  QCommandLineOption mqttVersion{"mqtt-version",
                               "MQTT protocol: 5, or 3.1.1 for brokers that speak nothing newer (RabbitMQ 3.10).",
                               "version", "5"};
  QCommandLineOption clientId{"client-id", "MQTT client id of this instance.", "id", "cad-stub-1"};
  QCommandLineOption group{"shared-group",
                         "Share the ingest with other instances through an MQTT shared subscription ($share/NAME/...). "
                         "Default: a plain persistent subscription, which the broker keeps queueing into while this "
                         "instance restarts (mosquitto 2.0 does not queue a shared subscription's messages for an "
                         "offline member).", "name", ""};
  QCommandLineOption amqpOpt{"amqp",
                           "Run as one of several workers: take the ingest from a durable quorum queue on RabbitMQ "
                           "over AMQP 0-9-1 (declared and bound to every device's up and presence topic on "
                           "amq.topic), acknowledging each message only after its commit; commit acks and "
                           "downlinks go back over AMQP to amq.topic, which RabbitMQ's MQTT plugin delivers to the "
                           "devices (a worker uses no MQTT connection: --broker is not used). A comma-separated "
                           "list of amqp://USER:PASSWORD@HOST:PORT (the virtual host /; another as /NAME), tried in "
                           "turn.", "uris", ""};
  QCommandLineOption amqpQueue{"amqp-queue", "The ingest queue's name (--amqp).", "name", "cad.ingest"};
  QCommandLineOption ca{"tls-ca", "CA file (ssl:// broker).", "file"};
  QCommandLineOption cert{"tls-cert", "Client certificate (ssl:// broker).", "file"};
  QCommandLineOption key{"tls-key", "Client key (ssl:// broker).", "file"};
  QCommandLineOption control{"control", "Control socket for cadctl (default: <db>.ctl; for a PostgreSQL store, cad-<database>.ctl "
                           "in the working directory).", "path"};
  QCommandLineOption batchMax{"batch-max", "Most messages per commit (1-100000).", "n", "2000"};
  QCommandLineOption batchMs{"batch-ms", "Longest wait before a batch commits, ms (0-1000).", "ms", "2"};
  QCommandLineOption noAvlBatches{"no-avl-batches",
                                "Refuse AVL backlog batches as a backend from before them does (devices then "
                                "send the reports one per message), e.g. while older workers share the ingest."};
  QCommandLineOption nearbyRadius{"nearby-radius-m",
                                "Units within this distance of a unit are its nearby units (100-100000).", "m", "5000"};
  QCommandLineOption nearbyInterval{"nearby-interval-s",
                                  "A unit hears of a change near it at most this often, emergencies at once "
                                  "(1-3600; 0 turns the nearby units off).", "s", "5"};
  QCommandLineOption silentAfter{"silent-after-ms",
                               "A device that beats (link.heartbeat_s) and is not heard this long is shown offline "
                               "until it is heard again (1000-600000; 0: off, as it is where the ingest is shared).",
                               "ms", "4000"};
  QCommandLineOption metrics{"metrics-port",
                           "Serve Prometheus text metrics on http://127.0.0.1:PORT/metrics (1-65535; 0, the "
                           "default: off).", "port", "0"};
  QCommandLineOption records{"records",
                           "The records system's file (vehicles, persons, flags; cadctl records import). "
                           "Default: <db>.records, created empty.", "file"};
  QCommandLineOption recordsDelay{"records-delay-ms",
                                "The records system answers this long after a query (0-60000), to rehearse a "
                                "slow one.", "ms", "0"};
  QCommandLineOption estPort{"est-port",
                           "Serve enrolment over the network (EST, RFC 7030) on HTTPS port PORT (1-65535; 0, the "
                           "default: off). Needs the fleet CA (--ca-dir).", "port", "0"};
  QCommandLineOption estAddress{"est-address", "The enrolment server's address.", "ip", "0.0.0.0"};
  QCommandLineOption estHosts{"est-hosts",
                            "subjectAltName of the enrolment server's certificate when the stub issues it "
                            "(<ca-dir>/est.pem), e.g. DNS:cad.example,IP:10.0.0.5.", "san",
                            "IP:127.0.0.1,DNS:localhost"};
  QCommandLineOption estBroker{"est-broker", "The broker URI enrolled devices are told to use (ssl://host:port).",
                             "uri"};
  QCommandLineOption caDir{"ca-dir", "The fleet CA's directory (default: <db>.ca).", "dir"};
  QCommandLineOption certDays{"cert-days", "Validity of the device certificates the enrolment server issues "
                            "(1-825 days).", "days", "365"};

  void addTo(QCommandLineParser& p) const {
    p.addOptions({db,      broker,  mqttVersion,  clientId, group, amqpOpt, amqpQueue, ca,           cert,
                  key,     control, batchMax,     batchMs,  noAvlBatches, nearbyRadius, nearbyInterval,
                  silentAfter, metrics, records, recordsDelay, estPort,  estAddress,   estHosts,     estBroker,
                  caDir,   certDays});
  }
};

/** A refusal of the command line: what cad-stub prints after "cad-stub: ". */
using Refusal = std::optional<std::string>;

/** An integer option within lo-hi, or its refusal. */
Refusal intIn(const QCommandLineParser& p, const QCommandLineOption& o, int lo, int hi, int& out) {
  bool ok = false;
  out = p.value(o).toInt(&ok);
  if (ok && out >= lo && out <= hi) return std::nullopt;
  return "--" + o.names().front().toStdString() + " \"" + p.value(o).toStdString() + "\": out of range " +
         std::to_string(lo) + "-" + std::to_string(hi);
}

/** The broker, the MQTT session and the AMQP ingest. */
Refusal linkFrom(const QCommandLineParser& p, const StubOptions& o, cad::ServiceConfig& cfg) {
  cfg.dbPath = p.value(o.db).toStdString();
  cfg.broker = p.value(o.broker).toStdString();
  for (const QString& b : p.value(o.broker).split(',')) {
    const std::string uri = b.toStdString();
    if (uri.rfind("tcp://", 0) != 0 && uri.rfind("ssl://", 0) != 0)
      return "--broker \"" + uri + "\": scheme must be tcp:// or ssl://";
  }
  if (auto v = mdc::mqtt::parseVersion(p.value(o.mqttVersion).toStdString()))
    cfg.mqttVersion = *v;
  else
    return "--mqtt-version \"" + p.value(o.mqttVersion).toStdString() + "\": must be 5 or 3.1.1";
  cfg.clientId = p.value(o.clientId).toStdString();
  cfg.sharedGroup = p.value(o.group).toStdString();
  if (p.isSet(o.amqpOpt)) {
    auto uris = cad::amqp::parseUris(p.value(o.amqpOpt).toStdString());
    if (!uris) return uris.error().message;
    cfg.amqpUris = *uris;
    cfg.amqpQueue = p.value(o.amqpQueue).toStdString();
    if (cfg.amqpQueue.empty() || cfg.amqpQueue.size() > 255)
      return "--amqp-queue \"" + cfg.amqpQueue + "\": 1-255 characters";
    if (!cfg.sharedGroup.empty()) return "--amqp and --shared-group: one ingest or the other";
  }
  cfg.tlsCa = p.value(o.ca).toStdString();
  cfg.tlsCert = p.value(o.cert).toStdString();
  cfg.tlsKey = p.value(o.key).toStdString();
  cfg.controlPath = p.value(o.control).toStdString();
  return std::nullopt;
}

/** Batching, nearby units, metrics and the records system. */
Refusal ingestFrom(const QCommandLineParser& p, const StubOptions& o, cad::ServiceConfig& cfg) {
  if (auto r = intIn(p, o.batchMax, 1, 100000, cfg.batchMax)) return r;
  if (auto r = intIn(p, o.batchMs, 0, 1000, cfg.batchMs)) return r;
  cfg.acceptAvlBatches = !p.isSet(o.noAvlBatches);
  if (auto r = intIn(p, o.nearbyRadius, 100, 100000, cfg.nearbyRadiusM)) return r;
  int nearbyS = 0;
  if (auto r = intIn(p, o.nearbyInterval, 0, 3600, nearbyS)) return r;
  cfg.nearbyIntervalMs = nearbyS * 1000;
  if (auto r = intIn(p, o.silentAfter, 0, 600000, cfg.silentAfterMs)) return r;
  if (cfg.silentAfterMs > 0 && cfg.silentAfterMs < 1000)
    return "--silent-after-ms \"" + std::to_string(cfg.silentAfterMs) + "\": 0 (off) or 1000-600000";
  if (auto r = intIn(p, o.metrics, 0, 65535, cfg.metricsPort)) return r;
  cfg.recordsPath = p.value(o.records).toStdString();
  return intIn(p, o.recordsDelay, 0, 60000, cfg.recordsDelayMs);
}

/** Enrolment over the network (EST). */
Refusal estFrom(const QCommandLineParser& p, const StubOptions& o, cad::ServiceConfig& cfg) {
  if (auto r = intIn(p, o.estPort, 0, 65535, cfg.est.port)) return r;
  cfg.est.address = p.value(o.estAddress).toStdString();
  if (QHostAddress(p.value(o.estAddress)).isNull()) return "--est-address \"" + cfg.est.address + "\": not an IP address";
  cfg.est.hosts = p.value(o.estHosts).toStdString();
  cfg.est.caDir = p.isSet(o.caDir) ? p.value(o.caDir).toStdString() : cad::sideFileBase(cfg.dbPath) + ".ca";
  cfg.est.deviceBroker = p.value(o.estBroker).toStdString();
  if (cfg.est.port > 0 && cfg.est.deviceBroker.rfind("ssl://", 0) != 0)
    return "--est-broker \"" + cfg.est.deviceBroker + "\": the ssl:// broker devices are told to use is "
           "required with --est-port";
  return intIn(p, o.certDays, 1, 825, cfg.est.certDays);
}

/** Fault injection (CAD_STUB_FAULT) for the tests that prove the downlink
 *  outbox, and a worker's death between a commit and its AMQP acknowledgement. */
Refusal faultsFrom(cad::ServiceConfig& cfg) {
  const char* fault = std::getenv("CAD_STUB_FAULT");
  if (!fault || !*fault) return std::nullopt;
  const std::string f = fault;
  // "<prefix>N" with N a count of at most six digits, or nullopt.
  auto numberAfter = [&f](const std::string& prefix) -> std::optional<int> {
    if (f.rfind(prefix, 0) != 0 || f.size() <= prefix.size() || f.size() > prefix.size() + 6 ||
        f.find_first_not_of("0123456789", prefix.size()) != std::string::npos)
      return std::nullopt;
    return std::stoi(f.substr(prefix.size()));
  };
  if (f == "kill-after-commit") {
    cfg.faultKillAfterCommit = true;
  } else if (auto n = numberAfter("kill-before-ack:")) {
    cfg.faultKillBeforeAckAfter = *n;
  } else if (auto us = numberAfter("slow-commit:")) {
    cfg.faultSlowCommitUs = *us;  // a backend at a fraction of its speed, for the load tests
  } else {
    return "CAD_STUB_FAULT \"" + f +
           "\": unknown (known: kill-after-commit, kill-before-ack:N, slow-commit:MICROSECONDS_PER_MESSAGE)";
  }
  return std::nullopt;
}

int fail(const std::string& m) {
  std::cerr << "cad-stub: " << m << "\n";
  return 2;
}

/** Opens the store, starts the service and runs it until SIGTERM/SIGINT. */
int run(QCoreApplication& app, const cad::ServiceConfig& cfg) {
  auto store = cad::EventStore::open(cfg.dbPath);
  if (!store) return fail(store.error().message);
  // A checkpoint inside a commit held every ack of that commit for the copy.
  if (mdc::Status s = (*store)->log().startBackgroundCheckpoints(std::chrono::seconds(1)); !s) return fail(s.error().message);
  cad::CadService service(cfg, **store);
  if (mdc::Status s = service.start(); !s) return fail(s.error().message);

  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sigPipe) != 0) return fail("socketpair failed");
  QSocketNotifier sn(sigPipe[0], QSocketNotifier::Read);
  QObject::connect(&sn, &QSocketNotifier::activated, &app, [&] {
    char c;
    [[maybe_unused]] auto n = ::read(sigPipe[0], &c, 1);
    mdc::log::info("stub", "stopping");
    mdc::service::stopping();
    service.stop();
    app.quit();
  });
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  QTimer watchdog;
  if (const int64_t ms = mdc::service::watchdogIntervalMs(); ms > 0) {
    QObject::connect(&watchdog, &QTimer::timeout, [] { mdc::service::watchdogPing(); });
    watchdog.start(int(ms));
  }
  mdc::service::ready("cad-stub on " + (*store)->db().path());
  return app.exec();
}

}  // namespace

int main(int argc, char** argv) {
  QCoreApplication app(argc, argv);
  QCoreApplication::setApplicationName("cad-stub");
  QCoreApplication::setApplicationVersion(MDC_VERSION);
  QCommandLineParser p;
  p.setApplicationDescription(
      "Backend stub of the central CAD: ingests device events over MQTT into an append-only, hash-chained\n"
      "SQLite event store, acknowledges each event only after its transaction commits, keeps the unit board,\n"
      "CFS and downlink queues as read models, and runs dispatcher commands from cadctl.");
  p.addHelpOption();
  p.addVersionOption();
  const StubOptions options;
  options.addTo(p);
  p.process(app);

  cad::ServiceConfig cfg;
  for (auto parse : {linkFrom, ingestFrom, estFrom})
    if (Refusal r = parse(p, options, cfg)) return fail(*r);
  if (Refusal r = faultsFrom(cfg)) return fail(*r);
  return run(app, cfg);
}
