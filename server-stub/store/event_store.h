#pragma once
// The CAD backend's event store: an append-only, hash-chained log of every
// event (device events and dispatcher actions) plus the read models derived
// from it (unit board, CFS, assignments, downlink queue), updated in the same
// transaction as the append. Replaying the log into an empty store yields the
// same read models, byte for byte (see digest()).
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
#include "server-stub/store/ordering.h"
#include "shared/wire/error.h"
#include "shared/infra/sql.h"
#include "server-stub/store/wal_checkpointer.h"

namespace cad {

using mdc::Error;
using mdc::Result;
using mdc::Status;

// 2: incident_counters has one sequence per year for all agencies.
// 3: agency_config (status buttons and AVL intervals pushed to the units).
// 4: the ordering rule: per-field stamps on units, membership facts and
//    spells (cfs_units), late timeline lines.
// 5: records queries and their answers (records_queries), officer-safety
//    flags on units.
// 6: each device's health from its presence (devices: version, queue,
//    certificate expiry, GPS).
// 7: enrolment tokens (their hashes) and what became of them (enrol_tokens).
// 8: scheduled calls (schedules).
// 9: call types, imported incidents (cfs_types, cfs_foreign_units).
// 10: zones and supervisors.
// 11: cfs_foreign_units.ord (document order; PostgreSQL has no rowid).
// 12: a hash chain per agency (events.chain) and the writing transaction
//     (events.tx), for several writers (write_tx.cpp).
inline constexpr int kSchemaVersion = 12;

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

/** An occurrence created this long after it was due is marked late (the stub was down). */
inline constexpr int64_t kScheduleLateMs = 60'000;

struct CommandOutcome {
  std::string summary;               ///< e.g. "created 2026-000001"
  std::vector<Outgoing> downlinks;   ///< to publish after commit
};

/** Totals for `cadctl stats` and the ingest log. */
struct StoreStats {
  int64_t events = 0;
  int64_t chains = 0;       ///< hash chains: one per agency (and one for the events before schema 12)
  int64_t lastPos = 0;      ///< the highest position
  std::string lastHashHex;  ///< the hash of the event there
};

/** Where a reader of the log stands: the transaction and the position of the
 *  last event it read; as text "TX:POS". On SQLite TX is always 0. */
struct LogCursor {
  int64_t tx = 0;
  int64_t pos = 0;
  std::string text() const { return std::to_string(tx) + ":" + std::to_string(pos); }
  /** "TX:POS" or a bare position "POS" (TX 0); nullopt for anything else. */
  static std::optional<LogCursor> parse(const std::string& text);
};

/** One event as a reader of the log sees it. */
struct LogEntry {
  LogCursor cursor;
  std::string eventId;
  std::string deviceId;  ///< "" for dispatcher and registry actions
  std::optional<uint64_t> deviceSeq;
  std::string unitId, agency, kind;
  int64_t recordedAtMs = 0;
  std::string clockSource;
  int64_t receivedAtMs = 0;
  std::string actor;
  std::string payload;
};

/** A read model in the digest: its table, the order of its rows, and the
 *  columns compared. */
struct ReadModel {
  const char* table;
  const char* key;
  const char* columns = "*";
};

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

  // enrolment_log.cpp: tokens and certificates issued over the network.
  /** The token with this hash, if the log has one. */
  std::optional<EnrolToken> enrolToken(const std::string& tokenHash);
  /** The device's newest token that is unused, unexpired and not locked. */
  std::optional<EnrolToken> openEnrolToken(const std::string& deviceId, int64_t nowMs);
  /** Tokens of an agency ("" all), newest first. */
  std::vector<EnrolToken> enrolTokens(const std::string& agency);
  /** Appends what the enrolment server did as one event (actor est:<peer>)
   *  and projects it; a token used or refused is marked in enrol_tokens. */
  Status recordEnrolment(const EnrolmentRecord& record, int64_t nowMs);

