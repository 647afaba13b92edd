#pragma once
// The CAD backend's event store: what the events mean. It checks what
// devices send (ingest.cpp) and what dispatchers ask (commands.cpp and the
// handlers by topic), appends each event to the log (event_log.h) and
// projects it into the read models (unit board, CFS, assignments, downlink
// queue) in the same transaction. Replaying the log into an empty store
// yields the same read models, byte for byte (EventLog::digest).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string_view>
#include <unordered_map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <QJsonObject>

#include "mdc/v1/mdc.pb.h"
#include "server-stub/proto/control.pb.h"
#include "server-stub/store/event_log.h"
#include "server-stub/store/ordering.h"
#include "shared/wire/error.h"
#include "shared/infra/sql.h"

namespace cad {

using mdc::Error;
using mdc::Result;
using mdc::Status;


/** How far ahead of the stub's receive time a device's recorded time may lie
 *  (clock skew); beyond, it is clamped to the receive time. */
inline constexpr int64_t kMaxRecordedAheadMs = 60'000;

/** A message from a device, as received on a topic. */
struct Incoming {
  std::string topicDeviceId;   ///< the device id in the topic (the broker pinned it to the sender)
  bool presenceTopic = false;  ///< arrived on .../presence
  std::string payload;         ///< raw bytes
  int64_t receivedAtMs = 0;
};

/** A downlink to publish after the transaction that produced it commits. */
struct Outgoing {
  std::string deviceId;
  mdc::v1::Downlink downlink;
};

/** Why an input was refused (counted per reason). */
struct Refusal {
  std::string deviceId;
  std::string reason;  ///< short code: malformed, unknown_device, wrong_device, seq_conflict, store_error, ...
  std::string detail;  ///< names the field and the value
};

/** A records query committed to the log, for the records system to answer. */
struct PendingQuery {
  std::string eventId;   ///< the query's Envelope.event_id
  std::string deviceId;
  std::string unitId;
  std::string agency;
  mdc::v1::RecordsQuery query;
};

/** What one ingest batch did. */
struct BatchOutcome {
  int appended = 0;
  int duplicates = 0;
  std::map<std::string, int> duplicatesByDevice;  ///< of duplicates, each device's
  std::vector<Refusal> refused;
  std::map<std::string, std::vector<uint64_t>> acks;  ///< device -> seqs committed (new or already stored)
  std::vector<Outgoing> downlinks;                    ///< to publish after commit, in order
  std::vector<std::pair<std::string, uint64_t>> resyncs;  ///< (device, after seq) requests
  int clamped = 0;  ///< events recorded too far ahead of their receive time, clamped to it
  std::vector<PendingQuery> queries;  ///< records queries appended, to answer after commit
  int avlBatches = 0;                 ///< AVL batches among the messages (mdc.proto, AvlBatch)
  int batchedReports = 0;  ///< the reports they carried (each also counted as appended, duplicate or refused)
  std::map<std::string, std::string> unitOf;      ///< each registered device of the batch -> its unit
  std::map<std::string, uint64_t> downlinkHeads;  ///< their units' latest downlink seq when the batch began (publish() adds its own)
};

/** A connected device that does not yet hold every downlink of its unit. */
struct DownlinkLag {
  std::string deviceId;
  std::string unitId;
  uint64_t holds = 0;  ///< the cursor the device last reported
  uint64_t head = 0;   ///< the unit's latest downlink seq
};

/** An enrolment token as the log knows it: never the token, only its hash. */
struct EnrolToken {
  std::string tokenHash;  ///< SHA-256 of the normalised token, hex
  std::string deviceId, unitId, agency, createdBy;
  int64_t createdAtMs = 0, expiresAtMs = 0;
  int64_t usedAtMs = 0;   ///< 0: not used
  std::string usedSerial; ///< the certificate it was used for
  int failures = 0;       ///< wrong tokens presented for its device while it was open
};

/** After this many wrong tokens for a device, its open token is locked. */
inline constexpr int kEnrolMaxFailures = 5;

/** What the enrolment server did, for the log: a certificate issued
 *  (kind "enrolled") or a request refused ("enroll_refused"). */
struct EnrolmentRecord {
  std::string kind;       ///< enrolled | enroll_refused
  std::string method;     ///< token (simpleenroll) | renewal (simplereenroll)
  std::string deviceId;   ///< as the request named it
  std::string tokenHash;  ///< the token presented, hashed ("" for a renewal)
  std::string serial;     ///< enrolled: the new certificate
  int64_t notAfterMs = 0; ///< enrolled: its expiry
  std::string reason;     ///< enroll_refused: what the device was told
  std::string peer;       ///< the client's address
};

/** A call type as an agency uses it. */
struct CfsTypeInfo {
  std::string code;       ///< the agency's code, or an APCO code
  std::string label;      ///< the agency's label, or the APCO short name
  std::string apcoCode;   ///< the APCO code it maps to
  bool agencyOwn = false; ///< defined by the agency (cfs_types), not APCO's own
};

/** A call for service created at fixed times (a house check while the owners
 *  are away), as the log knows it. */
struct Schedule {
  std::string id;  ///< the event id of its creation
  std::string agency, cfsType, address, notes, createdBy;
  int priority = 3;
  std::optional<std::pair<double, double>> location;
  int64_t everyMs = 0, fromMs = 0, untilMs = 0;
  int64_t nextAtMs = 0;    ///< the next occurrence due (past untilMs: none)
  std::string state;       ///< active | done | cancelled
  int occurrences = 0, late = 0;
  std::string lastIncident;
};

/** A device the service stopped hearing, or heard again. */
struct DeviceSilence {
  std::string device;
  int64_t lastHeardMs = 0;  ///< when it was last heard (Unix ms)
};

/** An occurrence created this long after it was due is marked late (the stub was down). */
inline constexpr int64_t kScheduleLateMs = 60'000;

struct CommandOutcome {
  std::string summary;               ///< e.g. "created 2026-000001"
  std::vector<Outgoing> downlinks;   ///< to publish after commit
};


struct EventKind;  // one kind of event: its checks and its projection (command_scope.h)

/** The store. Thread-safety: one thread (one Db connection) per object. */
class EventStore {
 public:
  /** Opens or creates a store and its schema: target is a SQLite file, or
   *  a PostgreSQL database as a postgresql:// URI. Errors name the target
   *  (a URI without its password). */
  static Result<std::unique_ptr<EventStore>> open(const std::string& target, bool readOnly = false);

