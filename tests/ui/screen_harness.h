#pragma once
// The responder's screen in a test: the same controllers and QML as `mdc`,
// rendered offscreen, driven by synthetic taps, photographed on demand.
#include <QGuiApplication>
#include <QQmlApplicationEngine>
#include <QQuickItem>
#include <QQuickWindow>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "mdc/screen.h"

namespace mdc::test {

/** The process's QGuiApplication (offscreen), created on first use. */
QGuiApplication& guiApp();

/** Runs the Qt event loop for ms. */
void pump(int ms);
/** Runs the event loop until pred is true; false after timeout. */
bool uiWaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

/** One screen bound to an agent socket. Not thread-safe (GUI thread). */
class ScreenUnderTest {
 public:
  explicit ScreenUnderTest(const std::string& socketPath, QSize size = {1280, 800});
  ~ScreenUnderTest();

  ui::AgentConnection agent;
  ui::ScreenControllers c;
  QQmlApplicationEngine engine;

  QQuickWindow* window() const { return window_; }
  /** The QML warnings seen since the screen was created. */
  const QStringList& qmlWarnings() const { return warnings_; }
  /** Waits until the agent's first snapshot arrived. */
  bool waitConnected(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  /** The visible item with this objectName (nullptr when none). */
  QQuickItem* item(const QString& objectName) const;
  /** A property of a named item, as a string ("" when no such item). */
  QString text(const QString& objectName, const char* property = "text") const;
  bool visible(const QString& objectName) const;
  /** A finger tap on the centre of a named item; false when it is not on screen. */
  bool tap(const QString& objectName);
  /** Press, hold for ms, release (the emergency button). */
  bool hold(const QString& objectName, int ms);
  /** Opens a page as the navigation rail would. */
  void showPage(const QString& page);
  /** Renders the window and saves it as <MDC_BINARY_DIR>/screenshots/<name>.png; returns the path. */
  std::string screenshot(const std::string& name);

 private:
  QQuickWindow* window_ = nullptr;
  QStringList warnings_;
};

}  // namespace mdc::test