  // schedules.cpp: scheduled calls.
  /** The schedules of an agency ("" all), newest first. */
  std::vector<Schedule> schedules(const std::string& agency);
  /** Creates every occurrence due by nowMs (those more than kScheduleLateMs
   *  overdue marked late), each a CFS offered to the agency's available
   *  units, in one transaction; at most `limit` occurrences per call. */
  Result<CommandOutcome> runSchedules(int64_t nowMs, int limit = 100);

  // cfs_types.cpp: call types.
  /** What a call type code means for an agency: its own type first, then
   *  an APCO ANS 2.103 code; nullopt when it is neither. */
  std::optional<CfsTypeInfo> resolveCfsType(const std::string& agency, const std::string& code);
  /** The agency's own types in the order they were added. */
  std::vector<CfsTypeInfo> agencyCfsTypes(const std::string& agency);

  /** Stored downlinks of a unit after a seq, in order (for resync). */
  std::vector<mdc::v1::Downlink> downlinksAfter(const std::string& unitId, uint64_t afterSeq, int limit = 10000);
  /** The unit's latest downlink seq (0: none yet). */
  uint64_t downlinkHead(const std::string& unitId);
  /** Devices online (by their presence) whose reported cursor is below their
   *  unit's head: the backend's downlink outbox, to send again. */
  std::vector<DownlinkLag> laggingDevices();
  /** When the oldest downlink a registered device has not confirmed holding
   *  was made (Unix ms); nullopt when every device holds all of its unit's. */
  std::optional<int64_t> oldestUnconfirmedDownlinkMs();
  /** The device currently serving a unit, if any. */
  std::optional<std::string> deviceOfUnit(const std::string& unitId);
  std::optional<std::string> unitOfDevice(const std::string& deviceId);

  /** Walks the hash chain; nullopt when intact, else a description of the first broken link. */
  std::optional<std::string> verify(int64_t* checked = nullptr);
  /** SHA-256 over every read model in a canonical order, hex. */
  std::string digest();
  /** Copies the log into an empty store at target (a new SQLite file, or a
   *  PostgreSQL database with no events), re-deriving every read model from
   *  the events alone. The chain is checked on the way; a replay that fails
   *  leaves nothing behind. */
  Status replayInto(const std::string& target, int64_t* replayed = nullptr,
                    const std::function<void(int64_t)>& progress = {});

  /** The events after `after` (of one agency; "" all) in the order readers
   *  follow the log, at most `limit`, each to `each`; returns the cursor of
   *  the last one (`after` when none). On PostgreSQL several writers commit
   *  out of position order, so a reader that asked for positions above the
   *  last it saw would skip an event committed late below it. This one
   *  follows the transaction-id horizon instead: it returns only events of
   *  transactions older than every one still running, ordered by
   *  transaction then position, so nothing can later appear before its
   *  cursor. */
  LogCursor readLog(LogCursor after, const std::string& agency, int limit,
                    const std::function<void(const LogEntry&)>& each);
  /** The events above position afterPos (of one agency; "" all) by
   *  position, at most limit: a look at the log, not a reader that comes
   *  back for more (see readLog). */
  void listLog(int64_t afterPos, const std::string& agency, int64_t limit,
               const std::function<void(const LogEntry&)>& each);

  StoreStats stats();
  mdc::sql::Db& db() { return *db_; }

  /** Moves WAL checkpoints off the commit path: a thread of their own runs
   *  them every interval (shared/wal_checkpointer.h). For the service. */
  Status startBackgroundCheckpoints(std::chrono::milliseconds interval);
  /** The background checkpoints, if started. */
  const mdc::sql::WalCheckpointer* checkpointer() const { return checkpointer_.get(); }
  /** PostgreSQL or SQLite. */
  mdc::sql::Engine engine() const { return db_->engine(); }

