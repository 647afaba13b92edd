#pragma once
// `mdc --self-test`: loads the screen, shows every page in both themes, and
// fails on any QML warning or error.
#include <QQmlApplicationEngine>
#include <QTextStream>

#include "mdc/screen.h"

namespace mdc::ui {

/** Returns 0 when the screen loaded and every page rendered without a QML
 *  warning, else 1 (each problem is printed to err). Runs the event loop
 *  for about settleMs per page. GUI thread. */
int runSelfTest(ScreenControllers& controllers, QQmlApplicationEngine& engine, QTextStream& err, int settleMs = 150);

/** The page names Main.qml knows, in navigation order. */
QStringList screenPages();

}  // namespace mdc::ui
