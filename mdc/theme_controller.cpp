#include "mdc/theme_controller.h"

#include <QTime>

namespace mdc::ui {

ThemeController::ThemeController(QObject* parent, std::function<int()> hourNow)
    : QObject(parent), hourNow_(std::move(hourNow)) {
  if (!hourNow_) hourNow_ = [] { return QTime::currentTime().hour(); };
  tick_.setInterval(30 * 1000);
  connect(&tick_, &QTimer::timeout, this, &ThemeController::update);
  tick_.start();
  update();
}

void ThemeController::setMode(Mode m) {
  if (m == mode_) return;
  mode_ = m;
  const bool before = night_;
  update();
  if (night_ == before) emit changed();  // the mode itself changed
}

void ThemeController::cycle() { setMode(mode_ == Auto ? Day : mode_ == Day ? Night : Auto); }

void ThemeController::update() {
  bool n = false;
  if (mode_ == Night) n = true;
  else if (mode_ == Auto) {
    const int h = hourNow_();
    n = h >= nightFromHour() || h < dayFromHour();
  }
  if (n == night_) {
    return;
  }
  night_ = n;
  emit changed();
}

}  // namespace mdc::ui