  /** Validates, de-duplicates and appends a batch in ONE transaction; the
   *  outcome's acks and downlinks may be published only after this returns
   *  (ingest.cpp). */
  Result<BatchOutcome> ingest(const std::vector<Incoming>& batch);
  /** Off: AVL batches are refused whole, by their id, as a backend from
   *  before them does, and devices send those reports one per message. */
  void setAcceptAvlBatches(bool accept) { acceptAvlBatches_ = accept; }

  /** Runs a dispatcher command as an event, in one transaction. Errors are
   *  refusals with a reason (unknown unit, other agency, conflict...). */
  Result<CommandOutcome> execute(const control::ControlRequest& req, int64_t nowMs);

  /** Appends the records system's answer to a query as its own event
   *  (records.answer, actor records:<system>), in one transaction. The
   *  outcome's downlinks: the answer to the querying device (unsequenced) and,
   *  on a hit, a SafetyAlert to every other unit on the query's CFS (else the
   *  unit's current one). A query answered already is refused. */
  Result<CommandOutcome> answerQuery(const PendingQuery& query, const mdc::v1::RecordsAnswer& answer,
                                     const std::string& system, int64_t nowMs);

  // liveness_log.cpp: devices the service stopped hearing.
  /** Writes registry.device_silent (silent) or registry.device_heard for
   *  each device whose unit's online flag it changes (a device whose unit is
   *  already offline, or online, is left out), in one transaction; returns
   *  the devices written. */
  Result<std::vector<std::string>> recordLiveness(const std::vector<DeviceSilence>& devices, bool silent,
                                                  int64_t nowMs, const std::string& actor = "stub:liveness");

  // enrolment_log.cpp: tokens and certificates issued over the network.
  /** Appends what the enrolment server did as one event (actor est:<peer>)
   *  and projects it; a token used or refused is marked in enrol_tokens. */
  Status recordEnrolment(const EnrolmentRecord& record, int64_t nowMs);

