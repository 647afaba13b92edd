#include "mdc/activity_models.h"

#include <algorithm>

#include "mdc/labels.h"

namespace mdc::ui {


ActionsModel::ActionsModel(AgentConnection& agent, QObject* parent) : RowListModel(parent), agent_(agent) {
  connect(&agent_, &AgentConnection::snapshotChanged, this, &ActionsModel::refresh);
  refresh();
}

void ActionsModel::refresh() {
  if (!agent_.hasSnapshot()) return;
  QList<Entry> next;
  for (const auto& a : agent_.snapshot().recent_actions())
    next.append({qulonglong(a.seq()), QString::fromStdString(a.kind()), QString::fromStdString(a.summary()),
                 deliveryKey(a.delivery()), QString::fromStdString(a.detail()), a.queued_at_ms()});
  const int before = count();
  if (!setRows(std::move(next))) return;
  if (count() != before) emit countChanged();
}

const ActionsModel::Entry* ActionsModel::find(qulonglong seq) const {
  for (const auto& e : rows())
    if (e.seq == seq) return &e;
  return nullptr;
}

QVariant ActionsModel::rowData(const Entry& e, int, int role) const {
  switch (role) {
    case SeqRole: return e.seq;
    case KindRole: return e.kind;
    case Qt::DisplayRole:
    case SummaryRole: {
      if (e.kind == QLatin1String("status")) {
        const auto s = v1::UnitStatus_descriptor()->FindValueByName("UNIT_STATUS_" + e.summary.toStdString());
        if (s) return statusLabel(v1::UnitStatus(s->number()));
      }
      return e.summary;
    }
    case DeliveryRole: return e.delivery;
    case DetailRole: return e.detail;
    case TimeRole: return clockText(e.atMs);
    default: return {};
  }
}

QHash<int, QByteArray> ActionsModel::roleNames() const {
  return {{SeqRole, "seq"},           {KindRole, "kind"},     {SummaryRole, "summary"},
          {DeliveryRole, "delivery"}, {DetailRole, "detail"}, {TimeRole, "time"}};
}

MessagesModel::MessagesModel(AgentConnection& agent, QObject* parent) : RowListModel(parent), agent_(agent) {
  connect(&agent_, &AgentConnection::snapshotChanged, this, &MessagesModel::refresh);
  refresh();
}

void MessagesModel::refresh() {
  if (!agent_.hasSnapshot()) return;
  const auto& s = agent_.snapshot();
  const int before = count();
  const bool hadOlder = hasOlder();
  if (s.unit_id() != unit_) {  // another unit's conversation (the device was moved)
    resetRows({});
    unit_ = s.unit_id();
    reachedStart_ = false;
  }
  total_ = int(s.messages_total());
  for (const auto& m : s.messages()) merge(m);
  // Sent messages older than the state's window still change delivery: the
  // recent actions say where each stands.
  for (const auto& a : s.recent_actions()) {
    if (a.kind() != "message") continue;
    for (int row = 0; row < rows().size(); ++row) {
      const Entry& e = rows()[row];
      if (!e.outgoing || e.eventSeq != a.seq()) continue;
      Entry next = e;
      next.delivery = deliveryKey(a.delivery());
      next.detail = QString::fromStdString(a.detail());
      replaceAt(row, std::move(next));
      break;
    }
  }
  if (count() != before || hasOlder() != hadOlder) emit countChanged();
}

void MessagesModel::merge(const v1::ReceivedMessage& m) {
  const auto key = codec::MessageCursor::parse(m.cursor());
  if (!key) return;
  Entry e{*key,
          m.outgoing(),
          m.outgoing() ? tr("This unit") : QString::fromStdString(m.from()),
          QString::fromStdString(m.text()),
          m.outgoing() ? deliveryKey(m.delivery()) : QString(),
          QString::fromStdString(m.detail()),
          m.at_ms(),
          qulonglong(m.event_seq())};
  auto it = std::lower_bound(rows().begin(), rows().end(), *key,
                             [](const Entry& a, const codec::MessageCursor& k) { return a.key > k; });
  const int row = int(it - rows().begin());
  if (it != rows().end() && it->key == *key) {
    replaceAt(row, std::move(e));  // a no-op when nothing changed
    return;
  }
  insertAt(row, std::move(e));
}

void MessagesModel::loadOlder() {
  if (loading_ || !hasOlder()) return;
  v1::ApiRequest r;
  r.mutable_list_messages()->set_limit(kPageSize);
  if (!rows().isEmpty()) r.mutable_list_messages()->set_before(rows().back().key.text());
  loading_ = true;
  olderError_.clear();
  emit loadingChanged();
  agent_.request(this, std::move(r),
                 {.settle =
                      [this, unit = unit_](const v1::ApiReply& reply) {
                        loading_ = false;
                        if (!reply.ok() || unit != unit_) return;
                        const int before = count();
                        for (const auto& m : reply.messages_page().messages()) merge(m);
                        if (!reply.messages_page().more()) reachedStart_ = true;
                        if (count() != before || reachedStart_) emit countChanged();
                      },
                  .error = &olderError_,
                  .describeFailure = [](const QString& e) { return tr("Earlier messages not loaded: %1").arg(e); },
                  .changed = [this] { emit loadingChanged(); }});
}

QVariant MessagesModel::rowData(const Entry& e, int, int role) const {
  switch (role) {
    case OutgoingRole: return e.outgoing;
    case FromRole: return e.from;
    case Qt::DisplayRole:
    case TextRole: return e.text;
    case TimeRole: return clockText(e.atMs);
    case DeliveryRole: return e.delivery;
    case DetailRole: return e.detail;
    default: return {};
  }
}

QHash<int, QByteArray> MessagesModel::roleNames() const {
  return {{OutgoingRole, "outgoing"}, {FromRole, "from"},         {TextRole, "text"},
          {TimeRole, "time"},         {DeliveryRole, "delivery"}, {DetailRole, "detail"}};
}

MessageController::MessageController(AgentConnection& agent, QObject* parent)
    : QObject(parent), agent_(agent), messages_(agent) {}

QStringList MessageController::quickReplies() const {
  return {tr("Copy"), tr("En route"), tr("Call me"), tr("Need backup"), tr("Delayed 10 min")};
}

bool MessageController::send(const QString& text) {
  const QString t = text.trimmed();
  if (t.isEmpty() || t.size() > 2000) {
    lastError_ = t.isEmpty() ? tr("Type a message first") : tr("Message: at most 2000 characters (%1)").arg(t.size());
    emit changed();
    emit failed(lastError_);
    return false;
  }
  sending_ = true;
  lastError_.clear();
  emit changed();
  v1::ApiRequest r;
  r.mutable_send_message()->set_text(t.toStdString());
  agent_.request(this, std::move(r),
                 {.settle = [this](const v1::ApiReply&) { sending_ = false; },
                  .error = &lastError_,
                  .describeFailure = [](const QString& e) { return tr("Message not sent: %1").arg(e); },
                  .changed = [this] { emit changed(); },
                  .queued = [this](const v1::ApiReply& reply) { emit queued(qulonglong(reply.queued().seq())); },
                  .failed = [this](const QString& e) { emit failed(e); }});
  return true;
}

}  // namespace mdc::ui
