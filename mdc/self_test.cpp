#include "mdc/self_test.h"

#include <QElapsedTimer>
#include <QEventLoop>
#include <QQmlError>
#include <QQuickWindow>
#include <QTimer>

namespace mdc::ui {

QStringList screenPages() {
  return {QStringLiteral("status"), QStringLiteral("assignment"), QStringLiteral("cfs"), QStringLiteral("messages"),
          QStringLiteral("nearby"), QStringLiteral("query"), QStringLiteral("diagnostics")};
}

namespace {
void settle(int ms) {
  QEventLoop loop;
  QTimer::singleShot(ms, &loop, &QEventLoop::quit);
  loop.exec();
}
}  // namespace

int runSelfTest(ScreenControllers& controllers, QQmlApplicationEngine& engine, QTextStream& err, int settleMs) {
  QStringList problems;
  QObject::connect(&engine, &QQmlEngine::warnings, &engine, [&problems](const QList<QQmlError>& ws) {
    for (const auto& w : ws) problems << w.toString();
  });
  QElapsedTimer t;
  t.start();
  problems << loadScreen(engine, controllers);
  auto roots = engine.rootObjects();
  auto* window = roots.isEmpty() ? nullptr : qobject_cast<QQuickWindow*>(roots.first());
  if (!window) problems << QStringLiteral("Main.qml: the root object is not a window");
  if (window) {
    for (auto mode : {ThemeController::Day, ThemeController::Night}) {
      controllers.theme.setMode(mode);
      for (const auto& page : screenPages()) {
        window->setProperty("page", page);
        settle(settleMs);
        if (window->property("page").toString() != page) problems << QStringLiteral("page \"%1\" not shown").arg(page);
        QImage frame = window->grabWindow();
        if (frame.isNull()) problems << QStringLiteral("page \"%1\": nothing rendered").arg(page);
      }
    }
  }
  for (const auto& p : problems) err << "mdc --self-test: " << p << Qt::endl;
  err << "mdc --self-test: " << (problems.isEmpty() ? "OK" : "FAILED") << ", " << problems.size()
      << " problem(s), " << t.elapsed() << " ms" << Qt::endl;
  return problems.isEmpty() ? 0 : 1;
}

}  // namespace mdc::ui
