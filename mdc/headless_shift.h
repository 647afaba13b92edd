#pragma once
// `mdc --headless-shift`: a short scripted shift played through the same
// controllers the screen uses, without a window. One line per step with the
// queued → delivered transitions it observed, then a summary line.
#include <QElapsedTimer>
#include <QObject>
#include <QTextStream>
#include <QTimer>

#include <functional>
#include <vector>

#include "mdc/screen.h"

namespace mdc::ui {

/** Plays the shift; finished(exitCode) at the end: 0 when every action reached
 *  delivered, 1 when any did not (still queued, rejected or refused), 2 when
 *  the agent was not reachable. Thread-safety: GUI thread only. */
class HeadlessShift : public QObject {
  Q_OBJECT

 public:
  struct Options {
    int connectTimeoutMs = 10000;
    int stepTimeoutMs = 30000;      ///< per action: queued → delivered
    int incidentTimeoutMs = 10000;  ///< extra wait for a self-initiated CFS's incident number
    double fallbackLat = 40.7128;   ///< CFS location when the GPS has no fix
    double fallbackLon = -74.0060;
  };
  HeadlessShift(ScreenControllers& controllers, QTextStream& out, Options options);

  /** Starts the shift; returns at once. */
  void start();

 signals:
  void finished(int exitCode);

 private:
  struct Step {
    QString name;
    std::function<void()> begin;  // starts the action, or calls skip()
    bool wantsIncident = false;
  };
  void waitForAgent();
  void nextStep();
  void onQueued(qulonglong seq);
  void onFailed(const QString& error);
  void poll();
  void finishStep(const QString& outcome, bool delivered);
  void skip(const QString& why);
  void summary();
  QString elapsed(qint64 fromMs) const;

  ScreenControllers& c_;
  QTextStream& out_;
  Options opt_;
  std::vector<Step> steps_;
  size_t index_ = 0;
  QTimer poll_;
  QElapsedTimer clock_;
  qint64 stepStartMs_ = 0, queuedAtMs_ = 0, deliveredAtMs_ = 0;
  qulonglong seq_ = 0;
  bool active_ = false;
  int actions_ = 0, delivered_ = 0, queuedOnly_ = 0, rejected_ = 0, failed_ = 0, skipped_ = 0;
};

}  // namespace mdc::ui
