// Records queries in the log: the query is the device's event (records_query),
// the answer the records system's (records.answer). Both are projected into
// records_queries, the audit `cadctl audit queries` reads; a hit flags the
// unit on the board, goes on the CFS's timeline, and alerts the other units
// on the CFS (a sequenced SafetyAlert each).
#include <QJsonArray>

#include "server-stub/store/event_row.h"
#include "server-stub/store/event_store.h"
#include "shared/wire/codec.h"
#include "shared/wire/uuid.h"

namespace cad {

namespace v1 = mdc::v1;
namespace sql = mdc::sql;
namespace codec = mdc::codec;

namespace {

/** Every flag of an answer's entries, in order. */
google::protobuf::RepeatedPtrField<v1::RecordsFlag> allFlags(const v1::RecordsAnswer& a) {
  google::protobuf::RepeatedPtrField<v1::RecordsFlag> out;
  for (const auto& e : a.entries()) out.MergeFrom(e.flags());
  return out;
}

/** The flags of an answer, most serious first: "STOLEN, WANTED, CAUTION". */
std::string flagNames(const v1::RecordsAnswer& a) { return codec::recordsFlagsText(allFlags(a)); }

/** What the audit says came back: "no record", "2 records", "HIT: STOLEN, WANTED", "refused: ...". */
std::string outcomeText(const v1::RecordsAnswer& a) {
  if (!a.refused().empty()) return "refused: " + a.refused();
  if (a.entries_size() == 0) return "no record";
  const std::string flags = flagNames(a);
  std::string n = std::to_string(a.entries_size()) + (a.entries_size() == 1 ? " record" : " records");
  return flags.empty() ? n : "HIT: " + flags + " (" + n + ")";
}

QJsonObject answerJson(const v1::RecordsAnswer& a) {
  QJsonArray entries;
  for (const auto& e : a.entries()) {
    QJsonArray flags;
    for (const auto& f : e.flags())
      flags.append(QJsonObject{{"kind", codec::recordsFlagName(f.kind())}, {"detail", QString::fromStdString(f.detail())}});
    entries.append(QJsonObject{{"kind", QString::fromStdString(e.kind())},
                               {"summary", QString::fromStdString(e.summary())},
                               {"flags", flags}});
  }
  return QJsonObject{{"entries", entries}, {"hit", a.hit()}, {"refused", QString::fromStdString(a.refused())}};
}

v1::RecordsAnswer answerFromJson(const QJsonObject& j) {
  v1::RecordsAnswer a;
  for (const auto& ev : j.value("entries").toArray()) {
    QJsonObject e = ev.toObject();
    auto* entry = a.add_entries();
    entry->set_kind(e.value("kind").toString().toStdString());
    entry->set_summary(e.value("summary").toString().toStdString());
    for (const auto& fv : e.value("flags").toArray()) {
      QJsonObject f = fv.toObject();
      auto* flag = entry->add_flags();
      const auto kind = codec::recordsFlagFromName(f.value("kind").toString().toStdString());
      flag->set_kind(kind == v1::RECORDS_FLAG_UNSPECIFIED ? v1::RECORDS_FLAG_CAUTION : kind);
      flag->set_detail(f.value("detail").toString().toStdString());
    }
  }
  a.set_hit(j.value("hit").toBool());
  a.set_refused(j.value("refused").toString().toStdString());
  return a;
}

}  // namespace

void EventStore::projectRecordsQuery(const Row& row, const v1::Envelope& env) {
  const auto& q = env.records_query();
  cached("INSERT INTO records_queries(query_id, pos, at_ms, agency, unit_id, device_id, subject, incident_number, "
         "reason_code) VALUES(?,?,?,?,?,?,?,?,?)")
      ->bind(1, row.eventId).bind(2, row.pos).bind(3, row.receivedAtMs).bind(4, row.agency).bind(5, row.unitId)
      .bind(6, row.deviceId).bind(7, codec::recordsSubjectText(q)).bind(8, q.incident_number())
      .bind(9, q.reason_code()).run();
}

void EventStore::projectRecordsAnswer(const Row& row, std::vector<Outgoing>& out) {
  const QJsonObject j = parseJson(row.payload);
  const std::string queryId = j.value("query").toString().toStdString();
  const v1::RecordsAnswer answer = answerFromJson(j);
  cached("UPDATE records_queries SET answer_pos=?, answered_at_ms=?, outcome=?, hit=? WHERE query_id=?")
      ->bind(1, row.pos).bind(2, row.recordedAtMs).bind(3, outcomeText(answer)).bind(4, answer.hit() ? 1 : 0)
      .bind(5, queryId).run();
  if (!answer.hit()) return;

  // Officer safety. The CFS: the one the query named, else the unit's current one.
  std::string incident = j.value("incident").toString().toStdString();
  if (incident.empty()) {
    auto st = cached("SELECT current_cfs FROM units WHERE unit_id=?");
    st->bind(1, row.unitId);
    if (st->step()) incident = st->text(0);
  }
  const std::string subject = j.value("subject").toString().toStdString();
  v1::Downlink dl;
  dl.set_version(codec::kProtocolVersion);
  dl.set_sent_at_ms(row.recordedAtMs);
  auto* alert = dl.mutable_safety_alert();
  alert->set_incident_number(incident);
  alert->set_unit_id(row.unitId);
  alert->set_subject(codec::truncateUtf8(subject, 100));
  alert->set_at_ms(row.recordedAtMs);
  for (const auto& f : allFlags(answer))
    if (alert->flags_size() < 16) *alert->add_flags() = f;
  const std::string names = flagNames(answer);
  const std::string flag = names + ": " + subject;
  cached("UPDATE units SET safety_flag=?, safety_at_ms=?, safety_cfs=? WHERE unit_id=?")
      ->bind(1, flag).bind(2, row.recordedAtMs).bind(3, incident).bind(4, row.unitId).run();
  if (incident.empty()) return;
  std::string details;
  for (const auto& f : alert->flags()) details += (details.empty() ? "" : "; ") + f.detail();
  timeline(incident, row, row.recordedAtMs,
           codec::truncateUtf8("OFFICER SAFETY: " + row.unitId + " ran " + subject + ": " + names + " (" + details + ")", 500));
  auto us = cached("SELECT unit_id FROM cfs_units WHERE incident_number=? AND cleared_at_ms=0 ORDER BY unit_id");
  us->bind(1, incident);
  std::vector<std::string> others;
  while (us->step())
    if (us->text(0) != row.unitId) others.push_back(us->text(0));
  for (const auto& other : others) {
    v1::Downlink copy = dl;
    copy.set_unit_id(other);
    queueDownlink(other, copy, row.pos, row.recordedAtMs, out);
  }
}

Result<CommandOutcome> EventStore::answerQuery(const PendingQuery& q, const v1::RecordsAnswer& answer,
                                               const std::string& system, int64_t nowMs) {
  static mdc::UuidV7Generator ids;
  CommandOutcome out;
  try {
    const Status done = writeTransaction({{q.agency}, false}, [&]() -> Status {
      out = CommandOutcome{};
      auto st = cached("SELECT answer_pos FROM records_queries WHERE query_id=?");
      st->bind(1, q.eventId);
      if (!st->step()) return refuse("records query " + q.eventId + ": not in the log");
      if (st->i64(0) != 0) return refuse("records query " + q.eventId + ": answered already");
      QJsonObject j = answerJson(answer);
      j["query"] = QString::fromStdString(q.eventId);
      j["device"] = QString::fromStdString(q.deviceId);
      j["incident"] = QString::fromStdString(q.query.incident_number());
      j["subject"] = QString::fromStdString(codec::recordsSubjectText(q.query));
      Row row;
      row.eventId = ids.next();
      row.unitId = q.unitId;
      row.agency = q.agency;
      row.kind = "records.answer";
      row.recordedAtMs = nowMs;
      row.clockSource = "system";
      row.receivedAtMs = nowMs;
      row.actor = "records:" + system;
      row.payload = jsonText(j);
      log_->append(row);
      project(row, out.downlinks);
      return {};
    });
    if (!done) return done.error();
  } catch (const sql::DbError& e) {
    return Error::make(std::string("store: records answer not committed: ") + e.what());
  }
  v1::Downlink dl;
  dl.set_version(codec::kProtocolVersion);
  dl.set_unit_id(q.unitId);
  dl.set_seq(0);
  dl.set_sent_at_ms(nowMs);
  *dl.mutable_records_answer() = answer;
  dl.mutable_records_answer()->set_query_id(q.eventId);
  out.downlinks.insert(out.downlinks.begin(), Outgoing{q.deviceId, dl});
  out.summary = "records answer to " + q.unitId + ": " + outcomeText(answer);
  return out;
}

}  // namespace cad
