#include "mdc/status_controller.h"

#include "mdc/labels.h"

namespace mdc::ui {

StatusOptionsModel::StatusOptionsModel(QObject* parent) : RowListModel(parent) {}

void StatusOptionsModel::setStatuses(const QList<int>& statuses) {
  const int before = count();
  resetRows(statuses.mid(0, 10));
  if (count() != before) emit countChanged();
}

QVariant StatusOptionsModel::rowData(const int& s, int index, int role) const {
  switch (role) {
    case StatusRole: return s;
    case Qt::DisplayRole:
    case LabelRole: return statusLabel(v1::UnitStatus(s));
    case FunctionKeyRole: return QStringLiteral("F%1").arg(index + 1);
    default: return {};
  }
}

QHash<int, QByteArray> StatusOptionsModel::roleNames() const {
  return {{StatusRole, "status"}, {LabelRole, "label"}, {FunctionKeyRole, "functionKey"}};
}

StatusController::StatusController(AgentConnection& agent, QObject* parent) : QObject(parent), agent_(agent) {
  options_.setStatuses(defaultStatuses());
  connect(&agent_, &AgentConnection::snapshotChanged, this, &StatusController::refresh);
  refresh();
}

QString StatusController::currentLabel() const { return statusLabel(v1::UnitStatus(current_)); }

QString StatusController::label(int status) const { return statusLabel(v1::UnitStatus(status)); }

void StatusController::refresh() {
  int cur = 0;
  QString del;
  if (agent_.hasSnapshot()) {
    cur = int(agent_.snapshot().status());
    del = deliveryKey(agent_.snapshot().status_delivery());
    // The agency's buttons when the backend configured them, else the common set.
    QList<int> statuses;
    for (int s : agent_.snapshot().statuses()) statuses.append(s);
    if (statuses.isEmpty()) statuses = defaultStatuses();
    if (statuses != options_.statuses()) options_.setStatuses(statuses);
  }
  if (cur == current_ && del == delivery_) return;
  current_ = cur;
  delivery_ = del;
  emit changed();
}

void StatusController::setStatus(int status) {
  if (!v1::UnitStatus_IsValid(status) || status == v1::UNIT_STATUS_UNSPECIFIED) {
    lastError_ = tr("status %1: not a status").arg(status);
    emit changed();
    return;
  }
  requested_ = status;
  lastError_.clear();
  emit changed();
  v1::ApiRequest r;
  r.mutable_set_status()->set_status(v1::UnitStatus(status));
  agent_.request(
      this, std::move(r),
      {.settle =
           [this, status](const v1::ApiReply& reply) {
             if (requested_ == status) requested_ = 0;
             if (reply.ok()) lastError_.clear();
           },
       .error = &lastError_,
       .describeFailure =
           [status](const QString& e) { return tr("%1 not sent: %2").arg(statusLabel(v1::UnitStatus(status)), e); },
       .changed = [this] { emit changed(); },
       .queued = [this, status](const v1::ApiReply& reply) { emit queued(status, qulonglong(reply.queued().seq())); },
       .failed = [this, status](const QString& e) { emit failed(status, e); }});
}

bool StatusController::pressFunctionKey(int n) {
  const auto& list = options_.statuses();
  if (n < 1 || n > list.size()) return false;
  setStatus(list[n - 1]);
  return true;
}

}  // namespace mdc::ui
