#pragma once
// The device's durable state in one SQLite file (WAL): the outbox of events
// waiting for the backend's commit ack, the history of the responder's
// actions, the downlink inbox and its cursor, and small device state.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mdc/v1/local.pb.h"
#include "mdc/v1/mdc.pb.h"
#include "shared/wire/clock.h"
#include "shared/wire/codec.h"
#include "shared/wire/error.h"
#include "shared/infra/sqlite.h"
#include "agent/payload_cipher.h"
#include "agent/state_key.h"

namespace mdc::agent {

/** Current schema version (PRAGMA user_version). */
inline constexpr int kSchemaVersion = 5;

/** Lanes in drain order; index with laneIndex(). */
inline constexpr std::array<v1::Lane, 4> kLanes = {v1::LANE_EMERGENCY, v1::LANE_STATUS, v1::LANE_MESSAGE,
                                                   v1::LANE_AVL};
inline int laneIndex(v1::Lane l) { return int(l) - 1; }
const char* laneName(v1::Lane l);

/** One event waiting in the outbox. */
struct OutboxRow {
  uint64_t seq = 0;
  v1::Lane lane = v1::LANE_UNSPECIFIED;
  std::string eventId;
  int64_t recordedAtMs = 0;
  std::string payload;  ///< the encoded Envelope, sent as is
};

struct LaneDepthInfo {
  int64_t count = 0;
  int64_t bytes = 0;
  int64_t oldestRecordedAtMs = 0;  ///< 0 when empty
  int64_t oldestQueuedAtMs = 0;    ///< 0 when empty
};

/** What a responder's action is, for the history shown on screen. */
struct ActionInfo {
  ActionInfo(std::string k, std::string s, std::string text = {})
      : kind(std::move(k)), summary(std::move(s)), sentText(std::move(text)) {}
  std::string kind;     ///< "status", "emergency", "cfs", "ack", "message"
  std::string summary;  ///< "EN_ROUTE", "TRAFFIC_STOP", ...
  std::string sentText; ///< a message's text: kept encrypted for the conversation, never in the history
};

/** The outcome of a commit ack. */
struct AckOutcome {
  int removed = 0;                 ///< events deleted from the outbox
  std::vector<uint64_t> actions;   ///< seqs of responder actions now delivered
};

/** Store errors the API reports distinctly. */
enum class StoreErrorCode { Full = 1, Failed = 2, NotFound = 3, Invalid = 4 };
Error storeError(StoreErrorCode code, std::string msg);

/** The agent's SQLite store. Thread-safety: one thread (the agent's event loop) only. */
class Store {
 public:
  struct Options {
    // A constructor, so {cap, history} keeps working without naming keyPath.
    Options(int64_t cap = 256LL * 1024 * 1024, int history = 500, std::string key = {})
        : capBytes(cap), actionHistory(history), keyPath(std::move(key)) {}
    int64_t capBytes;
    int actionHistory;         ///< responder actions kept for the screen
    std::string keyPath;       ///< at-rest key file; empty: <path>.key (created 0600 on first open)
    /** A new store numbers its events from its creation time (Unix ms × 1000)
     *  instead of 1, so a device wiped and enrolled again under the same id
     *  continues above every seq the backend holds for it (the agent sets
     *  this; tests of the store itself start at 1). */
    bool seqFromCreationTime = false;
  };

  /** Opens or creates the file, applies migrations, checks the schema version
   *  is not newer than this build. Errors name the path. */
  static Result<std::unique_ptr<Store>> open(const std::string& path, Options options, const Clock& clock);

  /** The first seq of a store created at unixMs with seqFromCreationTime. */
  static uint64_t seqOrigin(int64_t unixMs);

  /** Commits one non-AVL event durably (synchronous=FULL) before returning:
   *  assigns env's seq, records the action, applies state updates, all in one
   *  transaction. Refuses with StoreErrorCode::Full, changing nothing, when the
   *  non-AVL lanes alone would exceed the cap. */
  Result<OutboxRow> enqueue(v1::Envelope& env, v1::Lane lane, const ActionInfo& action,
                            const StateUpdates& stateUpdates = {});

  /** Group-commits AVL reports (assigns their seqs) and thins the oldest AVL
   *  when the store is over its cap. Returns the number of AVL points dropped. */
  Result<int64_t> appendAvl(std::vector<v1::Envelope>& batch);

  /** Up to limit events of a lane with seq > afterSeq, in seq order, held ones left out. A row whose
   *  stored payload fails authentication (edited on disk) is skipped, logged
   *  once and counted in tamperedPayloads(): it is never sent. */
  std::vector<OutboxRow> pending(v1::Lane lane, uint64_t afterSeq, int limit);

  /** Deletes the acknowledged events and marks their actions delivered, in one transaction. */
  Result<AckOutcome> applyCommitAck(const v1::CommitAck& ack);

  /** A refused event: for good (deleted, its action rejected with the
   *  reason) or, when the cause can be fixed, held (kept, not sent until its
   *  wait is over; *held says which). Returns its seq, if it is this device's. */
  Result<std::optional<uint64_t>> applyRejection(const v1::Rejection& rejection, bool* held = nullptr);
  /** A refusal the device can outlive (not registered yet, a registry
   *  mistake): the event is held, not dropped. */
  static bool isFixable(v1::RejectReason reason);
  /** Sends held events again: those whose wait is over, or all (the registry
   *  may have changed). Returns how many; their actions read queued again. */
  int releaseHeld(bool all);
  /** Events held after a fixable refusal. */
  int64_t heldCount() const;

