#include "shared/wire/codec.h"

#include "shared/wire/codec_check.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "shared/wire/avl_batch.h"
#include "shared/wire/topics.h"
#include "shared/wire/uuid.h"

namespace mdc::codec {

namespace detail {

// Offset of the first byte that does not start well-formed UTF-8 (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or npos. Parsing has
// already refused such bytes; this stops the encoder from sending them.
size_t invalidUtf8At(std::string_view s) {
  static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t more;
    uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xe0) == 0xc0) { more = 1; cp = c & 0x1fu; }
    else if ((c & 0xf0) == 0xe0) { more = 2; cp = c & 0x0fu; }
    else if ((c & 0xf8) == 0xf0) { more = 3; cp = c & 0x07u; }
    else return i;
    if (s.size() - i <= more) return i;
    for (size_t k = 1; k <= more; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    if (cp < kMinForLength[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += more + 1;
  }
  return std::string_view::npos;
}

}  // namespace detail

using namespace detail;

namespace {

using v1::Envelope;
using v1::Downlink;

bool isDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  int y = std::stoi(std::string(s.substr(0, 4))), m = std::stoi(std::string(s.substr(5, 2))),
      d = std::stoi(std::string(s.substr(8, 2)));
  if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

}  // namespace

Status validateRecordsQuery(const v1::RecordsQuery& q, std::string_view prefix) {
  Check c{std::string(prefix)};
  switch (q.subject_case()) {
    case v1::RecordsQuery::kPlate: {
      const auto& p = q.plate();
      if (p.plate().empty()) return fail(Reason::MissingField, c.at("plate.plate") + ": required, is empty");
      if (p.plate().size() > 10 || !std::all_of(p.plate().begin(), p.plate().end(), [](unsigned char ch) {
            return std::isdigit(ch) || (ch >= 'A' && ch <= 'Z');
          }))
        return fail(Reason::BadFormat, c.at("plate.plate") + ": " + quoted(p.plate()) +
                                           " must be 1-10 characters of A-Z 0-9");
      if (p.state().size() != 2 || !std::isupper(static_cast<unsigned char>(p.state()[0])) ||
          !std::isupper(static_cast<unsigned char>(p.state()[1])))
        return fail(p.state().empty() ? Reason::MissingField : Reason::BadFormat,
                    c.at("plate.state") + ": " + quoted(p.state()) + " must be a 2-letter state code, e.g. NY");
      break;
    }
    case v1::RecordsQuery::kPerson: {
      const auto& p = q.person();
      Check pc{c.at("person")};
      MDC_TRY(pc.text("name", p.name(), 3, 64));
      if (std::count(p.name().begin(), p.name().end(), ',') != 1 || p.name().front() == ',' ||
          p.name().back() == ',' || !std::none_of(p.name().begin(), p.name().end(), [](unsigned char ch) {
            return std::islower(ch) || ch < 0x20;
          }))
        return fail(Reason::BadFormat, pc.at("name") + ": " + quoted(p.name()) +
                                           " must be LAST, FIRST [MIDDLE] in upper case");
      if (!isDate(p.dob()))
        return fail(p.dob().empty() ? Reason::MissingField : Reason::BadFormat,
                    pc.at("dob") + ": " + quoted(p.dob()) + " must be a date of birth YYYY-MM-DD (1900-2099)");
      break;
    }
    case v1::RecordsQuery::SUBJECT_NOT_SET:
      return fail(Reason::MissingField, c.at("subject") + ": required, neither plate nor person is set");
  }
  MDC_TRY(c.text("incident_number", q.incident_number(), 0, 32));
  if (q.incident_number().empty() == q.reason_code().empty())
    return fail(Reason::MissingField, c.at("reason_code") + ": give exactly one reason: the CFS the query belongs "
                                                             "to (incident_number) or a reason code (" +
                                          recordsReasonsForHumans() + ")");
  if (!q.reason_code().empty() && !isRecordsReason(q.reason_code()))
    return fail(Reason::OutOfRange, c.at("reason_code") + ": " + quoted(q.reason_code()) + " is not a reason code (" +
                                        recordsReasonsForHumans() + ")");
  return {};
}

namespace {

Status validateBody(const Envelope& e) {
  Check c{"envelope"};
  switch (e.body_case()) {
    case Envelope::kStatus: {
      Check s{"envelope.status"};
      MDC_TRY(s.enumValue("status", e.status().status(), v1::UnitStatus_IsValid));
      MDC_TRY(s.text("incident_number", e.status().incident_number(), 0, 32));
      return checkOptionalPosition(e.status().has_position(), e.status().position(), "envelope.status.position");
    }
    case Envelope::kAvl: {
      Check s{"envelope.avl"};
      if (!e.avl().has_position()) return fail(Reason::MissingField, "envelope.avl.position: required, is absent");
      MDC_TRY(validatePosition(e.avl().position(), "envelope.avl.position"));
      return s.enumValue("trigger", e.avl().trigger(), v1::AvlTrigger_IsValid);
    }
    case Envelope::kCfs: {
      Check s{"envelope.cfs"};
      MDC_TRY(s.text("cfs_type", e.cfs().cfs_type(), 1, 32));
      if (!e.cfs().has_location()) return fail(Reason::MissingField, "envelope.cfs.location: required, is absent");
      MDC_TRY(validatePosition(e.cfs().location(), "envelope.cfs.location"));
      MDC_TRY(s.text("address", e.cfs().address(), 0, 200));
      return s.text("note", e.cfs().note(), 0, 1000);
    }
    case Envelope::kEmergency: {
      Check s{"envelope.emergency"};
      MDC_TRY(s.enumValue("source", e.emergency().source(), v1::EmergencySource_IsValid));
      return checkOptionalPosition(e.emergency().has_position(), e.emergency().position(),
                                   "envelope.emergency.position");
    }
    case Envelope::kAssignmentAck: {
      Check s{"envelope.assignment_ack"};
      MDC_TRY(s.text("incident_number", e.assignment_ack().incident_number(), 1, 32));
      if (e.assignment_ack().downlink_seq() < 1)
        return fail(Reason::OutOfRange, "envelope.assignment_ack.downlink_seq: 0 must be >= 1");
      return {};
    }
    case Envelope::kMessage:
      return Check{"envelope.message"}.text("text", e.message().text(), 1, 2000);
    case Envelope::kPresence: {
      const auto& p = e.presence();
      Check s{"envelope.presence"};
      MDC_TRY(s.text("agent_version", p.agent_version(), 0, 32));
      if (p.queue_size() > 8)
        return fail(Reason::TooLong, "envelope.presence.queue: " + std::to_string(p.queue_size()) +
                                         " entries, at most 8 allowed");
      for (int i = 0; i < p.queue_size(); ++i) {
        Check q{"envelope.presence.queue[" + std::to_string(i) + "]"};
        MDC_TRY(q.enumValue("lane", p.queue(i).lane(), v1::Lane_IsValid));
        MDC_TRY(q.time("oldest_at_ms", p.queue(i).oldest_at_ms(), true));
      }
      MDC_TRY(s.time("gps_no_fix_since_ms", p.gps_no_fix_since_ms(), true));
      if (p.cert_not_after_ms() < 0)
        return fail(Reason::OutOfRange, "envelope.presence.cert_not_after_ms: " + std::to_string(p.cert_not_after_ms()) +
                                            " must be >= 0 (0: no certificate)");
      return checkOptionalPosition(p.has_last_fix(), p.last_fix(), "envelope.presence.last_fix");
    }
    case Envelope::kResync:
      return {};
    case Envelope::kRecordsQuery:
      return validateRecordsQuery(e.records_query(), "envelope.records_query");
    case Envelope::kAvlBatch:
      return validateAvlBatch(e);
    case Envelope::BODY_NOT_SET:
      break;
  }
  return fail(Reason::MissingField, "envelope.body: required, none of status/avl/cfs/emergency/"
                                    "assignment_ack/message/presence/resync/records_query/avl_batch is set");
}

}  // namespace

const char* reasonName(Reason r) {
  switch (r) {
    case Reason::Malformed: return "malformed";
    case Reason::TooLarge: return "too_large";
    case Reason::UnsupportedVersion: return "unsupported_version";
    case Reason::MissingField: return "missing_field";
    case Reason::OutOfRange: return "out_of_range";
    case Reason::TooLong: return "too_long";
    case Reason::BadFormat: return "bad_format";
  }
  return "unknown";
}

bool isValidUtf8(std::string_view s) { return invalidUtf8At(s) == std::string_view::npos; }

std::string truncateUtf8(std::string_view s, size_t maxChars) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80 && n++ == maxChars) return std::string(s.substr(0, i));
  return std::string(s);
}

