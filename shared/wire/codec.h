#pragma once
// Encode and decode the v1 wire messages, with validation. Nothing that fails
// validation is ever handed to the rest of the program: each rejection is an
// Error whose code is a CodecReason and whose message names the field and the
// value ("envelope.avl.position.lat: 91.5 out of range -90..90").
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mdc/v1/local.pb.h"
#include "mdc/v1/mdc.pb.h"
#include "shared/wire/error.h"

namespace mdc::codec {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr size_t kMaxEnvelopeBytes = 16 * 1024;
inline constexpr size_t kMaxDownlinkBytes = 256 * 1024;
inline constexpr size_t kMaxLocalFrameBytes = 64 * 1024;
/** The longest ingest lag a commit ack may report (CommitAck.ingest_lag_ms): an hour. */
inline constexpr uint32_t kMaxIngestLagMs = 3'600'000;
/** Timestamps outside [2020-01-01, 2100-01-01) are rejected as impossible. */
inline constexpr int64_t kMinTimeMs = 1'577'836'800'000;
inline constexpr int64_t kMaxTimeMs = 4'102'444'800'000;

/** Why a message was rejected; the Error::code of every codec error. Stable:
 *  counted per reason by the backend and the agent. */
enum class Reason : int {
  Malformed = 1,          ///< not parseable as the message type
  TooLarge = 2,           ///< over the size cap
  UnsupportedVersion = 3, ///< version field is not 1
  MissingField = 4,       ///< a required field or the body is absent
  OutOfRange = 5,         ///< number or enum value outside its range
  TooLong = 6,            ///< string or list longer than allowed
  BadFormat = 7,          ///< wrong shape (UUID, device id, sequence rules)
};
const char* reasonName(Reason r);

/** Parses and validates an uplink Envelope. */
Result<v1::Envelope> decodeEnvelope(std::string_view bytes);
/** Validates, then serialises; an invalid envelope is never encoded. */
Result<std::string> encodeEnvelope(const v1::Envelope& env);
/** Checks every rule of mdc.proto for an Envelope. */
Status validate(const v1::Envelope& env);

Result<v1::Downlink> decodeDownlink(std::string_view bytes);
Result<std::string> encodeDownlink(const v1::Downlink& dl);
Status validate(const v1::Downlink& dl);

/** Checks a Position (prefix names it in errors, e.g. "envelope.avl.position"). */
Status validatePosition(const v1::Position& p, std::string_view prefix);

/** Local API requests from the UI: parse and validate. */
Result<v1::ApiRequest> decodeApiRequest(std::string_view bytes);
Status validate(const v1::ApiRequest& req);

/** Records queries. The reason codes a query may give instead of a CFS. */
bool isRecordsReason(std::string_view code);
std::vector<std::string> recordsReasons();
std::string recordsReasonsForHumans();
/** Checks a RecordsQuery (prefix names it in errors, e.g. "envelope.records_query"). */
Status validateRecordsQuery(const v1::RecordsQuery& q, std::string_view prefix);
/** A plate as typed ("abc-123 ") in the form a query carries ("ABC123"). */
std::string normalizePlate(std::string_view raw);
/** A name as typed ("doe ,  john") in the form a query carries ("DOE, JOHN"). */
std::string normalizeName(std::string_view raw);
/** "plate ABC123 (NY)", "person DOE, JOHN 1980-04-12". */
std::string recordsSubjectText(const v1::RecordsQuery& q);
/** "STOLEN", "WANTED", "CAUTION". */
const char* recordsFlagName(int kind);
/** The flag kind named, in any case ("stolen", "STOLEN"); RECORDS_FLAG_UNSPECIFIED for anything else. */
v1::RecordsFlagKind recordsFlagFromName(std::string_view name);
/** The kinds among these flags, each once, most serious first: "STOLEN, WANTED, CAUTION". */
std::string recordsFlagsText(const google::protobuf::RepeatedPtrField<v1::RecordsFlag>& flags);

/** True when s is well-formed UTF-8 (what every text field on the wire must be). */
bool isValidUtf8(std::string_view s);
/** The first maxChars characters of valid UTF-8 text, never cutting one in two. */
std::string truncateUtf8(std::string_view s, size_t maxChars);

/** Number of Unicode code points in UTF-8 text (protobuf has checked it is UTF-8). */
size_t utf8Length(std::string_view s);

/** A unit status without its enum prefix: "EN_ROUTE" for UNIT_STATUS_EN_ROUTE
 *  (a number outside the enum gives protobuf's empty name). */
std::string statusName(int status);
/** The status named by code, case-insensitive, '-' for '_', with or without
 *  the enum prefix ("en-route", "EN_ROUTE"); nullopt for anything else. */
std::optional<v1::UnitStatus> statusFromName(std::string code);
/** True for the statuses that end a unit's part in its CFS: the available
 *  ones (AVAILABLE, AT_STATION, RETURNING) and OUT_OF_SERVICE. */
bool statusEndsAssignment(int status);
/** Every status a unit can have, in enum order, as "available, en-route, ..." (for help and errors). */
std::string statusNamesForHumans();

/** A message's place in the conversation with dispatch: the time the vehicle
 *  saw it (arrived or sent, Unix ms), incoming before outgoing, then seq.
 *  Written "MS.DIR.SEQ" (DIR 0 incoming, 1 outgoing), e.g. "1764600000000.0.42". */
struct MessageCursor {
  int64_t atMs = 0;
  bool outgoing = false;
  uint64_t seq = 0;
  auto operator<=>(const MessageCursor&) const = default;
  std::string text() const;
  /** nullopt unless s is exactly the form text() writes. */
  static std::optional<MessageCursor> parse(std::string_view s);
};

/** The envelope body's name ("status", "avl", ...) or "none". */
const char* bodyName(const v1::Envelope& env);
const char* bodyName(const v1::Downlink& dl);

}  // namespace mdc::codec
