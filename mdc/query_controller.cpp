#include "mdc/query_controller.h"

#include "shared/wire/codec.h"

namespace mdc::ui {

namespace {

QString stateName(v1::RecordsQueryState s) {
  switch (s) {
    case v1::RECORDS_QUERY_STATE_WAITING: return QStringLiteral("waiting");
    case v1::RECORDS_QUERY_STATE_SLOW: return QStringLiteral("slow");
    case v1::RECORDS_QUERY_STATE_ANSWERED: return QStringLiteral("answered");
    case v1::RECORDS_QUERY_STATE_FAILED: return QStringLiteral("failed");
    default: return QString();
  }
}

QString flagKind(int kind) { return QString::fromLatin1(codec::recordsFlagName(kind)); }

QString flagsText(const google::protobuf::RepeatedPtrField<v1::RecordsFlag>& flags) {
  return QString::fromStdString(codec::recordsFlagsText(flags));
}

}  // namespace

QueryController::QueryController(AgentConnection& agent, QObject* parent) : QObject(parent), agent_(agent) {
  connect(&agent_, &AgentConnection::snapshotChanged, this, &QueryController::refresh);
  refresh();
}

QStringList QueryController::reasonCodes() const {
  QStringList l;
  for (const auto& r : codec::recordsReasons()) l << QString::fromStdString(r);
  return l;
}

QStringList QueryController::reasonLabels() const {
  QStringList l;
  for (const auto& r : codec::recordsReasons()) {
    QString label = QString::fromStdString(r).replace(QLatin1Char('_'), QLatin1Char(' ')).toLower();
    label[0] = label[0].toUpper();
    l << label;
  }
  return l;
}

bool QueryController::runPlate(const QString& plate, const QString& state, const QString& reason) {
  v1::RecordsQuery q;
  q.mutable_plate()->set_plate(codec::normalizePlate(plate.toStdString()));
  q.mutable_plate()->set_state(codec::normalizePlate(state.toStdString()));
  return run(std::move(q), reason);
}

bool QueryController::runPerson(const QString& name, const QString& dob, const QString& reason) {
  v1::RecordsQuery q;
  q.mutable_person()->set_name(codec::normalizeName(name.toStdString()));
  q.mutable_person()->set_dob(dob.trimmed().toStdString());
  return run(std::move(q), reason);
}

bool QueryController::run(v1::RecordsQuery q, const QString& reason) {
  if (reason == QLatin1String("CFS")) q.set_incident_number(incident_.toStdString());
  else q.set_reason_code(reason.toStdString());
  QString error;
  if (reason == QLatin1String("CFS") && incident_.isEmpty()) error = tr("No current call: choose a reason");
  else if (Status s = codec::validateRecordsQuery(q, "query"); !s) error = QString::fromStdString(s.error().message);
  else if (!online_) error = tr("No link to dispatch: queries are never queued. Run it again when the link is back.");
  if (!error.isEmpty()) {
    lastError_ = error;
    emit changed();
    return false;
  }
  v1::ApiRequest r;
  *r.mutable_records_query() = std::move(q);
  sending_ = true;
  lastError_.clear();
  emit changed();
  agent_.request(this, std::move(r),
                 {.settle = [this](const v1::ApiReply&) { sending_ = false; },
                  .error = &lastError_,
                  .changed = [this] { emit changed(); }});
  return true;
}

void QueryController::acknowledgeHit(const QString& queryId) {
  acknowledgedHits_.insert(queryId);
  refresh();
}

void QueryController::dismissSafetyAlert(qulonglong seq) {
  dismissedAlerts_.insert(seq);
  refresh();
}

void QueryController::refresh() {
  if (!agent_.hasSnapshot()) return;
  const auto& s = agent_.snapshot();
  // The lists are replaced only when what they show changed: a new list
  // rebuilds every card on screen (and loses the scroll position).
  const bool online = s.link() == v1::LINK_STATE_ONLINE;
  QString incident;
  if (s.has_call()) incident = QString::fromStdString(s.call().incident_number());
  else
    for (const auto& a : s.assignments())
      if (!a.cleared()) {
        incident = QString::fromStdString(a.assignment().incident_number());
        break;
      }
  QVariantList queries, safetyAlerts;
  QVariantMap hitAlert;
  for (const auto& q : s.records()) {
    QVariantList entries;
    google::protobuf::RepeatedPtrField<v1::RecordsFlag> all;
    for (const auto& e : q.answer().entries()) {
      QVariantList flags;
      for (const auto& f : e.flags()) {
        flags << QVariantMap{{QStringLiteral("kind"), flagKind(f.kind())},
                             {QStringLiteral("detail"), QString::fromStdString(f.detail())}};
        *all.Add() = f;
      }
      entries << QVariantMap{{QStringLiteral("kind"), QString::fromStdString(e.kind())},
                             {QStringLiteral("summary"), QString::fromStdString(e.summary())},
                             {QStringLiteral("flags"), flags}};
    }
    const QString id = QString::fromStdString(q.query_id());
    const bool hit = q.state() == v1::RECORDS_QUERY_STATE_ANSWERED && q.answer().hit();
    QVariantMap m{{QStringLiteral("id"), id},
                  {QStringLiteral("subject"), QString::fromStdString(q.subject())},
                  {QStringLiteral("reason"), q.incident_number().empty()
                                                 ? QString::fromStdString(q.reason_code()).replace(QLatin1Char('_'), QLatin1Char(' '))
                                                 : tr("CFS %1").arg(QString::fromStdString(q.incident_number()))},
                  {QStringLiteral("state"), stateName(q.state())},
                  {QStringLiteral("detail"), QString::fromStdString(q.detail())},
                  {QStringLiteral("hit"), hit},
                  {QStringLiteral("flags"), flagsText(all)},
                  {QStringLiteral("entries"), entries},
                  // When it leaves the screen (the agent's clock, on this machine): 0 while it waits.
                  {QStringLiteral("expiresAtMs"), qlonglong(q.expires_at_ms())}};
    queries << m;
    if (hit && hitAlert.isEmpty() && !acknowledgedHits_.contains(id)) hitAlert = m;
  }
  for (const auto& a : s.safety_alerts()) {
    if (dismissedAlerts_.contains(a.downlink_seq())) continue;
    QStringList details;
    for (const auto& f : a.alert().flags()) details << QString::fromStdString(f.detail());
    safetyAlerts << QVariantMap{{QStringLiteral("seq"), qulonglong(a.downlink_seq())},
                                 {QStringLiteral("unit"), QString::fromStdString(a.alert().unit_id())},
                                 {QStringLiteral("incident"), QString::fromStdString(a.alert().incident_number())},
                                 {QStringLiteral("subject"), QString::fromStdString(a.alert().subject())},
                                 {QStringLiteral("flags"), flagsText(a.alert().flags())},
                                 {QStringLiteral("details"), details.join(QStringLiteral("; "))}};
  }
  if (online == online_ && incident == incident_ && queries == queries_ && hitAlert == hitAlert_ &&
      safetyAlerts == safetyAlerts_)
    return;
  online_ = online;
  incident_ = incident;
  queries_ = queries;
  hitAlert_ = hitAlert;
  safetyAlerts_ = safetyAlerts;
  emit changed();
}

}  // namespace mdc::ui
