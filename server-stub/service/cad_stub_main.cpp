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
  QCommandLineOption db("db",
                        "The event store: a SQLite file (created if missing), or a PostgreSQL database as "
                        "postgresql://USER@HOST:PORT/DATABASE (its tables created if missing).",
                        "file|uri", "cad.db");
  QCommandLineOption broker("broker",
                            "MQTT broker URI; a comma-separated list (a cluster's nodes) is tried in turn, the "
                            "next one after a failed connect or a lost connection.",
                            "uri", "tcp://127.0.0.1:1883");
  QCommandLineOption mqttVersion("mqtt-version",
                                 "MQTT protocol: 5, or 3.1.1 for brokers that speak nothing newer (RabbitMQ 3.10).",
                                 "version", "5");
  QCommandLineOption clientId("client-id", "MQTT client id of this instance.", "id", "cad-stub-1");
  QCommandLineOption group("shared-group",
                           "Share the ingest with other instances through an MQTT shared subscription ($share/NAME/...). "
                           "Default: a plain persistent subscription, which the broker keeps queueing into while this "
                           "instance restarts (mosquitto 2.0 does not queue a shared subscription's messages for an "
                           "offline member).", "name", "");
  QCommandLineOption amqpOpt("amqp",
                             "Run as one of several workers: take the ingest from a durable quorum queue on RabbitMQ "
                             "over AMQP 0-9-1 (declared and bound to every device's up and presence topic on "
                             "amq.topic), acknowledging each message only after its commit; downlinks still go over "
                             "MQTT (--broker). A comma-separated list of amqp://USER:PASSWORD@HOST:PORT (the virtual "
                             "host /; another as /NAME), tried in turn.", "uris", "");
  QCommandLineOption amqpQueue("amqp-queue", "The ingest queue's name (--amqp).", "name", "cad.ingest");
  QCommandLineOption ca("tls-ca", "CA file (ssl:// broker).", "file");
  QCommandLineOption cert("tls-cert", "Client certificate (ssl:// broker).", "file");
  QCommandLineOption key("tls-key", "Client key (ssl:// broker).", "file");
  QCommandLineOption control("control", "Control socket for cadctl (default: <db>.ctl; for a PostgreSQL store, cad-<database>.ctl "
                             "in the working directory).", "path");
  QCommandLineOption batchMax("batch-max", "Most messages per commit (1-100000).", "n", "2000");
  QCommandLineOption batchMs("batch-ms", "Longest wait before a batch commits, ms (0-1000).", "ms", "2");
  QCommandLineOption noAvlBatches("no-avl-batches",
                                  "Refuse AVL backlog batches as a backend from before them does (devices then "
                                  "send the reports one per message), e.g. while older workers share the ingest.");
  QCommandLineOption nearbyRadius("nearby-radius-m",
                                  "Units within this distance of a unit are its nearby units (100-100000).", "m", "5000");
  QCommandLineOption nearbyInterval("nearby-interval-s",
                                    "A unit hears of a change near it at most this often, emergencies at once "
                                    "(1-3600; 0 turns the nearby units off).", "s", "5");
  QCommandLineOption metrics("metrics-port",
                             "Serve Prometheus text metrics on http://127.0.0.1:PORT/metrics (1-65535; 0, the "
                             "default: off).", "port", "0");
  QCommandLineOption records("records",
                             "The records system's file (vehicles, persons, flags; cadctl records import). "
                             "Default: <db>.records, created empty.", "file");
  QCommandLineOption recordsDelay("records-delay-ms",
                                  "The records system answers this long after a query (0-60000), to rehearse a "
                                  "slow one.", "ms", "0");
  QCommandLineOption estPort("est-port",
                             "Serve enrolment over the network (EST, RFC 7030) on HTTPS port PORT (1-65535; 0, the "
                             "default: off). Needs the fleet CA (--ca-dir).", "port", "0");
  QCommandLineOption estAddress("est-address", "The enrolment server's address.", "ip", "0.0.0.0");
  QCommandLineOption estHosts("est-hosts",
                              "subjectAltName of the enrolment server's certificate when the stub issues it "
                              "(<ca-dir>/est.pem), e.g. DNS:cad.example,IP:10.0.0.5.", "san",
                              "IP:127.0.0.1,DNS:localhost");
  QCommandLineOption estBroker("est-broker", "The broker URI enrolled devices are told to use (ssl://host:port).",
                               "uri");
  QCommandLineOption caDir("ca-dir", "The fleet CA's directory (default: <db>.ca).", "dir");
  QCommandLineOption certDays("cert-days", "Validity of the device certificates the enrolment server issues "
                              "(1-825 days).", "days", "365");
  p.addOptions({db,      broker,  mqttVersion,  clientId, group, amqpOpt, amqpQueue, ca,           cert,
                key,     control, batchMax,     batchMs,  noAvlBatches, nearbyRadius, nearbyInterval,
                metrics, records, recordsDelay, estPort,  estAddress,   estHosts,     estBroker,
                caDir,   certDays});
  p.process(app);

  auto fail = [](const std::string& m) {
    std::cerr << "cad-stub: " << m << "\n";
    return 2;
  };
  cad::ServiceConfig cfg;
  cfg.dbPath = p.value(db).toStdString();
  cfg.broker = p.value(broker).toStdString();
  for (const QString& b : p.value(broker).split(',')) {
    const std::string uri = b.toStdString();
    if (uri.rfind("tcp://", 0) != 0 && uri.rfind("ssl://", 0) != 0)
      return fail("--broker \"" + uri + "\": scheme must be tcp:// or ssl://");
  }
  if (auto v = mdc::mqtt::parseVersion(p.value(mqttVersion).toStdString()))
    cfg.mqttVersion = *v;
  else
    return fail("--mqtt-version \"" + p.value(mqttVersion).toStdString() + "\": must be 5 or 3.1.1");
  cfg.clientId = p.value(clientId).toStdString();
  cfg.sharedGroup = p.value(group).toStdString();
  if (p.isSet(amqpOpt)) {
    auto uris = cad::amqp::parseUris(p.value(amqpOpt).toStdString());
    if (!uris) return fail(uris.error().message);
    cfg.amqpUris = *uris;
    cfg.amqpQueue = p.value(amqpQueue).toStdString();
    if (cfg.amqpQueue.empty() || cfg.amqpQueue.size() > 255)
      return fail("--amqp-queue \"" + cfg.amqpQueue + "\": 1-255 characters");
    if (!cfg.sharedGroup.empty()) return fail("--amqp and --shared-group: one ingest or the other");
  }
  cfg.tlsCa = p.value(ca).toStdString();
  cfg.tlsCert = p.value(cert).toStdString();
  cfg.tlsKey = p.value(key).toStdString();
  cfg.controlPath = p.value(control).toStdString();
  bool ok = false;
  cfg.batchMax = p.value(batchMax).toInt(&ok);
  if (!ok || cfg.batchMax < 1 || cfg.batchMax > 100000)
    return fail("--batch-max \"" + p.value(batchMax).toStdString() + "\": out of range 1-100000");
  cfg.batchMs = p.value(batchMs).toInt(&ok);
  if (!ok || cfg.batchMs < 0 || cfg.batchMs > 1000)
    return fail("--batch-ms \"" + p.value(batchMs).toStdString() + "\": out of range 0-1000");
  cfg.acceptAvlBatches = !p.isSet(noAvlBatches);

  cfg.nearbyRadiusM = p.value(nearbyRadius).toInt(&ok);
  if (!ok || cfg.nearbyRadiusM < 100 || cfg.nearbyRadiusM > 100000)
    return fail("--nearby-radius-m \"" + p.value(nearbyRadius).toStdString() + "\": out of range 100-100000");
  const int nearbyS = p.value(nearbyInterval).toInt(&ok);
  if (!ok || nearbyS < 0 || nearbyS > 3600)
    return fail("--nearby-interval-s \"" + p.value(nearbyInterval).toStdString() + "\": out of range 0-3600");
  cfg.nearbyIntervalMs = nearbyS * 1000;

  cfg.metricsPort = p.value(metrics).toInt(&ok);
  if (!ok || cfg.metricsPort < 0 || cfg.metricsPort > 65535)
    return fail("--metrics-port \"" + p.value(metrics).toStdString() + "\": out of range 0-65535");

  cfg.recordsPath = p.value(records).toStdString();
  cfg.recordsDelayMs = p.value(recordsDelay).toInt(&ok);
  if (!ok || cfg.recordsDelayMs < 0 || cfg.recordsDelayMs > 60000)
    return fail("--records-delay-ms \"" + p.value(recordsDelay).toStdString() + "\": out of range 0-60000");

  cfg.est.port = p.value(estPort).toInt(&ok);
  if (!ok || cfg.est.port < 0 || cfg.est.port > 65535)
    return fail("--est-port \"" + p.value(estPort).toStdString() + "\": out of range 0-65535");
  cfg.est.address = p.value(estAddress).toStdString();
  if (QHostAddress(p.value(estAddress)).isNull())
    return fail("--est-address \"" + cfg.est.address + "\": not an IP address");
  cfg.est.hosts = p.value(estHosts).toStdString();
  cfg.est.caDir = p.isSet(caDir) ? p.value(caDir).toStdString() : cad::sideFileBase(cfg.dbPath) + ".ca";
  cfg.est.deviceBroker = p.value(estBroker).toStdString();
  if (cfg.est.port > 0 && cfg.est.deviceBroker.rfind("ssl://", 0) != 0)
    return fail("--est-broker \"" + cfg.est.deviceBroker + "\": the ssl:// broker devices are told to use is "
                "required with --est-port");
  cfg.est.certDays = p.value(certDays).toInt(&ok);
  if (!ok || cfg.est.certDays < 1 || cfg.est.certDays > 825)
    return fail("--cert-days \"" + p.value(certDays).toStdString() + "\": out of range 1-825");

  // Fault injection for the tests that prove the downlink outbox, and a
  // worker's death between a commit and its AMQP acknowledgement.
  if (const char* fault = std::getenv("CAD_STUB_FAULT"); fault && *fault) {
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
      return fail("CAD_STUB_FAULT \"" + f +
                  "\": unknown (known: kill-after-commit, kill-before-ack:N, slow-commit:MICROSECONDS_PER_MESSAGE)");
    }
  }

  auto store = cad::EventStore::open(cfg.dbPath);
  if (!store) return fail(store.error().message);
  // A checkpoint inside a commit held every ack of that commit for the copy.
  if (mdc::Status s = (*store)->startBackgroundCheckpoints(std::chrono::seconds(1)); !s) return fail(s.error().message);
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