size_t utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xc0) != 0x80) ++n;
  return n;
}

Status validatePosition(const v1::Position& p, std::string_view prefix) {
  Check c{std::string(prefix)};
  MDC_TRY(c.range("lat", p.lat(), -90, 90, false));
  MDC_TRY(c.range("lon", p.lon(), -180, 180, false));
  MDC_TRY(c.range("alt_m", p.alt_m(), -1000, 20000, true));
  MDC_TRY(c.range("speed_mps", p.speed_mps(), 0, 150, true));
  if (!std::isnan(p.track_deg()) && !(p.track_deg() >= 0 && p.track_deg() < 360))
    return fail(Reason::OutOfRange, c.at("track_deg") + ": " + num(p.track_deg()) + " out of range 0..<360");
  MDC_TRY(c.range("eph_m", p.eph_m(), 0, 100000, true));
  MDC_TRY(c.enumValue("mode", p.mode(), v1::FixMode_IsValid));
  if (p.mode() == v1::FIX_MODE_NO_FIX)
    return fail(Reason::OutOfRange, c.at("mode") + ": NO_FIX is not a position");
  MDC_TRY(c.range("satellites", p.satellites(), 0, 128, false));
  return c.time("fix_time_ms", p.fix_time_ms(), true);
}

Status validate(const Envelope& e) {
  Check c{"envelope"};
  if (e.version() != kProtocolVersion)
    return fail(Reason::UnsupportedVersion,
                "envelope.version: " + std::to_string(e.version()) + " is not supported (this build speaks 1)");
  if (!isUuidV7(e.event_id()))
    return fail(Reason::BadFormat, "envelope.event_id: " + quoted(e.event_id()) + " is not a UUIDv7");
  if (!topics::isValidDeviceId(e.device_id()))
    return fail(Reason::BadFormat, "envelope.device_id: " + quoted(e.device_id()) +
                                       " must be 1..64 characters of A-Z a-z 0-9 . _ -");
  MDC_TRY(c.text("unit_id", e.unit_id(), 1, 32));
  MDC_TRY(c.text("agency", e.agency(), 1, 32));
  bool unsequenced = e.body_case() == Envelope::kPresence || e.body_case() == Envelope::kResync ||
                     e.body_case() == Envelope::kRecordsQuery;
  if (unsequenced && e.seq() != 0)
    return fail(Reason::BadFormat, "envelope.seq: " + std::to_string(e.seq()) + " must be 0 for " + bodyName(e));
  if (!unsequenced && e.seq() < 1) return fail(Reason::BadFormat, "envelope.seq: 0 must be >= 1");
  MDC_TRY(c.time("recorded_at_ms", e.recorded_at_ms(), false));
  MDC_TRY(c.enumValue("clock_source", e.clock_source(), v1::ClockSource_IsValid));
  return validateBody(e);
}

