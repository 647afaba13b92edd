// Enrolment in the log: a token created by a dispatcher or technician
// (registry.enroll_token, carrying only the token's hash), each certificate
// the enrolment server issued (registry.enrolled) and each request it
// refused (registry.enroll_refused). They are projected into enrol_tokens,
// which the server consults: a token is used once, expires, and locks after
// kEnrolMaxFailures wrong tokens for its device.
#include <QJsonObject>


#include "server-stub/store/event_row.h"
#include "server-stub/store/event_store.h"
#include "shared/wire/uuid.h"

namespace cad {

namespace sql = mdc::sql;





Status EventStore::recordEnrolment(const EnrolmentRecord& r, int64_t nowMs) {
  static mdc::UuidV7Generator ids;
  if (r.kind != "enrolled" && r.kind != "enroll_refused")
    return Error::make("enrolment record: kind \"" + r.kind + "\": enrolled or enroll_refused");
  try {
    return writeTransaction({}, [&]() -> Status {
      Row row;
      row.eventId = ids.next();
      // The device's unit and agency when it is registered; a request for an
      // unknown device is logged with neither. Read again once its agency
      // is locked (write_tx.cpp).
      auto st = cached("SELECT unit_id, agency FROM devices WHERE device_id=?");
      st->bind(1, r.deviceId);
      log_->lockChains({st->step() ? st->text(1) : std::string()});
      st->reset();
      st->bind(1, r.deviceId);
      if (st->step()) {
        row.unitId = st->text(0);
        row.agency = st->text(1);
      }
      QJsonObject j{{"device", QString::fromStdString(r.deviceId)},
                    {"method", QString::fromStdString(r.method)},
                    {"peer", QString::fromStdString(r.peer)}};
      if (!r.tokenHash.empty()) j["token_sha256"] = QString::fromStdString(r.tokenHash);
      if (r.kind == "enrolled") {
        j["serial"] = QString::fromStdString(r.serial);
        j["not_after_ms"] = qint64(r.notAfterMs);
      } else {
        j["reason"] = QString::fromStdString(r.reason);
      }
      row.kind = "registry." + r.kind;
      row.recordedAtMs = nowMs;
      row.clockSource = "system";
      row.receivedAtMs = nowMs;
      row.actor = "est:" + r.peer;
      row.payload = jsonText(j);
      log_->append(row);
      std::vector<Outgoing> none;
      project(row, none);
      return {};
    });
  } catch (const sql::DbError& e) {
    return Error::make(std::string("store: enrolment record not committed: ") + e.what());
  }
}

void EventStore::projectEnrolment(const Row& row) {
  const QJsonObject j = parseJson(row.payload);
  const std::string device = j.value("device").toString().toStdString();
  const std::string hash = j.value("token_sha256").toString().toStdString();
  if (row.kind == "registry.enroll_token") {
    // One open token per device: a new one ends the older ones now.
    cached("UPDATE enrol_tokens SET expires_at_ms=? WHERE device_id=? AND used_at_ms=0 AND expires_at_ms>?")
        ->bind(1, row.receivedAtMs).bind(2, device).bind(3, row.receivedAtMs).run();
    cached("INSERT INTO enrol_tokens(token_sha256, device_id, unit_id, agency, pos, created_at_ms, expires_at_ms, "
           "created_by) VALUES(?,?,?,?,?,?,?,?)")
        ->bind(1, hash).bind(2, device).bind(3, row.unitId).bind(4, row.agency).bind(5, row.pos)
        .bind(6, row.receivedAtMs).bind(7, int64_t(j.value("expires_at_ms").toInteger()))
        .bind(8, row.actor.substr(row.actor.find(':') + 1)).run();
  } else if (row.kind == "registry.enrolled") {
    if (!hash.empty())
      cached("UPDATE enrol_tokens SET used_at_ms=?, used_serial=? WHERE token_sha256=?")
          ->bind(1, row.receivedAtMs).bind(2, j.value("serial").toString().toStdString()).bind(3, hash).run();
  } else if (row.kind == "registry.enroll_refused") {
    // A token that is none of the device's (a guess) counts against its
    // open one; a used or expired token of its own does not.
    std::vector<std::string> opens;
    {
      auto open = cached("SELECT token_sha256 FROM enrol_tokens WHERE device_id=? AND used_at_ms=0 AND expires_at_ms>?");
      open->bind(1, device).bind(2, row.receivedAtMs);
      while (open->step()) opens.push_back(open->text(0));
    }
    bool own = false;
    if (!hash.empty()) {
      auto t = cached("SELECT 1 FROM enrol_tokens WHERE token_sha256=? AND device_id=?");
      t->bind(1, hash).bind(2, device);
      own = t->step();
    }
    const bool wrongToken = j.value("method").toString() == "token" && !own;
    if (wrongToken)
      for (const auto& h : opens)
        cached("UPDATE enrol_tokens SET failures=failures+1 WHERE token_sha256=?")->bind(1, h).run();
  }
}

}  // namespace cad
