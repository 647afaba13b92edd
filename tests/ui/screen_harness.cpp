#include "tests/ui/screen_harness.h"

#include <QDir>
#include <QElapsedTimer>
#include <QQmlError>
#include <QTest>
#include <QThread>

#include <stdexcept>

#include "tests/support/temp_dir.h"

namespace mdc::test {

QGuiApplication& guiApp() {
  static int argc = 1;
  static char name[] = "mdc-ui-test";
  static char* argv[] = {name, nullptr};
  static QGuiApplication* app = [] {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    return new QGuiApplication(argc, argv);
  }();
  return *app;
}

void pump(int ms) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < ms) {
    QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    QThread::msleep(2);
  }
}

bool uiWaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  QElapsedTimer t;
  t.start();
  while (!pred()) {
    if (t.elapsed() > timeout.count()) return pred();
    QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    QThread::msleep(5);
  }
  return true;
}

ScreenUnderTest::ScreenUnderTest(const std::string& socketPath, QSize size)
    : agent((guiApp(), QString::fromStdString(socketPath))), c(agent) {
  c.theme.setMode(ui::ThemeController::Day);
  agent.setReconnectIntervalMs(200);
  QObject::connect(&engine, &QQmlEngine::warnings, &engine, [this](const QList<QQmlError>& ws) {
    for (const auto& w : ws) warnings_ << w.toString();
  });
  agent.start();
  const QStringList problems = ui::loadScreen(engine, c);
  if (engine.rootObjects().isEmpty()) throw std::runtime_error("Main.qml did not load: " + problems.join("\n").toStdString());
  window_ = qobject_cast<QQuickWindow*>(engine.rootObjects().first());
  if (!window_) throw std::runtime_error("Main.qml: root is not a window");
  window_->resize(size);
  window_->show();
  if (!QTest::qWaitForWindowExposed(window_)) throw std::runtime_error("window not exposed");
}

ScreenUnderTest::~ScreenUnderTest() {
  agent.stop();
}

bool ScreenUnderTest::waitConnected(std::chrono::milliseconds timeout) {
  return uiWaitUntil([&] { return agent.hasSnapshot(); }, timeout);
}

namespace {
// The visual tree, not the QObject tree: Repeater delegates are not QObject children.
void collect(QQuickItem* root, const QString& name, QList<QQuickItem*>& out) {
  for (auto* child : root->childItems()) {
    if (child->objectName() == name) out.append(child);
    collect(child, name, out);
  }
}
bool reallyVisible(QQuickItem* i) {
  for (; i; i = i->parentItem())
    if (!i->isVisible() || i->opacity() <= 0) return false;
  return true;
}
}  // namespace

QQuickItem* ScreenUnderTest::item(const QString& objectName) const {
  // Several items may carry the name (a delegate and its page): prefer a visible one.
  QList<QQuickItem*> all;
  collect(window_->contentItem(), objectName, all);
  for (auto* i : all)
    if (reallyVisible(i)) return i;
  return all.isEmpty() ? nullptr : all.first();
}

QString ScreenUnderTest::text(const QString& objectName, const char* property) const {
  auto* i = item(objectName);
  return i ? i->property(property).toString() : QString();
}

bool ScreenUnderTest::visible(const QString& objectName) const {
  auto* i = item(objectName);
  return i && reallyVisible(i);
}

bool ScreenUnderTest::tap(const QString& objectName) {
  auto* i = item(objectName);
  if (!i || !i->isVisible() || !i->isEnabled()) return false;
  const QPoint p = i->mapToScene(QPointF(i->width() / 2, i->height() / 2)).toPoint();
  QTest::mouseClick(window_, Qt::LeftButton, Qt::NoModifier, p);
  pump(20);
  return true;
}

bool ScreenUnderTest::hold(const QString& objectName, int ms) {
  auto* i = item(objectName);
  if (!i || !i->isVisible()) return false;
  const QPoint p = i->mapToScene(QPointF(i->width() / 2, i->height() / 2)).toPoint();
  QTest::mousePress(window_, Qt::LeftButton, Qt::NoModifier, p);
  pump(ms);
  QTest::mouseRelease(window_, Qt::LeftButton, Qt::NoModifier, p);
  pump(20);
  return true;
}

void ScreenUnderTest::showPage(const QString& page) {
  window_->setProperty("page", page);
  pump(50);
}

std::string ScreenUnderTest::screenshot(const std::string& name) {
  const QString dir = QString::fromStdString(env("MDC_BINARY_DIR")) + QStringLiteral("/screenshots");
  QDir().mkpath(dir);
  pump(100);  // let animations and layouts settle
  const QString path = dir + "/" + QString::fromStdString(name) + ".png";
  QImage img = window_->grabWindow();
  if (img.isNull() || !img.save(path)) throw std::runtime_error("screenshot " + path.toStdString() + " not saved");
  return path.toStdString();
}

}  // namespace mdc::test