Result<Envelope> decodeEnvelope(std::string_view bytes) {
  if (bytes.size() > kMaxEnvelopeBytes)
    return fail(Reason::TooLarge, "envelope: " + std::to_string(bytes.size()) + " bytes, at most " +
                                      std::to_string(kMaxEnvelopeBytes) + " allowed");
  Envelope e;
  if (bytes.empty() || !e.ParseFromArray(bytes.data(), int(bytes.size())))
    return fail(Reason::Malformed, "envelope: " + std::to_string(bytes.size()) + " bytes are not a valid mdc.v1.Envelope");
  if (Status s = validate(e); !s) return s.error();
  return e;
}

Result<std::string> encodeEnvelope(const Envelope& e) {
  if (Status s = validate(e); !s) return s.error();
  std::string out;
  e.SerializeToString(&out);
  if (out.size() > kMaxEnvelopeBytes)
    return fail(Reason::TooLarge, "envelope: " + std::to_string(out.size()) + " bytes, at most " +
                                      std::to_string(kMaxEnvelopeBytes) + " allowed");
  return out;
}

Status validate(const v1::ApiRequest& r) {
  switch (r.body_case()) {
    case v1::ApiRequest::kSetStatus: {
      Check s{"set_status"};
      MDC_TRY(s.enumValue("status", r.set_status().status(), v1::UnitStatus_IsValid));
      return s.text("incident_number", r.set_status().incident_number(), 0, 32);
    }
    case v1::ApiRequest::kSetEmergency:
      return Check{"set_emergency"}.enumValue("source", r.set_emergency().source(), v1::EmergencySource_IsValid);
    case v1::ApiRequest::kCreateCfs: {
      Check s{"create_cfs"};
      MDC_TRY(s.text("cfs_type", r.create_cfs().cfs_type(), 1, 32));
      MDC_TRY(checkOptionalPosition(r.create_cfs().has_location(), r.create_cfs().location(), "create_cfs.location"));
      MDC_TRY(s.text("address", r.create_cfs().address(), 0, 200));
      return s.text("note", r.create_cfs().note(), 0, 1000);
    }
    case v1::ApiRequest::kAckAssignment:
      return Check{"ack_assignment"}.text("incident_number", r.ack_assignment().incident_number(), 1, 32);
    case v1::ApiRequest::kSendMessage:
      return Check{"send_message"}.text("text", r.send_message().text(), 1, 2000);
    case v1::ApiRequest::kGetState:
    case v1::ApiRequest::kSubscribe:
      return {};
    case v1::ApiRequest::kListMessages:
      if (r.list_messages().limit() < 1 || r.list_messages().limit() > 50)
        return fail(Reason::OutOfRange,
                    "list_messages.limit: " + std::to_string(r.list_messages().limit()) + " out of range 1..50");
      if (!r.list_messages().before().empty() && !MessageCursor::parse(r.list_messages().before()))
        return fail(Reason::BadFormat, "list_messages.before: \"" + r.list_messages().before().substr(0, 40) +
                                           "\" is not a message cursor (MS.DIR.SEQ, from a message's cursor)");
      return {};
    case v1::ApiRequest::kRecordsQuery:
      return validateRecordsQuery(r.records_query(), "records_query");
    case v1::ApiRequest::BODY_NOT_SET:
      break;
  }
  return fail(Reason::MissingField, "request.body: required, none is set");
}

