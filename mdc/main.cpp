// mdc: the responder's screen. Parses arguments and wires the objects; the
// work is in mdc_ui (see screen.h, headless_shift.h, self_test.h).
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QGuiApplication>
#include <QQmlApplicationEngine>
#include <QQuickWindow>
#include <QTextStream>

#include <cstdio>
#include <memory>

#include "mdc/headless_shift.h"
#include "mdc/screen.h"
#include "mdc/self_test.h"

using namespace mdc::ui;

namespace {
QString defaultSocket() {
  const QByteArray env = qgetenv("MDC_SOCKET");
  return env.isEmpty() ? QStringLiteral("/run/mdc/agent.sock") : QString::fromLocal8Bit(env);
}
bool hasArg(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i)
    if (qstrcmp(argv[i], name) == 0) return true;
  return false;
}
QString tr(const char* text) {
  return QCoreApplication::translate("main", text);
}

// The options mdc takes, kept together so main reads them by name.
struct CommandLine {
  QCommandLineOption socket{
      QStringLiteral("socket"),
      tr("The agent's socket (default $MDC_SOCKET, else %1).").arg(QStringLiteral("/run/mdc/agent.sock")),
      QStringLiteral("path"), defaultSocket()};
  QCommandLineOption selfTest{QStringLiteral("self-test"), tr("Load every page offscreen; exit 1 on any QML error.")};
  QCommandLineOption headless{QStringLiteral("headless-shift"),
                              tr("Play a short scripted shift without a window; exit 0 when every action "
                                 "was delivered, 1 when not, 2 when the agent is unreachable.")};
  QCommandLineOption stepTimeout{QStringLiteral("step-timeout"),
                                 tr("Headless shift: seconds to wait for each delivery (30)."), QStringLiteral("s"),
                                 QStringLiteral("30")};
  QCommandLineOption theme{QStringLiteral("theme"), tr("auto (default), day or night."), QStringLiteral("mode"),
                           QStringLiteral("auto")};
  QCommandLineOption fullscreen{QStringLiteral("fullscreen"), tr("Fill the screen (in the vehicle).")};
  QCommandLineOption sound{QStringLiteral("sound"), tr("New-assignment chime: on (default) or off."),
                           QStringLiteral("on|off"), QStringLiteral("on")};
  QCommandLineOption soundDevice{QStringLiteral("sound-device"), tr("ALSA device for the chime (default)."),
                                 QStringLiteral("pcm"), QStringLiteral("default")};

  /** Parses the arguments; --help and --version print and exit here. */
  void process(QCommandLineParser& p, const QCoreApplication& app) const {
    p.setApplicationDescription(
        tr("The responder's screen (Mobile Data Computer). Talks only to the local mdc-agent."));
    p.addHelpOption();
    p.addVersionOption();
    p.addOptions({socket, selfTest, headless, stepTimeout, theme, fullscreen, sound, soundDevice});
    p.process(app);
  }
};

// Applies --sound and --theme; false (after saying why on err) when one is not understood.
bool applyLook(const QCommandLineParser& p, const CommandLine& o, ScreenControllers& controllers, bool quiet,
               QTextStream& err) {
  const QString soundMode = p.value(o.sound);
  if (soundMode != QLatin1String("on") && soundMode != QLatin1String("off")) {
    err << "mdc: --sound \"" << soundMode << "\": expected on or off" << Qt::endl;
    return false;
  }
  controllers.assignment.setSoundEnabled(soundMode == QLatin1String("on") && !quiet);
  controllers.alertTone.setDevice(p.value(o.soundDevice));
  const QString t = p.value(o.theme);
  if (t == QLatin1String("day"))
    controllers.theme.setMode(ThemeController::Day);
  else if (t == QLatin1String("night"))
    controllers.theme.setMode(ThemeController::Night);
  else if (t != QLatin1String("auto")) {
    err << "mdc: --theme \"" << t << "\": expected auto, day or night" << Qt::endl;
    return false;
  }
  return true;
}
}  // namespace

int main(int argc, char** argv) {
  const bool headless = hasArg(argc, argv, "--headless-shift");
  const bool selfTest = hasArg(argc, argv, "--self-test");
  if (selfTest && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  // The headless shift, --help and --version need no display at all.
  const bool noGui = headless || hasArg(argc, argv, "--help") || hasArg(argc, argv, "-h") ||
                     hasArg(argc, argv, "--version") || hasArg(argc, argv, "-v");
  std::unique_ptr<QCoreApplication> app(noGui ? new QCoreApplication(argc, argv) : new QGuiApplication(argc, argv));
  QCoreApplication::setApplicationName(QStringLiteral("mdc"));
  QCoreApplication::setApplicationVersion(QStringLiteral(MDC_VERSION));

  QCommandLineParser p;
  const CommandLine options;
  options.process(p, *app);

  QTextStream out(stdout), err(stderr);
  AgentConnection agent(p.value(options.socket));
  ScreenControllers controllers(agent);
  // The headless shift and the self-test never sound.
  if (!applyLook(p, options, controllers, headless || selfTest, err)) return 2;

  if (headless) {
    HeadlessShift::Options o;
    bool ok = false;
    o.stepTimeoutMs = int(p.value(options.stepTimeout).toDouble(&ok) * 1000);
    if (!ok || o.stepTimeoutMs <= 0) {
      err << "mdc: --step-timeout \"" << p.value(options.stepTimeout) << "\": expected seconds > 0" << Qt::endl;
      return 2;
    }
    HeadlessShift shift(controllers, out, o);
    QObject::connect(&shift, &HeadlessShift::finished, app.get(), [](int code) { QCoreApplication::exit(code); });
    shift.start();
    return app->exec();
  }

  QQmlApplicationEngine engine;
  if (selfTest) return runSelfTest(controllers, engine, err);

  agent.start();
  const QStringList problems = loadScreen(engine, controllers);
  for (const auto& pr : problems) err << "mdc: " << pr << Qt::endl;
  if (engine.rootObjects().isEmpty()) return 1;
  if (p.isSet(options.fullscreen))
    if (auto* w = qobject_cast<QQuickWindow*>(engine.rootObjects().first())) w->showFullScreen();
  return app->exec();
}
