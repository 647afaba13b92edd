// cad-edge-watch: the liveness watch of one edge broker (edge_watch.h). Runs
// beside its edge until SIGTERM/SIGINT.
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QSocketNotifier>

#include <csignal>
#include <iostream>
#include <sys/socket.h>
#include <unistd.h>

#include "server-stub/service/edge_watch.h"
#include "shared/infra/log.h"
#include "shared/infra/service_notify.h"
#include "shared/wire/topics.h"

namespace {
int sigPipe[2] = {-1, -1};
void onSignal(int) {
  char c = 1;
  [[maybe_unused]] auto n = ::write(sigPipe[1], &c, 1);
}

int fail(const std::string& m) {
  std::cerr << "cad-edge-watch: " << m << "\n";
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  QCoreApplication app(argc, argv);
  QCoreApplication::setApplicationName("cad-edge-watch");
  QCoreApplication::setApplicationVersion(MDC_VERSION);
  QCommandLineParser p;
  p.setApplicationDescription(
      "The liveness watch of one edge broker: hears every device's beat, up and presence topics on the edge, and\n"
      "reports a device that beats and is not heard for --silent-after-ms (and one heard again) on\n"
      "cad/v1/edge/<edge>/liveness, which the edge's bridge sends into the backbone's ingest queue; the workers\n"
      "then show its unit offline (registry.device_silent) or online again (registry.device_heard).");
  p.addHelpOption();
  p.addVersionOption();
  QCommandLineOption broker{"broker", "The edge broker's URI, ssl://HOST:PORT (tcp:// for a test broker).", "uri"};
  QCommandLineOption edge{"edge", "The edge's name, as given to cadctl broker-config --edge.", "name"};
  QCommandLineOption clientId{"client-id", "MQTT client id (default: cad-edge-watch-<edge>).", "id"};
  QCommandLineOption ca{"tls-ca", "CA file (ssl:// broker).", "file"};
  QCommandLineOption cert{"tls-cert", "Client certificate (ssl:// broker): the edge's cad-stub.pem.", "file"};
  QCommandLineOption key{"tls-key", "Client key (ssl:// broker): the edge's cad-stub.key.", "file"};
  QCommandLineOption silentAfter{"silent-after-ms", "A device that beats and is not heard this long is reported "
                                 "silent (1000-600000; default 4000).", "ms", "4000"};
  p.addOptions({broker, edge, clientId, ca, cert, key, silentAfter});
  p.process(app);

  cad::EdgeWatchConfig cfg;
  cfg.broker = p.value(broker).toStdString();
  if (cfg.broker.rfind("ssl://", 0) != 0 && cfg.broker.rfind("tcp://", 0) != 0)
    return fail("--broker \"" + cfg.broker + "\": scheme must be tcp:// or ssl://");
  cfg.edge = p.value(edge).toStdString();
  if (!mdc::topics::isValidDeviceId(cfg.edge))
    return fail("--edge \"" + cfg.edge + "\": expected 1-64 letters, digits, ., - or _");
  cfg.clientId = p.isSet(clientId) ? p.value(clientId).toStdString() : "cad-edge-watch-" + cfg.edge;
  cfg.tlsCa = p.value(ca).toStdString();
  cfg.tlsCert = p.value(cert).toStdString();
  cfg.tlsKey = p.value(key).toStdString();
  bool ok = false;
  cfg.silentAfterMs = p.value(silentAfter).toInt(&ok);
  if (!ok || cfg.silentAfterMs < 1000 || cfg.silentAfterMs > 600000)
    return fail("--silent-after-ms \"" + p.value(silentAfter).toStdString() + "\": out of range 1000-600000");

  cad::EdgeWatch watch(cfg);
  if (mdc::Status s = watch.start(); !s) return fail(s.error().message);
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sigPipe) != 0) return fail("socketpair failed");
  QSocketNotifier sn(sigPipe[0], QSocketNotifier::Read);
  QObject::connect(&sn, &QSocketNotifier::activated, &app, [&] {
    char c;
    [[maybe_unused]] auto n = ::read(sigPipe[0], &c, 1);
    mdc::log::info("edge-watch", "stopping");
    watch.stop();
    app.quit();
  });
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  mdc::service::ready("cad-edge-watch for edge " + cfg.edge);
  return app.exec();
}
