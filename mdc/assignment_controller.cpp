#include "mdc/assignment_controller.h"

#include "mdc/labels.h"

namespace mdc::ui {

QVariant TimelineModel::rowData(const Entry& e, int, int role) const {
  switch (role) {
    case TimeRole: return clockText(e.atMs);
    case Qt::DisplayRole:
    case TextRole: return e.text;
    default: return {};
  }
}

QHash<int, QByteArray> TimelineModel::roleNames() const { return {{TimeRole, "time"}, {TextRole, "text"}}; }

AssignmentController::AssignmentController(AgentConnection& agent, QObject* parent) : QObject(parent), agent_(agent) {
  connect(&agent_, &AgentConnection::snapshotChanged, this, &AssignmentController::refresh);
  refresh();
}

void AssignmentController::setSoundEnabled(bool on) {
  if (on == sound_) return;
  sound_ = on;
  emit soundEnabledChanged();
}

void AssignmentController::refresh() {
  if (!agent_.hasSnapshot()) return;  // keep showing the last one while the agent restarts
  const auto& s = agent_.snapshot();
  QString incident, type, address, location, notes, assignedAt, ackDelivery;
  int priority = 0;
  QStringList units;
  QList<TimelineModel::Entry> timeline;
  bool acknowledged = false;
  QString lastCleared;
  // The agent lists assignments newest first: the first is the current one,
  // unless the unit is already off it (closed, reassigned, cleared).
  if (s.assignments_size() > 0 && s.assignments(0).cleared()) {
    const auto& a = s.assignments(0).assignment();
    lastCleared = tr("%1 %2: %3")
                      .arg(QString::fromStdString(a.incident_number()), QString::fromStdString(a.cfs_type()),
                           QString::fromStdString(s.assignments(0).cleared_reason()));
  } else if (s.assignments_size() > 0) {
    const auto& ra = s.assignments(0);
    const auto& a = ra.assignment();
    incident = QString::fromStdString(a.incident_number());
    type = QString::fromStdString(a.cfs_type());
    priority = int(a.priority());
    address = QString::fromStdString(a.address());
    if (a.has_location())
      location = QStringLiteral("%1, %2").arg(a.location().lat(), 0, 'f', 5).arg(a.location().lon(), 0, 'f', 5);
    notes = QString::fromStdString(a.notes());
    for (const auto& u : a.units()) units << QString::fromStdString(u);
    for (const auto& t : a.timeline()) timeline.append({t.at_ms(), QString::fromStdString(t.text())});
    assignedAt = clockText(a.assigned_at_ms() > 0 ? a.assigned_at_ms() : ra.received_at_ms());
    acknowledged = ra.acknowledged();
    for (const auto& act : s.recent_actions())  // newest first
      if (act.kind() == "ack" && act.summary() == a.incident_number()) {
        ackDelivery = deliveryKey(act.delivery());
        break;
      }
  }
  timeline_.setEntries(std::move(timeline));
  bool fresh = !incident.isEmpty() && incident != seenIncident_;
  bool alerting = !incident.isEmpty() && !acknowledged && (fresh || alerting_);
  if (incident == incident_ && type == type_ && priority == priority_ && address == address_ && location == location_ &&
      notes == notes_ && units == units_ && assignedAt == assignedAt_ && acknowledged == acknowledged_ &&
      ackDelivery == ackDelivery_ && alerting == alerting_ && lastCleared == lastCleared_)
    return;
  lastCleared_ = lastCleared;
  incident_ = incident;
  type_ = type;
  priority_ = priority;
  address_ = address;
  location_ = location;
  notes_ = notes;
  units_ = units;
  assignedAt_ = assignedAt;
  acknowledged_ = acknowledged;
  ackDelivery_ = ackDelivery;
  alerting_ = alerting;
  emit changed();
  if (fresh) {
    seenIncident_ = incident;
    if (!acknowledged) {
      emit newAssignment(incident);
      if (sound_) emit alertSound();
    }
  }
}

void AssignmentController::dismissAlert() {
  if (!alerting_) return;
  alerting_ = false;
  emit changed();
}

void AssignmentController::acknowledge() {
  if (incident_.isEmpty()) return;
  sending_ = true;
  lastError_.clear();
  alerting_ = false;
  emit changed();
  v1::ApiRequest r;
  r.mutable_ack_assignment()->set_incident_number(incident_.toStdString());
  agent_.request(this, std::move(r),
                 {.settle = [this](const v1::ApiReply&) { sending_ = false; },
                  .error = &lastError_,
                  .describeFailure = [](const QString& e) { return tr("Acknowledgement not sent: %1").arg(e); },
                  .changed = [this] { emit changed(); },
                  .queued = [this](const v1::ApiReply& reply) { emit queued(qulonglong(reply.queued().seq())); },
                  .failed = [this](const QString& e) { emit failed(e); }});
}

}  // namespace mdc::ui
