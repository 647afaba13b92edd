#include "mdc/headless_shift.h"

namespace mdc::ui {

HeadlessShift::HeadlessShift(ScreenControllers& controllers, QTextStream& out, Options options)
    : c_(controllers), out_(out), opt_(options) {
  poll_.setInterval(20);
  connect(&poll_, &QTimer::timeout, this, &HeadlessShift::poll);
  connect(&c_.status, &StatusController::queued, this, [this](int, qulonglong seq) { onQueued(seq); });
  connect(&c_.status, &StatusController::failed, this, [this](int, const QString& e) { onFailed(e); });
  connect(&c_.assignment, &AssignmentController::queued, this, &HeadlessShift::onQueued);
  connect(&c_.assignment, &AssignmentController::failed, this, &HeadlessShift::onFailed);
  connect(&c_.cfs, &CfsController::queued, this, &HeadlessShift::onQueued);
  connect(&c_.cfs, &CfsController::failed, this, &HeadlessShift::onFailed);
  connect(&c_.messages, &MessageController::queued, this, &HeadlessShift::onQueued);
  connect(&c_.messages, &MessageController::failed, this, &HeadlessShift::onFailed);

  auto status = [this](v1::UnitStatus s) {
    return Step{tr("status %1").arg(c_.status.label(s)), [this, s] { c_.status.setStatus(s); }};
  };
  // A responder's order: take the call, go, arrive, clear; then a stop of
  // their own and a note to dispatch.
  steps_.push_back({tr("acknowledge assignment"), [this] {
                      if (!c_.assignment.hasAssignment()) return skip(tr("no assignment"));
                      if (c_.assignment.acknowledged())
                        return skip(tr("%1 already acknowledged").arg(c_.assignment.incidentNumber()));
                      out_ << tr(" %1").arg(c_.assignment.incidentNumber());
                      c_.assignment.acknowledge();
                    }});
  steps_.push_back(status(v1::UNIT_STATUS_EN_ROUTE));
  steps_.push_back(status(v1::UNIT_STATUS_ON_SCENE));
  steps_.push_back(status(v1::UNIT_STATUS_AVAILABLE));
  steps_.push_back({tr("self-initiated CFS TSTOP"),
                    [this] {
                      const bool fix = c_.cfs.gpsFix();
                      const double lat = fix ? c_.cfs.gpsLatitude() : opt_.fallbackLat;
                      const double lon = fix ? c_.cfs.gpsLongitude() : opt_.fallbackLon;
                      out_ << (fix ? tr(" at GPS fix") : tr(" at %1, %2 (no GPS fix)").arg(lat).arg(lon));
                      c_.cfs.create(QStringLiteral("TSTOP"), lat, lon, tr("scripted shift"),
                                    tr("headless shift check"));
                    },
                    true});
  steps_.push_back({tr("message to dispatch"), [this] {
                      c_.messages.send(tr("Shift check from %1").arg(c_.header.unitId()));
                    }});
  steps_.push_back(status(v1::UNIT_STATUS_AVAILABLE));
}

void HeadlessShift::start() {
  clock_.start();
  c_.agent.start();
  waitForAgent();
}

void HeadlessShift::waitForAgent() {
  if (c_.agent.hasSnapshot()) {
    const auto& s = c_.agent.snapshot();
    out_ << tr("mdc headless shift: unit %1 (device %2, agency %3), agent %4, link %5, socket %6")
                .arg(QString::fromStdString(s.unit_id()), QString::fromStdString(s.device_id()),
                     QString::fromStdString(s.agency()), QString::fromStdString(s.agent_version()),
                     c_.header.linkText(), c_.agent.socketPath())
         << Qt::endl;
    nextStep();
    return;
  }
  if (clock_.elapsed() > opt_.connectTimeoutMs) {
    out_ << tr("mdc headless shift: the agent is not reachable at %1 (%2); nothing was done")
                .arg(c_.agent.socketPath(), c_.agent.lastError())
         << Qt::endl;
    emit finished(2);
    return;
  }
  QTimer::singleShot(20, this, &HeadlessShift::waitForAgent);
}

void HeadlessShift::nextStep() {
  if (index_ >= steps_.size()) return summary();
  const Step& s = steps_[index_];
  stepStartMs_ = clock_.elapsed();
  seq_ = 0;
  queuedAtMs_ = deliveredAtMs_ = 0;
  active_ = true;
  out_ << QStringLiteral("[%1/%2] %3").arg(index_ + 1).arg(steps_.size()).arg(s.name);
  s.begin();
}

void HeadlessShift::skip(const QString& why) {
  active_ = false;
  ++skipped_;
  out_ << tr(": skipped (%1)").arg(why) << Qt::endl;
  ++index_;
  QTimer::singleShot(0, this, &HeadlessShift::nextStep);
}

void HeadlessShift::onQueued(qulonglong seq) {
  if (!active_ || seq_ != 0) return;
  seq_ = seq;
  queuedAtMs_ = clock_.elapsed();
  ++actions_;
  out_ << tr(": queued seq %1 (%2)").arg(seq).arg(elapsed(stepStartMs_));
  poll_.start();
  poll();
}

void HeadlessShift::onFailed(const QString& error) {
  if (!active_ || seq_ != 0) return;
  ++actions_;
  ++failed_;
  finishStep(tr(": NOT QUEUED: %1").arg(error), false);
}

void HeadlessShift::poll() {
  if (!active_ || seq_ == 0) return;
  const Step& s = steps_[index_];
  const ActionsModel::Entry* e = c_.actions.find(seq_);
  const qint64 now = clock_.elapsed();
  if (e && e->delivery == QLatin1String("delivered")) {
    if (deliveredAtMs_ == 0) deliveredAtMs_ = now;
    if (s.wantsIncident && e->detail.isEmpty() && now - deliveredAtMs_ < opt_.incidentTimeoutMs) return;
    ++delivered_;
    QString outcome = tr(" → delivered (%1)").arg(elapsed(stepStartMs_));
    if (s.wantsIncident)
      outcome += e->detail.isEmpty() ? tr(", no incident number yet") : tr(", incident %1").arg(e->detail);
    return finishStep(outcome, true);
  }
  if (e && e->delivery == QLatin1String("rejected")) {
    ++rejected_;
    return finishStep(tr(" → REJECTED: %1").arg(e->detail), false);
  }
  if (now - queuedAtMs_ > opt_.stepTimeoutMs) {
    ++queuedOnly_;
    return finishStep(tr(" → still queued after %1 (outbox %2; kept by the agent, will be sent)")
                          .arg(elapsed(queuedAtMs_))
                          .arg(c_.header.unsentActions()),
                      false);
  }
}

void HeadlessShift::finishStep(const QString& outcome, bool) {
  poll_.stop();
  active_ = false;
  out_ << outcome << Qt::endl;
  ++index_;
  QTimer::singleShot(0, this, &HeadlessShift::nextStep);
}

void HeadlessShift::summary() {
  const bool ok = actions_ > 0 && delivered_ == actions_;
  out_ << tr("shift %1: %2 actions, %3 delivered, %4 still queued, %5 rejected, %6 not queued, %7 skipped, in %8")
              .arg(ok ? tr("OK") : tr("INCOMPLETE"))
              .arg(actions_)
              .arg(delivered_)
              .arg(queuedOnly_)
              .arg(rejected_)
              .arg(failed_)
              .arg(skipped_)
              .arg(elapsed(0))
       << Qt::endl;
  emit finished(ok ? 0 : 1);
}

QString HeadlessShift::elapsed(qint64 fromMs) const {
  const qint64 ms = clock_.elapsed() - fromMs;
  return ms < 1000 ? tr("+%1 ms").arg(ms) : tr("+%1 s").arg(double(ms) / 1000.0, 0, 'f', 2);
}

}  // namespace mdc::ui
