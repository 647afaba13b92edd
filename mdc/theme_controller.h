#pragma once
// Day and night: the night theme is dark and dim with no white surfaces;
// automatic mode follows the local time of day.
#include <QObject>
#include <QTimer>
#include <QtQml/qqmlregistration.h>

#include <functional>

namespace mdc::ui {

/** Chooses the theme. Thread-safety: GUI thread only. */
class ThemeController : public QObject {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(Mode mode READ mode WRITE setMode NOTIFY changed)
  Q_PROPERTY(bool night READ night NOTIFY changed)
  Q_PROPERTY(int nightFromHour READ nightFromHour CONSTANT)
  Q_PROPERTY(int dayFromHour READ dayFromHour CONSTANT)

 public:
  enum Mode { Auto, Day, Night };
  Q_ENUM(Mode)
  /** hourNow returns the local hour 0..23 (a seam for tests); defaults to the wall clock. */
  explicit ThemeController(QObject* parent = nullptr, std::function<int()> hourNow = {});

  Mode mode() const { return mode_; }
  void setMode(Mode m);
  /** Night theme in use (Night, or Auto between nightFromHour and dayFromHour). */
  bool night() const { return night_; }
  int nightFromHour() const { return 19; }
  int dayFromHour() const { return 7; }
  /** Auto → Day → Night → Auto. */
  Q_INVOKABLE void cycle();

 signals:
  void changed();

 private:
  void update();
  std::function<int()> hourNow_;
  QTimer tick_;
  Mode mode_ = Auto;
  bool night_ = false;
};

}  // namespace mdc::ui