Result<v1::ApiRequest> decodeApiRequest(std::string_view bytes) {
  if (bytes.size() > kMaxLocalFrameBytes)
    return fail(Reason::TooLarge, "request: " + std::to_string(bytes.size()) + " bytes, at most " +
                                      std::to_string(kMaxLocalFrameBytes) + " allowed");
  v1::ApiRequest r;
  if (!r.ParseFromArray(bytes.data(), int(bytes.size())))
    return fail(Reason::Malformed, "request: " + std::to_string(bytes.size()) + " bytes are not a valid mdc.v1.ApiRequest");
  if (Status s = validate(r); !s) return s.error();
  return r;
}

std::string statusName(int status) {
  std::string n = v1::UnitStatus_Name(v1::UnitStatus(status));
  const std::string_view prefix = "UNIT_STATUS_";
  return n.rfind(prefix, 0) == 0 ? n.substr(prefix.size()) : n;
}

std::optional<v1::UnitStatus> statusFromName(std::string code) {
  for (auto& ch : code) ch = ch == '-' ? '_' : char(std::toupper(static_cast<unsigned char>(ch)));
  if (code.rfind("UNIT_STATUS_", 0) != 0) code = "UNIT_STATUS_" + code;
  v1::UnitStatus out{};
  if (!v1::UnitStatus_Parse(code, &out) || out == v1::UNIT_STATUS_UNSPECIFIED) return std::nullopt;
  return out;
}

bool statusEndsAssignment(int status) {
  switch (status) {
    case v1::UNIT_STATUS_AVAILABLE:
    case v1::UNIT_STATUS_AT_STATION:
    case v1::UNIT_STATUS_RETURNING:
    case v1::UNIT_STATUS_OUT_OF_SERVICE:
      return true;
    default:
      return false;
  }
}

std::string statusNamesForHumans() {
  std::string out;
  for (int s = v1::UnitStatus_MIN + 1; s <= v1::UnitStatus_MAX; ++s) {
    if (!v1::UnitStatus_IsValid(s)) continue;
    std::string n = statusName(s);
    for (auto& ch : n) ch = ch == '_' ? '-' : char(std::tolower(static_cast<unsigned char>(ch)));
    out += (out.empty() ? "" : ", ") + n;
  }
  return out;
}

const char* bodyName(const Envelope& e) {
  switch (e.body_case()) {
    case Envelope::kStatus: return "status";
    case Envelope::kAvl: return "avl";
    case Envelope::kCfs: return "cfs";
    case Envelope::kEmergency: return "emergency";
    case Envelope::kAssignmentAck: return "assignment_ack";
    case Envelope::kMessage: return "message";
    case Envelope::kPresence: return "presence";
    case Envelope::kResync: return "resync";
    case Envelope::kRecordsQuery: return "records_query";
    case Envelope::kAvlBatch: return "avl_batch";
    case Envelope::BODY_NOT_SET: break;
  }
  return "none";
}