 private:
  friend struct CommandScope;  // a command's handler reads the store in its transaction (command_scope.h)
  struct Row;  // one event being appended (event_row.h)
  /** ingest() in one transaction; savepoints: one per event, else an event
   *  error aborts the batch (NeedsSavepoints) for a second run with them. */
  Result<BatchOutcome> ingestBatch(const std::vector<Incoming>& batch, bool savepoints);
  /** The body of ingestBatch's transaction. */
  Status ingestMessages(const std::vector<Incoming>& batch, bool savepoints, BatchOutcome& out);
  /** A device of a batch as the registry has it (known: registered). */
  struct RegisteredDevice {
    bool known = false;
    std::string unit, agency;
  };
  /** Every device of the batch, looked up once, with its agencies' locks taken. */
  std::map<std::string, RegisteredDevice> lookUpDevices(const std::vector<Incoming>& batch);
  /** One message of a batch: refused whole, or its event (or an AVL batch's reports) applied. */
  void ingestMessage(const Incoming& in, const RegisteredDevice& device, bool savepoints, BatchOutcome& out);
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
  explicit EventStore(std::unique_ptr<mdc::sql::Db> db) : db_(std::move(db)) {}
  /** The SQLite file with the pragmas the store runs with. */
  static std::unique_ptr<mdc::sql::Db> openSqlite(const std::string& path, bool readOnly);
  void createSchema();  // store_schema.cpp
  /** The read models in digest order. */
  static const std::vector<ReadModel>& readModelTables();
  /** The schema version stored (0: no store yet), and setting it. */
  int64_t schemaVersion();
  void setSchemaVersion(int64_t version);
  /** Brings an older schema up to kSchemaVersion in one transaction. */
  void migrate(int64_t fromVersion);
  /** After a replay: PostgreSQL's position sequence and timeline identity
   *  past what was copied. */
  void syncSequences();

  /** Gives row the next position, links it into its agency's chain, and
   *  inserts it. On PostgreSQL the chain's lock must be held (else the
   *  transaction starts again with it; see writeTransaction). */
  int64_t append(Row& row);

  // write_tx.cpp: one write transaction, and what several writers need.
  /** The lock a transaction holds to draw incident numbers (PostgreSQL). */
  static constexpr const char* kIncidentCounterLock = "incident-counter";
  /** What a write transaction locks before anything else (PostgreSQL). */
  struct LockSet {
    std::set<std::string> chains;   ///< agencies whose chain (and read models) it writes
    bool incidentCounter = false;   ///< it may draw an incident number
  };
  /** Runs body in one write transaction and commits it when body returns
   *  ok; an error body returns rolls it back and is returned. On
   *  PostgreSQL, the advisory locks of `locks` are taken first, in one
   *  order; a body that turns out to need another (append() of an agency
   *  not locked, an incident number) starts again from the beginning with
   *  it, so every lock is held before the transaction draws its first
   *  position. Throws DbError. */
  Status writeTransaction(LockSet locks, const std::function<Status()>& body);
  /** Takes the chains' locks now, in the body of a write transaction before
   *  it reads anything of those agencies: a no-op for those held, else they
   *  must sort after every lock held and come before the first position
   *  (else the transaction starts again with them). */
  void lockChains(const std::set<std::string>& agencies);
  /** Throws to start the transaction again when the lock is not held (PostgreSQL). */
  void requireLock(const std::string& name);
  /** The next position for an event. */
  int64_t nextPosition();
  /** The hash the chain ends with now (32 zero bytes: none yet). */
  std::string chainHead(const std::string& chain);
  /** The chains' heads and the next position, to go back to after a savepoint is rolled back. */
  struct HeadMark {
    std::map<std::string, std::string> heads;
    uint64_t generation;
    size_t next;
  };
  HeadMark markHeads() const { return {chainHeads_, positions_.generation, positions_.next}; }
  void restoreHeads(HeadMark mark) {
    chainHeads_ = std::move(mark.heads);
    // The positions drawn since go back, unless a new block was drawn: then
    // the next one is drawn anew (with one writer, after the highest stored).
    if (mark.generation == positions_.generation) positions_.next = mark.next;
    else positions_ = {};
  }
  /** Inserts a row as it is (replay). */
  void insertEvent(const Row& row);
  /** Reads db's log in position order, in pages of `page` events up to
   *  position upTo, checking each event against the chain: each(row) for
   *  every intact event, pageDone(last position) after each page. Returns
   *  the first broken link, described; nullopt when the log is intact. */
  static std::optional<std::string> walkLog(mdc::sql::Db& db, int64_t upTo, int page,
                                            const std::function<void(const Row&)>& each,
                                            const std::function<void(int64_t)>& pageDone = {});
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