  // schedules.cpp: scheduled calls.
  /** Creates every occurrence due by nowMs (those more than kScheduleLateMs
   *  overdue marked late), each a CFS offered to the agency's available
   *  units, in one transaction; at most `limit` occurrences per call. */
  Result<CommandOutcome> runSchedules(int64_t nowMs, int limit = 100);

  // cfs_types.cpp: call types.
  /** What a call type code means for an agency: its own type first, then
   *  an APCO ANS 2.103 code; nullopt when it is neither. */
  std::optional<CfsTypeInfo> resolveCfsType(const std::string& agency, const std::string& code);


  /** Copies the log into an empty store at target (a new SQLite file, or a
   *  PostgreSQL database with no events), re-deriving every read model from
   *  the events alone. The chain is checked on the way; a replay that fails
   *  leaves nothing behind. */
  Status replayInto(const std::string& target, int64_t* replayed = nullptr,
                    const std::function<void(int64_t)>& progress = {});

  /** The log core under the store (event_log.h): the chain, verify, the
   *  read models' digest, stats, the readers of the log, checkpoints. */
  EventLog& log() { return *log_; }
  mdc::sql::Db& db() { return log_->db(); }
  /** PostgreSQL or SQLite. */
  mdc::sql::Engine engine() const { return log_->engine(); }

 private:
  friend struct CommandScope;  // a command's handler reads the store in its transaction (command_scope.h)
  /** Every kind of event the backend writes, each with its checks and its
   *  projection (event_kinds.cpp). */
  static const std::vector<EventKind>& eventKinds();
  using Row = EventRow;
  using CachedStmt = EventLog::CachedStmt;
  /** A statement from the log's cache, in the transaction in progress. */
  CachedStmt cached(const char* sql) { return log_->cached(sql); }
  /** ingest() in one transaction; savepoints: one per event, else an event
   *  error aborts the batch (NeedsSavepoints) for a second run with them. */
  /** A message of a batch decoded: its envelope (or why not), an AVL batch's reports. */
  struct DecodedMessage {
    std::optional<mdc::v1::Envelope> envelope;
    Error error;
    std::vector<mdc::v1::Envelope> reports;
  };
  Result<BatchOutcome> ingestBatch(const std::vector<Incoming>& batch, const std::vector<DecodedMessage>& decoded,
                                   bool savepoints);
  /** The body of ingestBatch's transaction. */
  Status ingestMessages(const std::vector<Incoming>& batch, const std::vector<DecodedMessage>& decoded,
                        bool savepoints, BatchOutcome& out);
  /** A device of a batch as the registry has it (known: registered). */
  struct RegisteredDevice {
    bool known = false;
    std::string unit, agency;
  };
  /** Every device of the batch in one statement, with its agencies' locks
   *  taken; each one's unit and downlink head noted in out. */
  std::map<std::string, RegisteredDevice> lookUpDevices(const std::vector<Incoming>& batch, BatchOutcome& out);
  /** Reads into stored_ which of the batch's events are stored, in one statement. */
  void lookUpStored(const std::vector<Incoming>& batch, const std::vector<DecodedMessage>& decoded,
                    const std::map<std::string, RegisteredDevice>& registry);
  /** One message of a batch: refused whole, or its event (or an AVL batch's reports) applied. */
  void ingestMessage(const Incoming& in, const DecodedMessage& decoded, const RegisteredDevice& device,
                     bool savepoints, BatchOutcome& out);
  /** One event of a message (the message itself, or a report of an AVL batch). */
  void applyEvent(BatchOutcome& out, const Incoming& in, const mdc::v1::Envelope& env, const std::string& unit,
                  const std::string& agency, bool savepoints);
  /** A device asking for its downlinks again from a cursor: noted, not stored. */
  void recordResync(BatchOutcome& out, const Incoming& in, const mdc::v1::Envelope& env, const std::string& unit);
  /** Refuses an event naming a call of another agency (or none); true when refused. */
  bool refusedForeignCall(BatchOutcome& out, const Incoming& in, const mdc::v1::Envelope& env,
                          const std::string& unit, const std::string& agency);
  /** Settles an event stored before (acked again) or conflicting with one (refused); true when settled. */
  bool alreadyStored(BatchOutcome& out, const Incoming& in, const mdc::v1::Envelope& env, const std::string& unit);
  /** The log's row for a device's event: the unit it served then, a time clamped when ahead, the payload. */
  Row deviceRow(BatchOutcome& out, const Incoming& in, const mdc::v1::Envelope& env, const std::string& unit,
                const std::string& agency);
  /** Counts an input that was not stored, and records it in refusals. */
  void recordRefusal(BatchOutcome& out, const Incoming& in, const std::string& code, const std::string& detail);
  /** Refuses an input: recordRefusal, and a Rejection for the device. */
  void refuseInput(BatchOutcome& out, const Incoming& in, mdc::v1::RejectReason reason, const std::string& code,
                   const std::string& detail, const std::string& eventId, uint64_t seq, const std::string& unit);
  bool acceptAvlBatches_ = true;
  explicit EventStore(std::unique_ptr<EventLog> log);
  /** A write transaction of the log (EventLog::writeTransaction). */
  Status writeTransaction(EventLog::LockSet locks, const std::function<Status()>& body) {
    return log_->writeTransaction(std::move(locks), body);
  }
  /** replayInto between two SQLite files, and between any other two stores. */
  Status replayFileToFile(EventStore& t, int64_t head, int64_t& n, const std::function<void(int64_t)>& progress);
  Status replayCopying(EventStore& t, int64_t head, int64_t& n, const std::function<void(int64_t)>& progress);