namespace {
constexpr const char* kRecordsReasons[] = {"TRAFFIC_STOP",   "SUSPICIOUS_VEHICLE", "SUSPICIOUS_PERSON",
                                           "INVESTIGATION",  "WARRANT_SERVICE",    "FIELD_INTERVIEW"};
}  // namespace

bool isRecordsReason(std::string_view code) {
  return std::any_of(std::begin(kRecordsReasons), std::end(kRecordsReasons), [&](const char* r) { return code == r; });
}

std::vector<std::string> recordsReasons() { return {std::begin(kRecordsReasons), std::end(kRecordsReasons)}; }

std::string recordsReasonsForHumans() {
  std::string out;
  for (const char* r : kRecordsReasons) out += (out.empty() ? "" : ", ") + std::string(r);
  return out;
}

std::string normalizePlate(std::string_view raw) {
  std::string out;
  for (unsigned char c : raw)
    if (c != ' ' && c != '-') out += char(std::toupper(c));
  return out;
}

std::string normalizeName(std::string_view raw) {
  // "doe , john  q" -> "DOE, JOHN Q"
  std::string out;
  bool space = false;
  for (unsigned char c : raw) {
    if (std::isspace(c)) { space = !out.empty(); continue; }
    if (c == ',') { out += ','; space = true; continue; }
    if (space) out += ' ';
    space = false;
    out += char(std::toupper(c));
  }
  return out;
}

std::string recordsSubjectText(const v1::RecordsQuery& q) {
  if (q.has_plate()) return "plate " + q.plate().plate() + " (" + q.plate().state() + ")";
  if (q.has_person()) return "person " + q.person().name() + " " + q.person().dob();
  return "nothing";
}

const char* recordsFlagName(int kind) {
  switch (kind) {
    case v1::RECORDS_FLAG_STOLEN: return "STOLEN";
    case v1::RECORDS_FLAG_WANTED: return "WANTED";
    case v1::RECORDS_FLAG_CAUTION: return "CAUTION";
    default: return "FLAG";
  }
}

v1::RecordsFlagKind recordsFlagFromName(std::string_view name) {
  for (auto kind : {v1::RECORDS_FLAG_STOLEN, v1::RECORDS_FLAG_WANTED, v1::RECORDS_FLAG_CAUTION}) {
    std::string_view known = recordsFlagName(kind);
    if (name.size() == known.size() &&
        std::equal(name.begin(), name.end(), known.begin(),
                   [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; }))
      return kind;
  }
  return v1::RECORDS_FLAG_UNSPECIFIED;
}

std::string recordsFlagsText(const google::protobuf::RepeatedPtrField<v1::RecordsFlag>& flags) {
  bool seen[v1::RecordsFlagKind_ARRAYSIZE] = {};
  for (const auto& f : flags)
    if (f.kind() > 0 && f.kind() < v1::RecordsFlagKind_ARRAYSIZE) seen[f.kind()] = true;
  std::string out;
  for (int k = 1; k < v1::RecordsFlagKind_ARRAYSIZE; ++k)  // the enum is in order of seriousness
    if (seen[k]) out += (out.empty() ? "" : ", ") + std::string(recordsFlagName(k));
  return out;
}

std::string MessageCursor::text() const {
  return std::to_string(atMs) + (outgoing ? ".1." : ".0.") + std::to_string(seq);
}

std::optional<MessageCursor> MessageCursor::parse(std::string_view s) {
  auto number = [](std::string_view part, uint64_t& out) {
    if (part.empty() || part.size() > 20) return false;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
    return ec == std::errc() && end == part.data() + part.size();
  };
  const size_t a = s.find('.');
  if (a == std::string_view::npos || a + 2 >= s.size() || s[a + 2] != '.') return std::nullopt;
  uint64_t ms = 0, seq = 0;
  if (!number(s.substr(0, a), ms) || ms > uint64_t(INT64_MAX) || !number(s.substr(a + 3), seq)) return std::nullopt;
  if (s[a + 1] != '0' && s[a + 1] != '1') return std::nullopt;
  return MessageCursor{int64_t(ms), s[a + 1] == '1', seq};
}

}  // namespace mdc::codec