  /** A prepared statement from the cache, reset when the guard goes. Parsing
   *  the same few statements for every event cost more than running them. A
   *  statement already in use (a nested use of the same SQL) is prepared anew. */
  class CachedStmt {
   public:
    CachedStmt(mdc::sql::Stmt* shared, bool* busy, std::unique_ptr<mdc::sql::Stmt> own)
        : st_(shared ? shared : own.get()), busy_(busy), own_(std::move(own)) {}
    ~CachedStmt() {
      st_->reset();
      if (busy_) *busy_ = false;
    }
    CachedStmt(const CachedStmt&) = delete;
    CachedStmt& operator=(const CachedStmt&) = delete;
    mdc::sql::Stmt* operator->() { return st_; }

   private:
    mdc::sql::Stmt* st_;
    bool* busy_;
    std::unique_ptr<mdc::sql::Stmt> own_;
  };
  CachedStmt cached(const char* sql);

  std::unique_ptr<mdc::sql::Db> db_;
  struct CacheEntry {
    std::unique_ptr<mdc::sql::Stmt> stmt;
    bool busy = false;
  };
  /** Looked up by the SQL text without copying it (several lookups per event). */
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, CacheEntry, SqlHash, std::equal_to<>> cache_;  // after db_: finalized before the connection closes
  /** Which unit a device served from when (device_units), read once per device. */
  struct Served {
    int64_t atMs;
    int64_t pos;
    std::string unitId;
  };
  std::map<std::string, std::vector<Served>> served_;
  /** The unit a device served at a moment (registry history); nullopt for an unknown device. */
  std::optional<std::string> unitServedAt(const std::string& deviceId, int64_t atMs);
  // write_tx.cpp: what the write transaction in progress holds and has read.
  /** Locks held (when other processes write too), by key: "chain:AGENCY" or "incident-counter". */
  std::map<int64_t, std::string> locksHeld_;
  /** The hash each chain ends with, as read or appended in this transaction. */
  std::map<std::string, std::string> chainHeads_;
  bool posDrawn_ = false;  ///< a position was drawn in this transaction
  /** Positions drawn for this transaction; block[next] is the next to use;
   *  generation counts the blocks drawn, so that a savepoint knows its own. */
  struct PositionBlock {
    std::vector<int64_t> block;
    size_t next = 0;
    uint64_t generation = 0;
  } positions_;
  int posWanted_ = 1;  ///< how many positions to draw at once (the events a transaction expects)
  /** The events' positions: a sequence where the engine has one. */
  static constexpr mdc::sql::Sequence kEventPositions{"events_pos_seq", "events", "pos"};
  bool replaying_ = false;  ///< the target of a replay: one transaction of its own, no locks
  std::unique_ptr<mdc::sql::WalCheckpointer> checkpointer_;  // last: stopped before the connection closes
};

/** A request's command as cadctl and the log name it ("create_cfs"; "" none). */
std::string commandKind(const control::ControlRequest& req);

/** Where the stub and cadctl keep their files beside a store (the control
 *  socket, the records system, the fleet CA): a SQLite store's own path; for
 *  a PostgreSQL URI, "cad-<database>" in the working directory. */
std::string sideFileBase(const std::string& target);

/** SHA-256 of data, raw 32 bytes. */
std::string sha256(const std::string& data);
std::string toHex(const std::string& bytes);

}  // namespace cad