  // The read models (projection.cpp), updated by the ordering rule of ordering.h.
  /** Applies one appended event to every read model; downlinks it produces go to out. */
  void project(const Row& row, std::vector<Outgoing>& out);
  // The registry's events (projection.cpp).
  /** A device serves unit from this event on. */
  void serveFrom(const Row& row, const std::string& device, const std::string& unit);
  void projectDeviceAdd(const Row& row, std::vector<Outgoing>& out);
  void projectDeviceMove(const Row& row, std::vector<Outgoing>& out);
  void projectDeviceRemove(const Row& row);
  void projectAgencyConfig(const Row& row, std::vector<Outgoing>& out);
  // The dispatchers' events (projection.cpp), each after what they share is read.
  struct DispatchEvent;
  void projectDispatch(const Row& row, std::vector<Outgoing>& out, void (EventStore::*kind)(const DispatchEvent&));
  void projectCreateCfs(const DispatchEvent& e);
  void projectAssign(const DispatchEvent& e);
  void projectDispatchMessage(const DispatchEvent& e);
  void projectAckEmergency(const DispatchEvent& e);
  void projectCloseCfs(const DispatchEvent& e);
  void projectDevice(const Row& row, std::vector<Outgoing>& out);
  // device_events.cpp: what each kind of event from a device changes.
  struct DeviceEvent;
  void projectAvl(const DeviceEvent& e);
  void projectStatus(const DeviceEvent& e);
  void projectSelfInitiatedCfs(const DeviceEvent& e);
  void projectEmergency(const DeviceEvent& e);
  void projectAssignmentAck(const DeviceEvent& e);
  void projectInboundMessage(const DeviceEvent& e);
  void projectPresence(const DeviceEvent& e);
  /** The unit's live position, from an event newer than the one it came from. */
  void movePosition(const DeviceEvent& e, const mdc::v1::Position& p);
  /** The call an event belongs to: the one it names, else the unit's call when it was recorded. */
  std::string callAt(const DeviceEvent& e, const std::string& named);
  /** Sets a moment of a call (acknowledged, en route, on scene) unless an earlier one is set; true when set. */
  bool earliest(const DeviceEvent& e, const char* table, const char* column, const std::string& incident, bool perUnit);
  // records_log.cpp: the audit of records queries and officer-safety hits.
  void projectRecordsQuery(const Row& row, const mdc::v1::Envelope& env);
  void projectRecordsAnswer(const Row& row, std::vector<Outgoing>& out);
  // enrolment_log.cpp
  void projectEnrolment(const Row& row);
  // liveness_log.cpp
  void projectLiveness(const Row& row);
  // schedules.cpp
  void projectSchedule(const Row& row, std::vector<Outgoing>& out);
  // cfs_types.cpp
  void projectCfsType(const Row& row, std::vector<Outgoing>& out);
  /** Records the APCO code of a new CFS from its type; a type that is
   *  neither the agency's nor APCO's gets a line on the timeline. */
  void classifyCfs(const std::string& incident, const std::string& agency, const std::string& type, const Row& row,
                   int64_t atMs, bool late = false);
  // zones.cpp
  void projectZone(const Row& row);
  // eido_log.cpp
  void projectEidoImport(const Row& row);
  /** Records a membership fact of a unit and brings its calls (cfs_units,
   *  current_cfs, calls left with no unit) to the fold of all its facts; the
   *  unit is told of each call it leaves or joins other than by this fact.
   *  Returns a SelfInitiate fact's verdict (see ordering::apply). */
  std::optional<std::string> addMembershipFact(const std::string& unit, const ordering::MembershipFact& fact,
                                               const Row& row, std::vector<Outgoing>& out);
  ordering::Membership loadMembership(const std::string& unit);
  struct MembershipChange;  ///< one fact on its way into the stored spells of its unit (projection.cpp)
  /** Stores the fact; returns the latest stamp of the unit's facts before it. */
  std::string recordMembershipFact(const std::string& unit, const ordering::MembershipFact& fact);
  /** The unit's spells as the fold of all its stored facts (a late fact); sets a SelfInitiate's verdict. */
  ordering::Membership foldAllFacts(const std::string& unit, const ordering::MembershipFact& fact,
                                    std::optional<std::string>& verdict);
  /** Stores each changed spell, telling the unit of a call it left or joined late. */
  void bringSpellsToTarget(MembershipChange& c);
  /** Removes the spells the target lacks; a call no unit was ever on opens again. */
  void dropSpellsNeverHeld(MembershipChange& c);
  void storeSpell(const std::string& incident, const std::string& unit, const ordering::Spell& spell);
  void tellUnitOff(const MembershipChange& c, const std::string& incident, const std::string& reason);
  /** A line on a CFS's timeline at atMs; late: the event arrived after a newer one of its unit. */
  void timeline(const std::string& incident, const Row& row, int64_t atMs, const std::string& text, bool late = false);
  /** The Assignment downlink of a CFS as it stands (units on it, latest timeline). */
  mdc::v1::Downlink assignmentFor(const std::string& incident, int64_t atMs);
  /** Closes a CFS that has no unit left on it ("closed: all units cleared"),
   *  at the time the last of them left. */
  void closeIfNoUnitLeft(const std::string& incident, const Row& row);
  /** The stamp of an event: a device's by its recorded time and seq, a
   *  dispatcher's by the time it was executed and its log position. */
  static std::string stampOf(const Row& row);
  /** Raises the unit's latest stamp (and its last-seen time to seenAtMs);
   *  true when the event is older than the latest (late). */
  bool noteStamp(const std::string& unit, const std::string& stamp, int64_t seenAtMs);
  uint64_t queueDownlink(const std::string& unitId, mdc::v1::Downlink& dl, int64_t pos, int64_t atMs,
                         std::vector<Outgoing>& out);
  /** Queues the agency's Configuration (as it stands after row) to each of its units. */
  void sendAgencyConfiguration(const Row& row, std::vector<Outgoing>& out);
  /** The agency's current Configuration downlink, if a dispatcher set one. */
  std::optional<mdc::v1::Downlink> agencyConfiguration(const std::string& agency);
  /** The next "YYYY-NNNNNN" of the year of atMs, unique across agencies. */
  std::string nextIncidentNumber(int64_t atMs);

  std::unique_ptr<EventLog> log_;
  /** Which unit a device served from when (device_units), read once per device. */
  struct Served {
    int64_t atMs;
    int64_t pos;
    std::string unitId;
  };
  std::map<std::string, std::vector<Served>> served_;
  /** The keys of the ingest in progress already stored: event ids, and (device, seq) -> event id. */
  struct StoredKeys {
    std::set<std::string> ids;
    std::map<std::pair<std::string, uint64_t>, std::string> bySeq;
  };
  StoredKeys stored_;
  /** The unit a device served at a moment (registry history); nullopt for an unknown device. */
  std::optional<std::string> unitServedAt(const std::string& deviceId, int64_t atMs);
};

/** A request's command as cadctl and the log name it ("create_cfs"; "" none). */
std::string commandKind(const control::ControlRequest& req);


}  // namespace cad
