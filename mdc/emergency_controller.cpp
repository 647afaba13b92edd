#include "mdc/emergency_controller.h"

#include "mdc/labels.h"

namespace mdc::ui {

EmergencyController::EmergencyController(AgentConnection& agent, QObject* parent) : QObject(parent), agent_(agent) {
  connect(&agent_, &AgentConnection::snapshotChanged, this, &EmergencyController::refresh);
  refresh();
}

void EmergencyController::activate() { request(true); }
void EmergencyController::clear() { request(false); }

void EmergencyController::request(bool active) {
  sending_ = true;
  lastError_.clear();
  emit changed();
  v1::ApiRequest r;
  r.mutable_set_emergency()->set_active(active);
  r.mutable_set_emergency()->set_source(v1::EMERGENCY_SOURCE_SCREEN);
  agent_.request(this, std::move(r),
                 {.settle = [this](const v1::ApiReply&) { sending_ = false; },
                  .error = &lastError_,
                  .describeFailure = [](const QString& e) { return tr("Emergency not sent: %1").arg(e); },
                  .changed = [this] { emit changed(); }});
}

void EmergencyController::refresh() {
  bool active = false;
  QString delivery, by;
  if (agent_.hasSnapshot()) {
    const auto& s = agent_.snapshot();
    active = s.emergency_active();
    delivery = deliveryKey(s.emergency_delivery());
    by = QString::fromStdString(s.emergency_acknowledged_by());
  }
  if (active == active_ && delivery == delivery_ && by == ackBy_) return;
  active_ = active;
  delivery_ = delivery;
  ackBy_ = by;
  emit changed();
}

}  // namespace mdc::ui
