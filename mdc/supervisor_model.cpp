#include "mdc/supervisor_model.h"

#include "mdc/labels.h"

namespace mdc::ui {

SupervisorModel::SupervisorModel(AgentConnection& agent, QObject* parent) : RowListModel(parent), agent_(agent) {
  connect(&agent_, &AgentConnection::snapshotChanged, this, &SupervisorModel::refresh);
  refresh();
}

int SupervisorModel::emergencies() const {
  int n = 0;
  for (const auto& e : rows()) n += e.emergency ? 1 : 0;
  return n;
}

void SupervisorModel::refresh() {
  if (!agent_.hasSnapshot()) return;
  const auto& s = agent_.snapshot();
  QList<Entry> entries;
  int onCalls = 0;
  for (const auto& u : s.supervisor_board().units()) {
    Entry e;
    e.unit = QString::fromStdString(u.unit_id());
    e.zone = QString::fromStdString(u.zone());
    e.status = u.status() == v1::UNIT_STATUS_UNSPECIFIED ? tr("no status yet") : statusLabel(u.status());
    e.since = clockText(u.status_at_ms());
    e.incident = QString::fromStdString(u.incident_number());
    e.emergency = u.emergency();
    e.online = u.online();
    onCalls += e.incident.isEmpty() ? 0 : 1;
    entries.append(e);
  }
  const qint64 at = s.supervisor_board_at_ms();
  const qint64 age = at > 0 ? s.now_ms() - at : 0;
  const bool current = at > 0 && age < kCurrentMs;
  QString summary;
  if (at > 0)
    summary = (entries.size() == 1 ? tr("1 unit") : tr("%1 units").arg(entries.size())) + QStringLiteral(" · ") +
              tr("%1 on a call").arg(onCalls) +
              QStringLiteral(" · ") +
              (current ? tr("updated %1 ago").arg(ageText(std::max<qint64>(age, 0)))
                       : tr("NOT CURRENT: last update %1 ago").arg(ageText(age)));
  const QString scope = QString::fromStdString(s.supervisor_board().scope());
  if (!setRows(std::move(entries)) && scope == scope_ && summary == summary_ && at == atMs_ && current == current_)
    return;
  scope_ = scope;
  summary_ = summary;
  atMs_ = at;
  current_ = current;
  emit changed();
}

QVariant SupervisorModel::rowData(const Entry& e, int, int role) const {
  switch (role) {
    case UnitRole: return e.unit;
    case ZoneRole: return e.zone;
    case StatusRole: return e.status;
    case SinceRole: return e.since;
    case IncidentRole: return e.incident;
    case EmergencyRole: return e.emergency;
    case OnlineRole: return e.online;
    default: return {};
  }
}

QHash<int, QByteArray> SupervisorModel::roleNames() const {
  return {{UnitRole, "unit"},         {ZoneRole, "zone"},           {StatusRole, "status"}, {SinceRole, "since"},
          {IncidentRole, "incident"}, {EmergencyRole, "emergency"}, {OnlineRole, "online"}};
}

}  // namespace mdc::ui
