#pragma once
// The log core of the CAD backend's store: an append-only, hash-chained log
// of events in one SQL database (SQLite or PostgreSQL), and what every writer
// and reader of it needs: the schema and its migrations, write transactions
// (with the locks several writers take, write_tx.cpp), appending to an
// agency's chain, the statement cache, verify, the read-model digest, and
// the readers of the log. It knows nothing of what an event means: the
// EventStore (event_store.h) checks events, appends them here and projects
// them into the read models in the same transaction.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server-stub/store/wal_checkpointer.h"
#include "shared/infra/sql.h"
#include "shared/wire/error.h"

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

struct EventRow;  // one event being appended or read (event_row.h)

/** The log. Thread-safety: one thread (one Db connection) per object. */
class EventLog {
 public:
  using Row = EventRow;
  /** Opens or creates the log and the store's schema: target is a SQLite
   *  file, or a PostgreSQL database as a postgresql:// URI. Errors name the
   *  target (a URI without its password). */
  static Result<std::unique_ptr<EventLog>> open(const std::string& target, bool readOnly = false);
  ~EventLog();

  mdc::sql::Db& db() { return *db_; }
  /** PostgreSQL or SQLite. */
  mdc::sql::Engine engine() const { return db_->engine(); }

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
  /** Called whenever what a writer remembered of the store may no longer
   *  hold: before each round of a transaction other writers share the store
   *  with, and after a transaction that did not commit. */
  void onStale(std::function<void()> forget) { forget_ = std::move(forget); }
  /** Takes the chains' locks now, in the body of a write transaction before
   *  it reads anything of those agencies: a no-op for those held, else they
   *  must sort after every lock held and come before the first position
   *  (else the transaction starts again with them). */
  void lockChains(const std::set<std::string>& agencies);
  /** Throws to start the transaction again when the lock is not held (PostgreSQL). */
  void requireLock(const std::string& name);
  /** How many events the transaction in progress expects to append: its
   *  positions are drawn that many at a time. */
  void expectEvents(int n) { posWanted_ = n; }
  /** Gives row the next position, links it into its agency's chain, and
   *  inserts it. On PostgreSQL the chain's lock must be held (else the
   *  transaction starts again with it; see writeTransaction). */
  int64_t append(Row& row);
  /** Inserts a row as it is (replay). */
  void insertEvent(const Row& row);
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
  /** The target of a replay: one transaction of its own, no locks. */
  void setReplaying() { replaying_ = true; }
  /** After a replay: PostgreSQL's position sequence and timeline identity
   *  past what was copied. */
  void syncSequences();

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
  /** Reads db's log in position order, in pages of `page` events up to
   *  position upTo, checking each event against the chain: each(row) for
   *  every intact event, pageDone(last position) after each page. Returns
   *  the first broken link, described; nullopt when the log is intact. */
  static std::optional<std::string> walkLog(mdc::sql::Db& db, int64_t upTo, int page,
                                            const std::function<void(const Row&)>& each,
                                            const std::function<void(int64_t)>& pageDone = {});
  /** Walks the hash chain; nullopt when intact, else a description of the first broken link. */
  std::optional<std::string> verify(int64_t* checked = nullptr);
  /** SHA-256 over every read model in a canonical order, hex. */
  std::string digest();
  StoreStats stats();

  /** Moves WAL checkpoints off the commit path: a thread of their own runs
   *  them every interval (shared/wal_checkpointer.h). For the service. */
  Status startBackgroundCheckpoints(std::chrono::milliseconds interval);
  /** The background checkpoints, if started. */
  const mdc::sql::WalCheckpointer* checkpointer() const { return checkpointer_.get(); }

 private:
  explicit EventLog(std::unique_ptr<mdc::sql::Db> db) : db_(std::move(db)) {}
  /** The SQLite file with the pragmas the store runs with. */
  static std::unique_ptr<mdc::sql::Db> openSqlite(const std::string& path, bool readOnly);
  // store_schema.cpp
  void createSchema();
  /** The read models in digest order. */
  static const std::vector<ReadModel>& readModelTables();
  /** The schema version stored (0: no store yet), and setting it. */
  int64_t schemaVersion();
  void setSchemaVersion(int64_t version);
  /** Brings an older schema up to kSchemaVersion in one transaction. */
  void migrate(int64_t fromVersion);
  /** The next position for an event. */
  int64_t nextPosition();
  /** The hash the chain ends with now (32 zero bytes: none yet). */
  std::string chainHead(const std::string& chain);
  void forget() {
    if (forget_) forget_();
  }

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
  std::function<void()> forget_;
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

/** Where the stub and cadctl keep their files beside a store (the control
 *  socket, the records system, the fleet CA): a SQLite store's own path; for
 *  a PostgreSQL URI, "cad-<database>" in the working directory. */
std::string sideFileBase(const std::string& target);

/** SHA-256 of data, raw 32 bytes. */
std::string sha256(const std::string& data);
std::string toHex(const std::string& bytes);


}  // namespace cad
