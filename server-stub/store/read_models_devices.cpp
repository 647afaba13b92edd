// The devices' side of the read models: which device serves which unit, the
// downlink queue and what each device holds of it, and enrolment tokens.
#include "server-stub/store/read_models.h"

namespace cad {

namespace sql = mdc::sql;

std::optional<std::string> ReadModels::deviceOfUnit(const std::string& unitId) {
  auto st = store_.log().cached("SELECT device_id FROM units WHERE unit_id=?");
  st->bind(1, unitId);
  if (!st->step()) return std::nullopt;
  return st->text(0);
}

std::optional<std::string> ReadModels::unitOfDevice(const std::string& deviceId) {
  auto st = store_.log().cached("SELECT unit_id FROM devices WHERE device_id=?");
  st->bind(1, deviceId);
  if (!st->step()) return std::nullopt;
  return st->text(0);
}

std::vector<mdc::v1::Downlink> ReadModels::downlinksAfter(const std::string& unitId, uint64_t afterSeq, int limit) {
  std::vector<mdc::v1::Downlink> out;
  auto st = store_.log().cached("SELECT payload FROM downlinks WHERE unit_id=? AND seq>? ORDER BY seq LIMIT ?");
  st->bind(1, unitId).bind(2, afterSeq).bind(3, limit);
  while (st->step()) {
    mdc::v1::Downlink dl;
    if (dl.ParseFromString(st->blob(0))) out.push_back(std::move(dl));
  }
  return out;
}

uint64_t ReadModels::downlinkHead(const std::string& unitId) {
  auto st = store_.log().cached("SELECT COALESCE(MAX(seq), 0) FROM downlinks WHERE unit_id=?");
  st->bind(1, unitId);
  st->step();
  return uint64_t(st->i64(0));
}

std::vector<DownlinkLag> ReadModels::laggingDevices() {
  std::vector<DownlinkLag> out;
  auto st = store_.log().cached(
      "SELECT c.device_id, c.unit_id, c.after_seq, h.head FROM downlink_cursors c "
      "JOIN units u ON u.unit_id=c.unit_id AND u.device_id=c.device_id AND u.online=1 "
      "JOIN (SELECT unit_id, MAX(seq) AS head FROM downlinks GROUP BY unit_id) h ON h.unit_id=c.unit_id "
      "WHERE h.head > c.after_seq ORDER BY c.device_id");
  while (st->step())
    out.push_back(DownlinkLag{st->text(0), st->text(1), uint64_t(st->i64(2)), uint64_t(st->i64(3))});
  return out;
}

std::optional<int64_t> ReadModels::oldestUnconfirmedDownlinkMs() {
  // Per device, the first downlink above the cursor it last reported is its
  // oldest unconfirmed one; its event says when it was made.
  auto st = store_.log().cached(
      "SELECT MIN(e.received_at_ms) FROM devices dv "
      "JOIN units u ON u.unit_id=dv.unit_id AND u.device_id=dv.device_id "
      "LEFT JOIN downlink_cursors c ON c.device_id=dv.device_id AND c.unit_id=dv.unit_id "
      "JOIN downlinks d ON d.unit_id=dv.unit_id AND d.seq=COALESCE(c.after_seq, 0)+1 "
      "JOIN events e ON e.pos=d.event_pos");
  if (!st->step() || st->isNull(0)) return std::nullopt;
  return st->i64(0);
}

namespace {
constexpr const char* kTokenColumns =
    "token_sha256, device_id, unit_id, agency, created_by, created_at_ms, expires_at_ms, used_at_ms, used_serial, "
    "failures";

EnrolToken tokenFrom(const sql::Stmt& st) {
  EnrolToken t;
  t.tokenHash = st.text(0);
  t.deviceId = st.text(1);
  t.unitId = st.text(2);
  t.agency = st.text(3);
  t.createdBy = st.text(4);
  t.createdAtMs = st.i64(5);
  t.expiresAtMs = st.i64(6);
  t.usedAtMs = st.i64(7);
  t.usedSerial = st.text(8);
  t.failures = int(st.i64(9));
  return t;
}
}  // namespace

std::optional<EnrolToken> ReadModels::enrolToken(const std::string& tokenHash) {
  auto st = store_.db().prepare(std::string("SELECT ") + kTokenColumns + " FROM enrol_tokens WHERE token_sha256=?");
  st.bind(1, tokenHash);
  if (!st.step()) return std::nullopt;
  return tokenFrom(st);
}

std::optional<EnrolToken> ReadModels::openEnrolToken(const std::string& deviceId, int64_t nowMs) {
  auto st = store_.db().prepare(std::string("SELECT ") + kTokenColumns +
                         " FROM enrol_tokens WHERE device_id=? AND used_at_ms=0 AND expires_at_ms>? AND failures<? "
                         "ORDER BY pos DESC LIMIT 1");
  st.bind(1, deviceId).bind(2, nowMs).bind(3, int64_t(kEnrolMaxFailures));
  if (!st.step()) return std::nullopt;
  return tokenFrom(st);
}

std::vector<EnrolToken> ReadModels::enrolTokens(const std::string& agency) {
  auto st = store_.db().prepare(std::string("SELECT ") + kTokenColumns +
                         " FROM enrol_tokens WHERE ?1='' OR agency=?1 ORDER BY pos DESC");
  st.bind(1, agency);
  std::vector<EnrolToken> out;
  while (st.step()) out.push_back(tokenFrom(st));
  return out;
}

}  // namespace cad