  /** Commits a downlink to the inbox and advances the unit's cursor, with the
   *  state updates it implies, in one transaction. Only seq == cursor + 1 is accepted. */
  Status storeDownlink(const v1::Downlink& dl, const std::string& raw,
                       const StateUpdates& stateUpdates = {});

  uint64_t downlinkCursor(const std::string& unitId);
  /** Downlinks of a kind for a unit, newest first (tampered rows skipped and counted). */
  std::vector<std::pair<uint64_t, v1::Downlink>> inbox(const std::string& unitId, const std::string& kind, int limit);

  /** Responder actions, newest first. */
  std::vector<v1::ActionRecord> recentActions(int limit);
  /** Finds an action by seq. */
  std::optional<v1::ActionRecord> action(uint64_t seq);
  /** Marks an action's detail (e.g. the incident number a CFS got). */
  Status setActionDetail(uint64_t seq, const std::string& detail);
  std::optional<uint64_t> actionSeqForEvent(const std::string& eventId);

  LaneDepthInfo laneDepth(v1::Lane lane) const { return lanes_[size_t(laneIndex(lane))]; }
  int64_t outboxCount() const;
  int64_t outboxBytes() const;
  int64_t capBytes() const { return opts_.capBytes; }
  uint64_t nextSeq() const { return nextSeq_; }
  /** Items of a kind the inbox holds for a unit. */
  int64_t inboxCount(const std::string& unitId, const std::string& kind);
  /** The conversation with dispatch (dispatcher messages and the responder's
   *  own), newest first: up to limit messages before the cursor (nullopt:
   *  from the newest), each with its cursor. Tampered rows are skipped. */
  std::vector<v1::ReceivedMessage> conversation(const std::string& unitId, std::optional<codec::MessageCursor> before,
                                                int limit);
  /** Messages to and from dispatch held for a unit. */
  int64_t conversationCount(const std::string& unitId);
  /** The inbox keeps the newest kInboxKeep items of each kind per unit, and
   *  the newest kInboxKeep messages the unit sent. */
  static constexpr int kInboxKeep = 1000;
  /** Empty while every commit is durable; else why enqueues are refused. */
  const std::string& durabilityError() const { return durabilityError_; }

  /** The value kept under key, or fallback when there is none. */
  std::string state(const StateKey& key, const std::string& fallback = "") const;
  /** The value kept under key as a number, or fallback when there is none or it is not one. */
  int64_t stateInt(const StateKey& key, int64_t fallback = 0) const;
  /** Sets the values in one transaction; the cache changes only when it commits. */
  Status setState(const StateUpdates& updates);

  /** PRAGMA integrity_check plus the lane invariants; a readable report. ok=false on any failure. */
  struct CheckReport {
    bool ok = true;
    std::vector<std::string> lines;
  };
  CheckReport check();

  /** Stored payloads found altered since open (outbox, inbox and sent messages, each row once). */
  int64_t tamperedPayloads() const { return int64_t(tampered_.size()); }

  const std::string& path() const { return db_->path(); }
  sql::Db& db() { return *db_; }

 private:
  Store(std::unique_ptr<sql::Db> db, Options options, const Clock& clock);
  void migrate();
  void loadCounters();
  void recountLanes();
  void refreshOldest(v1::Lane lane);
  int64_t thinAvl(int64_t bytesToFree);
  void pruneActions();
  /** Upserts state rows inside the caller's transaction (throws SqliteError); the cache is the caller's. */
  void writeState(const StateUpdates& updates);
  void encryptPlaintextRows();
  std::string sealOutbox(uint64_t seq, int lane, const std::string& eventId, const std::string& plain) const;
  /** Opens a sealed payload; when it fails authentication, logs "<row>: ...
   *  (tampered); <consequence>" and counts the row, each once. */
  std::optional<std::string> openSealed(const std::string& sealed, const std::string& aad, const std::string& row,
                                        const char* consequence);
  std::optional<std::string> openOutbox(uint64_t seq, int lane, const std::string& eventId, const std::string& sealed);
  std::string inboxAad(const std::string& unitId, uint64_t seq, const std::string& kind) const;
  std::string sentAad(const std::string& unitId, uint64_t seq) const;
  std::optional<std::string> openInbox(const std::string& unitId, uint64_t seq, const std::string& kind,
                                       const std::string& sealed);
  /** In the enqueue's transaction: keeps a sent message's text, prunes to kInboxKeep (throws SqliteError). */
  void recordSent(uint64_t seq, const std::string& unitId, int64_t atMs, const std::string& text,
                  StateUpdates& updates);

  std::unique_ptr<sql::Db> db_;
  std::string durabilityError_;  // set when synchronous=FULL could not be restored: enqueues refused
  /** Restores synchronous=FULL after a failure to; an error while it cannot. */
  Status requireDurable();
  Options opts_;
  const Clock& clock_;
  uint64_t nextSeq_ = 1;
  std::array<LaneDepthInfo, 4> lanes_{};
  std::map<std::string, std::string> state_;
  PayloadCipher cipher_;
  std::set<std::string> tampered_;  // the rows found altered ("outbox seq N", ...), each reported once
};

/** Per-row overhead counted against the cap in addition to the payload. */
inline constexpr int64_t kRowOverheadBytes = 64;

}  // namespace mdc::agent
