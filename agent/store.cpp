#include "agent/store.h"

#include <algorithm>
#include <tuple>

#include "shared/wire/codec.h"
#include "shared/infra/log.h"

namespace mdc::agent {

namespace {

// Schema history. Each step moves user_version from N to N+1 and never edits an
// older step: a device in the field may open its store with any later build.
const char* kMigrations[] = {
    // 0 -> 1: outbox, inbox, device state.
    R"sql(
CREATE TABLE outbox(
  seq INTEGER PRIMARY KEY,           -- per-device sequence number
  lane INTEGER NOT NULL,             -- 1 emergency, 2 status/CFS/acks, 3 messages, 4 AVL
  event_id TEXT NOT NULL UNIQUE,     -- UUIDv7
  recorded_at_ms INTEGER NOT NULL,
  queued_at_ms INTEGER NOT NULL,
  payload BLOB NOT NULL              -- the encoded mdc.v1.Envelope
);
CREATE INDEX outbox_by_lane ON outbox(lane, seq);
CREATE TABLE inbox(
  unit_id TEXT NOT NULL,
  seq INTEGER NOT NULL,              -- per-unit downlink sequence
  kind TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  payload BLOB NOT NULL,             -- the encoded mdc.v1.Downlink
  PRIMARY KEY(unit_id, seq)
);
CREATE TABLE state(key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql",
    // 1 -> 2: the responder's action history, kept after delivery so the screen
    // can show queued -> delivered.
    R"sql(
CREATE TABLE actions(
  seq INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  summary TEXT NOT NULL,
  delivery INTEGER NOT NULL,         -- mdc.v1.Delivery
  queued_at_ms INTEGER NOT NULL,
  delivered_at_ms INTEGER NOT NULL DEFAULT 0,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX actions_by_event ON actions(event_id);
)sql",
    // 2 -> 3: outbox and inbox payloads encrypted at rest (AES-256-GCM). No DDL:
    // Store::encryptPlaintextRows seals the existing rows in the same transaction.
    "SELECT 1;",
    // 3 -> 4: events the backend refused for a cause that can be fixed are
    // held (not sent) until held_until_ms, then sent again; held_count backs off.
    R"sql(
ALTER TABLE outbox ADD COLUMN held_until_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN held_count INTEGER NOT NULL DEFAULT 0;
)sql",
    // 4 -> 5: the responder's own messages, kept (encrypted) for the
    // conversation on screen; the conversation reads in the vehicle's order.
    // Messages sent before this schema keep only their length in the history.
    R"sql(
CREATE TABLE sent_messages(
  seq INTEGER PRIMARY KEY,           -- the message event's seq (actions.seq)
  unit_id TEXT NOT NULL,
  at_ms INTEGER NOT NULL,            -- queued by the responder
  payload BLOB NOT NULL              -- the text, AES-256-GCM
);
CREATE INDEX sent_by_unit ON sent_messages(unit_id, at_ms, seq);
CREATE INDEX inbox_by_kind_time ON inbox(unit_id, kind, received_at_ms, seq);
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

}  // namespace

Error storeError(StoreErrorCode code, std::string msg) { return Error::make(std::move(msg), int(code)); }

const char* laneName(v1::Lane l) {
  switch (l) {
    case v1::LANE_EMERGENCY: return "emergency";
    case v1::LANE_STATUS: return "status";
    case v1::LANE_MESSAGE: return "message";
    case v1::LANE_AVL: return "avl";
    default: return "unknown";
  }
}

Store::Store(std::unique_ptr<sql::Db> db, Options options, const Clock& clock)
    : db_(std::move(db)), opts_(options), clock_(clock) {}

// The additional data binds a payload to its row: an edited or swapped row fails.
std::string Store::sealOutbox(uint64_t seq, int lane, const std::string& eventId, const std::string& plain) const {
  return cipher_.seal(plain, "outbox/" + std::to_string(seq) + "/" + std::to_string(lane) + "/" + eventId);
}

std::optional<std::string> Store::openSealed(const std::string& sealed, const std::string& aad, const std::string& row,
                                             const char* consequence) {
  auto plain = cipher_.open(sealed, aad);
  if (!plain && tampered_.insert(row).second)
    log::error("store", row + ": stored payload fails authentication (tampered); " + consequence);
  return plain;
}

std::optional<std::string> Store::openOutbox(uint64_t seq, int lane, const std::string& eventId,
                                             const std::string& sealed) {
  return openSealed(sealed, "outbox/" + std::to_string(seq) + "/" + std::to_string(lane) + "/" + eventId,
                    "outbox seq " + std::to_string(seq), "it will not be sent");
}

std::string Store::inboxAad(const std::string& unitId, uint64_t seq, const std::string& kind) const {
  return "inbox/" + unitId + "/" + std::to_string(seq) + "/" + kind;
}

void Store::encryptPlaintextRows() {
  std::vector<std::tuple<int64_t, int, std::string, std::string>> out;
  {
    auto st = db_->prepare("SELECT seq, lane, event_id, payload FROM outbox");
    while (st.step()) out.emplace_back(st.i64(0), int(st.i64(1)), st.text(2), st.blob(3));
  }
  auto upd = db_->prepare("UPDATE outbox SET payload=? WHERE seq=?");
  for (const auto& [seq, lane, id, plain] : out) {
    upd.bindBlob(1, sealOutbox(uint64_t(seq), lane, id, plain)).bind(2, seq).run();
    upd.reset();
  }
  std::vector<std::tuple<std::string, int64_t, std::string, std::string>> in;
  {
    auto st = db_->prepare("SELECT unit_id, seq, kind, payload FROM inbox");
    while (st.step()) in.emplace_back(st.text(0), st.i64(1), st.text(2), st.blob(3));
  }
  auto updIn = db_->prepare("UPDATE inbox SET payload=? WHERE unit_id=? AND seq=?");
  for (const auto& [unit, seq, kind, plain] : in) {
    updIn.bindBlob(1, cipher_.seal(plain, inboxAad(unit, uint64_t(seq), kind))).bind(2, unit).bind(3, seq).run();
    updIn.reset();
  }
  if (!out.empty() || !in.empty())
    log::info("store", "encrypted " + std::to_string(out.size()) + " outbox and " + std::to_string(in.size()) +
                           " inbox payloads at rest");
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path, Options options, const Clock& clock) {
  try {
    auto db = std::make_unique<sql::SqliteDb>(path);
    db->exec("PRAGMA journal_mode=WAL");
    db->exec("PRAGMA synchronous=FULL");
    db->exec("PRAGMA foreign_keys=ON");
    // The at-rest key: beside the store unless configured; an in-memory store
    // gets a key that lives as long as it does.
    bool memory = path.empty() || path == ":memory:" || path.rfind("file::memory:", 0) == 0;
    std::string keyPath = options.keyPath.empty() ? path + ".key" : options.keyPath;
    int64_t version = db->queryInt("PRAGMA user_version");
    int64_t rows = version >= 3 && version <= kSchemaVersion ? db->queryInt("SELECT (SELECT COUNT(*) FROM outbox) + (SELECT COUNT(*) FROM inbox)") : 0;
    PayloadCipher cipher = PayloadCipher::ephemeral();
    if (!memory && version <= kSchemaVersion) {  // a newer schema is refused untouched by migrate()
      // A missing key with encrypted rows present is not replaced silently: those rows would be lost.
      auto loaded = PayloadCipher::loadOrCreate(keyPath, /*create=*/rows == 0);
      if (!loaded)
        return storeError(StoreErrorCode::Failed,
                          "store \"" + path + "\": " + loaded.error().message + " (" + std::to_string(rows) +
                              " encrypted payloads cannot be read without it)");
      cipher = *loaded;
    }
    std::unique_ptr<Store> s(new Store(std::move(db), options, clock));
    s->cipher_ = cipher;
    s->migrate();
    s->loadCounters();
    if (version == 0 && options.seqFromCreationTime && s->nextSeq_ == 1) {
      s->nextSeq_ = seqOrigin(clock.nowMs());
      if (Status st = s->setState({{"next_seq", std::to_string(s->nextSeq_)}}); !st) return st.error();
    }
    return s;
  } catch (const sql::SqliteError& e) {
    return storeError(StoreErrorCode::Failed, std::string("store: ") + e.what());
  } catch (const std::runtime_error& e) {
    return storeError(StoreErrorCode::Failed, std::string("store: \"") + path + "\": " + e.what());
  }
}

uint64_t Store::seqOrigin(int64_t unixMs) {
  // A clock before 2020 (no RTC, no GPS yet) still starts above any store
  // made in 2020 or before; a thousand seqs per millisecond is far more than
  // one vehicle produces, so a later store always starts above an earlier one.
  constexpr int64_t k2020 = 1'577'836'800'000;
  return uint64_t(std::max(unixMs, k2020)) * 1000;
}

void Store::migrate() {
  int64_t version = db_->queryInt("PRAGMA user_version");
  if (version > kSchemaVersion)
    throw std::runtime_error("schema version " + std::to_string(version) + " is newer than this agent (" +
                             std::to_string(kSchemaVersion) + "); refusing to touch it");
  for (int64_t v = version; v < kSchemaVersion; ++v) {
    sql::Transaction tx(*db_);
    db_->exec(kMigrations[v]);
    if (v + 1 == 3) encryptPlaintextRows();
    db_->exec("PRAGMA user_version=" + std::to_string(v + 1));
    tx.commit();
    log::info("store", "migrated \"" + db_->path() + "\" to schema " + std::to_string(v + 1));
  }
}

void Store::loadCounters() {
  auto st = db_->prepare("SELECT key, value FROM state");
  while (st.step()) state_[st.text(0)] = st.text(1);
  // The next seq never goes back: the larger of the stored counter and what the outbox holds.
  uint64_t stored = uint64_t(stateInt("next_seq", 1));
  uint64_t maxSeq = uint64_t(db_->queryInt("SELECT COALESCE(MAX(seq), 0) FROM outbox"));
  uint64_t maxAction = uint64_t(db_->queryInt("SELECT COALESCE(MAX(seq), 0) FROM actions"));
  nextSeq_ = std::max({stored, maxSeq + 1, maxAction + 1});
  recountLanes();
}

void Store::recountLanes() {
  lanes_ = {};
  auto st = db_->prepare(
      "SELECT lane, COUNT(*), COALESCE(SUM(LENGTH(payload)),0), MIN(recorded_at_ms), MIN(queued_at_ms) "
      "FROM outbox GROUP BY lane");
  while (st.step()) {
    int lane = int(st.i64(0));
    if (lane < 1 || lane > 4) continue;
    auto& d = lanes_[size_t(lane - 1)];
    d.count = st.i64(1);
    d.bytes = st.i64(2) + d.count * kRowOverheadBytes;
    d.oldestRecordedAtMs = st.i64(3);
    d.oldestQueuedAtMs = st.i64(4);
  }
}

int64_t Store::outboxCount() const {
  int64_t n = 0;
  for (const auto& l : lanes_) n += l.count;
  return n;
}

int64_t Store::outboxBytes() const {
  int64_t n = 0;
  for (const auto& l : lanes_) n += l.bytes;
  return n;
}

Status Store::requireDurable() {
  if (durabilityError_.empty()) return {};
  try {
    db_->exec("PRAGMA synchronous=FULL");
    log::info("store", "synchronous=FULL restored; queueing again");
    durabilityError_.clear();
    return {};
  } catch (const sql::SqliteError& e) {
    return storeError(StoreErrorCode::Failed,
                      "store: nothing queued: the store cannot commit durably (synchronous=FULL could not be "
                      "restored: " + std::string(e.what()) + ")");
  }
}

Result<OutboxRow> Store::enqueue(v1::Envelope& env, v1::Lane lane, const ActionInfo& action,
                                 const std::map<std::string, std::string>& stateUpdates) {
  if (Status s = requireDurable(); !s) return s.error();
  if (lane == v1::LANE_AVL || lane == v1::LANE_UNSPECIFIED)
    return storeError(StoreErrorCode::Invalid, "store: enqueue is for non-AVL lanes");
  env.set_seq(nextSeq_);
  auto encoded = codec::encodeEnvelope(env);
  if (!encoded) return storeError(StoreErrorCode::Invalid, encoded.error().message);
  std::string sealed = sealOutbox(env.seq(), int(lane), env.event_id(), *encoded);
  int64_t rowBytes = int64_t(sealed.size()) + kRowOverheadBytes;
  int64_t nonAvl = outboxBytes() - laneDepth(v1::LANE_AVL).bytes;
  if (nonAvl + rowBytes > opts_.capBytes)
    return storeError(StoreErrorCode::Full,
                      "store full: " + std::to_string(nonAvl) + " bytes of unsent status, CFS, emergency and "
                      "message events reach the cap of " + std::to_string(opts_.capBytes) +
                      " bytes; nothing was queued. Restore the network link so the outbox can drain.");
  int64_t now = clock_.nowMs();
  OutboxRow row{env.seq(), lane, env.event_id(), env.recorded_at_ms(), std::move(*encoded)};
  bool thinned = false;
  try {
    sql::Transaction tx(*db_);
    db_->prepare("INSERT INTO outbox(seq, lane, event_id, recorded_at_ms, queued_at_ms, payload) VALUES(?,?,?,?,?,?)")
        .bind(1, row.seq).bind(2, int(lane)).bind(3, row.eventId).bind(4, row.recordedAtMs).bind(5, now)
        .bindBlob(6, sealed).run();
    db_->prepare("INSERT INTO actions(seq, event_id, kind, summary, delivery, queued_at_ms) VALUES(?,?,?,?,?,?)")
        .bind(1, row.seq).bind(2, row.eventId).bind(3, action.kind).bind(4, action.summary)
        .bind(5, int(v1::DELIVERY_QUEUED)).bind(6, now).run();
    std::map<std::string, std::string> updates = stateUpdates;
    updates["next_seq"] = std::to_string(row.seq + 1);
    if (!action.sentText.empty()) recordSent(row.seq, env.unit_id(), now, action.sentText, updates);
    // At the cap, AVL makes room for the responder's action (oldest first).
    if (int64_t over = outboxBytes() + rowBytes - opts_.capBytes; over > 0) {
      if (int64_t dropped = thinAvl(over); dropped > 0) {
        updates["dropped_avl"] = std::to_string(stateInt("dropped_avl") + dropped);
        thinned = true;
      }
    }
    writeState(updates);
    tx.commit();
    for (const auto& [k, v] : updates) state_[k] = v;
  } catch (const sql::SqliteError& e) {
    if (thinned) recountLanes();  // the rollback restored the thinned rows
    return storeError(e.primary() == SQLITE_FULL ? StoreErrorCode::Full : StoreErrorCode::Failed,
                      std::string("store: could not commit: ") + e.what());
  }
  ++nextSeq_;
  auto& d = lanes_[size_t(laneIndex(lane))];
  if (d.count == 0) {
    d.oldestRecordedAtMs = row.recordedAtMs;
    d.oldestQueuedAtMs = now;
  }
  ++d.count;
  d.bytes += rowBytes;
  if (thinned) recountLanes();
  pruneActions();
  return row;
}

Result<int64_t> Store::appendAvl(std::vector<v1::Envelope>& batch) {
  if (Status s = requireDurable(); !s) return s.error();
  if (batch.empty()) return int64_t(0);
  int64_t now = clock_.nowMs();
  int64_t dropped = 0;
  try {
    sql::Transaction tx(*db_);
    auto ins = db_->prepare(
        "INSERT INTO outbox(seq, lane, event_id, recorded_at_ms, queued_at_ms, payload) VALUES(?,?,?,?,?,?)");
    auto& d = lanes_[size_t(laneIndex(v1::LANE_AVL))];
    for (auto& env : batch) {
      env.set_seq(nextSeq_);
      auto encoded = codec::encodeEnvelope(env);
      if (!encoded) {
        log::warn("store", "AVL report not stored: " + encoded.error().message);
        continue;
      }
      std::string sealed = sealOutbox(nextSeq_, int(v1::LANE_AVL), env.event_id(), *encoded);
      ins.bind(1, nextSeq_).bind(2, int(v1::LANE_AVL)).bind(3, env.event_id()).bind(4, env.recorded_at_ms())
          .bind(5, now).bindBlob(6, sealed).run();
      ins.reset();
      ++nextSeq_;
      if (d.count == 0) {
        d.oldestRecordedAtMs = env.recorded_at_ms();
        d.oldestQueuedAtMs = now;
      }
      ++d.count;
      d.bytes += int64_t(sealed.size()) + kRowOverheadBytes;
    }
    int64_t over = outboxBytes() - opts_.capBytes;
    if (over > 0) dropped = thinAvl(over);
    std::map<std::string, std::string> updates{{"next_seq", std::to_string(nextSeq_)}};
    if (dropped > 0) updates["dropped_avl"] = std::to_string(stateInt("dropped_avl") + dropped);
    writeState(updates);
    tx.commit();
    for (const auto& [k, v] : updates) state_[k] = v;
  } catch (const sql::SqliteError& e) {
    recountLanes();
    nextSeq_ = std::max<uint64_t>(nextSeq_, uint64_t(stateInt("next_seq", 1)));
    return storeError(StoreErrorCode::Failed, std::string("store: AVL batch not committed: ") + e.what());
  }
  if (dropped > 0) recountLanes();
  return dropped;
}

// Frees at least bytesToFree from the AVL lane, oldest first. First pass keeps
// one point per 30 s of the oldest history (the trail stays usable, only
// denser detail goes); if that is not enough, the oldest points go outright.
// Runs inside the caller's transaction.
int64_t Store::thinAvl(int64_t bytesToFree) {
  constexpr int64_t kKeepEveryMs = 30'000;
  int64_t freed = 0, dropped = 0;
  auto del = db_->prepare("DELETE FROM outbox WHERE seq=?");
  {
    auto st = db_->prepare(
        "SELECT seq, recorded_at_ms, LENGTH(payload) FROM outbox WHERE lane=4 ORDER BY seq LIMIT 100000");
    int64_t lastKept = INT64_MIN;
    std::vector<std::pair<uint64_t, int64_t>> victims;
    while (st.step() && freed < bytesToFree) {
      int64_t at = st.i64(1);
      if (lastKept == INT64_MIN || at - lastKept >= kKeepEveryMs) {
        lastKept = at;
        continue;
      }
      victims.emplace_back(uint64_t(st.i64(0)), st.i64(2) + kRowOverheadBytes);
      freed += st.i64(2) + kRowOverheadBytes;
    }
    for (auto [seq, bytes] : victims) {
      del.bind(1, seq).run();
      del.reset();
      ++dropped;
    }
  }
  if (freed < bytesToFree) {
    auto st = db_->prepare("SELECT seq, LENGTH(payload) FROM outbox WHERE lane=4 ORDER BY seq LIMIT 100000");
    std::vector<uint64_t> victims;
    while (st.step() && freed < bytesToFree) {
      victims.push_back(uint64_t(st.i64(0)));
      freed += st.i64(1) + kRowOverheadBytes;
    }
    for (auto seq : victims) {
      del.bind(1, seq).run();
      del.reset();
      ++dropped;
    }
  }
  if (dropped > 0)
    log::warn("store", "store cap " + std::to_string(opts_.capBytes) + " bytes reached: thinned " +
                           std::to_string(dropped) + " oldest AVL points (" + std::to_string(freed) + " bytes)");
  return dropped;
}

std::vector<OutboxRow> Store::pending(v1::Lane lane, uint64_t afterSeq, int limit) {
  std::vector<OutboxRow> rows;
  auto st = db_->prepare(
      "SELECT seq, event_id, recorded_at_ms, payload FROM outbox WHERE lane=? AND seq>? AND held_until_ms=0 "
      "ORDER BY seq LIMIT ?");
  st.bind(1, int(lane)).bind(2, afterSeq).bind(3, limit);
  while (st.step()) {
    uint64_t seq = uint64_t(st.i64(0));
    std::string id = st.text(1);
    auto plain = openOutbox(seq, int(lane), id, st.blob(3));
    if (plain) rows.push_back(OutboxRow{seq, lane, std::move(id), st.i64(2), std::move(*plain)});
  }
  return rows;
}

Result<AckOutcome> Store::applyCommitAck(const v1::CommitAck& ack) {
  AckOutcome out;
  int64_t now = clock_.nowMs();
  std::array<LaneDepthInfo, 4> removed{};
  // Deleting acknowledged events need not wait for the disk: if power fails
  // before the WAL reaches it, the events come back and are sent again, and
  // the backend acknowledges a duplicate without storing it twice. Saving the
  // fsync here keeps acks from throttling the drain.
  // If FULL cannot be restored, nothing more is queued until it is (see
  // requireDurable): a "queued" answer must mean the event is on the disk.
  struct Relaxed {
    Store& store;
    explicit Relaxed(Store& s) : store(s) { store.db_->exec("PRAGMA synchronous=NORMAL"); }
    ~Relaxed() {
      try {
        store.db_->exec("PRAGMA synchronous=FULL");
      } catch (const std::exception& e) {
        store.durabilityError_ = e.what();
        log::error("store", std::string("synchronous=FULL not restored after a commit ack: ") + e.what() +
                                "; no event is queued until it is");
      }
    }
  } relaxed(*this);
  try {
    sql::Transaction tx(*db_);
    auto del = db_->prepare("DELETE FROM outbox WHERE seq BETWEEN ? AND ? RETURNING lane, LENGTH(payload)");
    auto mark = db_->prepare(
        "UPDATE actions SET delivery=?, delivered_at_ms=? WHERE seq BETWEEN ? AND ? AND delivery IN (?, ?) "
        "RETURNING seq");
    for (const auto& r : ack.committed()) {
      del.bind(1, r.first()).bind(2, r.last());
      while (del.step()) {
        int lane = int(del.i64(0));
        if (lane < 1 || lane > 4) continue;
        ++removed[size_t(lane - 1)].count;
        removed[size_t(lane - 1)].bytes += del.i64(1) + kRowOverheadBytes;
        ++out.removed;
      }
      del.reset();
      mark.bind(1, int(v1::DELIVERY_DELIVERED)).bind(2, now).bind(3, r.first()).bind(4, r.last())
          .bind(5, int(v1::DELIVERY_QUEUED)).bind(6, int(v1::DELIVERY_HELD));
      while (mark.step()) out.actions.push_back(uint64_t(mark.i64(0)));
      mark.reset();
    }
    tx.commit();
  } catch (const sql::SqliteError& e) {
    return storeError(StoreErrorCode::Failed, std::string("store: commit ack not applied: ") + e.what());
  }
  for (size_t i = 0; i < lanes_.size(); ++i) {
    if (removed[i].count == 0) continue;
    lanes_[i].count -= removed[i].count;
    lanes_[i].bytes -= removed[i].bytes;
    refreshOldest(kLanes[i]);
  }
  return out;
}

// The oldest event of a lane is its first in FIFO order: an index lookup, not a scan.
void Store::refreshOldest(v1::Lane lane) {
  auto& d = lanes_[size_t(laneIndex(lane))];
  if (d.count <= 0) {
    d = LaneDepthInfo{};
    return;
  }
  auto st = db_->prepare("SELECT recorded_at_ms, queued_at_ms FROM outbox WHERE lane=? ORDER BY seq LIMIT 1");
  st.bind(1, int(lane));
  if (st.step()) {
    d.oldestRecordedAtMs = st.i64(0);
    d.oldestQueuedAtMs = st.i64(1);
  }
}

bool Store::isFixable(v1::RejectReason reason) {
  return reason == v1::REJECT_REASON_UNKNOWN_DEVICE || reason == v1::REJECT_REASON_NOT_PERMITTED;
}

int Store::releaseHeld(bool all) {
  try {
    sql::Transaction tx(*db_);
    auto st = db_->prepare(
        "UPDATE outbox SET held_until_ms=0 WHERE held_until_ms>0 AND (? OR held_until_ms<=?) RETURNING seq");
    st.bind(1, all ? 1 : 0).bind(2, clock_.nowMs());
    std::vector<int64_t> seqs;
    while (st.step()) seqs.push_back(st.i64(0));
    auto mark = db_->prepare("UPDATE actions SET delivery=?, detail='' WHERE seq=? AND delivery=?");
    for (int64_t s : seqs) {
      mark.bind(1, int(v1::DELIVERY_QUEUED)).bind(2, s).bind(3, int(v1::DELIVERY_HELD)).run();
      mark.reset();
    }
    tx.commit();
    return int(seqs.size());
  } catch (const sql::SqliteError& e) {
    log::error("store", std::string("held events not released: ") + e.what());
    return 0;
  }
}

int64_t Store::heldCount() const {
  return db_->queryInt("SELECT COUNT(*) FROM outbox WHERE held_until_ms>0");
}

Result<std::optional<uint64_t>> Store::applyRejection(const v1::Rejection& rej, bool* heldOut) {
  std::optional<uint64_t> seq;
  if (heldOut) *heldOut = false;
  try {
    sql::Transaction tx(*db_);
    if (!rej.event_id().empty()) {
      auto st = db_->prepare("SELECT seq FROM outbox WHERE event_id=?");
      st.bind(1, rej.event_id());
      if (st.step()) seq = uint64_t(st.i64(0));
    }
    // By seq only when the id could not be read: a refusal naming an id the
    // outbox does not hold (an AVL batch's, or an event already gone) names
    // no event here, even if its seq is one's.
    if (!seq && rej.event_id().empty() && rej.seq() > 0) seq = rej.seq();
    if (seq && isFixable(rej.reason())) {
      // Not the event's fault: hold it, and send it again later (5 s, doubling to 5 min) or when
      // the registry changes (releaseHeld). It stays in the outbox: nothing is lost.
      auto st = db_->prepare("SELECT held_count FROM outbox WHERE seq=?");
      st.bind(1, *seq);
      if (st.step()) {
        const int64_t count = st.i64(0);
        const int64_t waitMs = std::min<int64_t>(5000LL << std::min<int64_t>(count, 6), 300'000);
        db_->prepare("UPDATE outbox SET held_until_ms=?, held_count=held_count+1 WHERE seq=?")
            .bind(1, clock_.nowMs() + waitMs).bind(2, *seq).run();
        const std::string why = rej.detail().empty() ? v1::RejectReason_Name(rej.reason()) : rej.detail();
        db_->prepare("UPDATE actions SET delivery=?, detail=? WHERE seq=?")
            .bind(1, int(v1::DELIVERY_HELD))
            .bind(2, "held: " + why + " (sent again in " + std::to_string(waitMs / 1000) + " s, or when the registry changes)")
            .bind(3, *seq).run();
        if (heldOut) *heldOut = true;
      }
      tx.commit();
      return seq;
    }
    if (seq) {
      db_->prepare("DELETE FROM outbox WHERE seq=?").bind(1, *seq).run();
      std::string detail = rej.detail().empty() ? v1::RejectReason_Name(rej.reason()) : rej.detail();
      db_->prepare("UPDATE actions SET delivery=?, delivered_at_ms=?, detail=? WHERE seq=?")
          .bind(1, int(v1::DELIVERY_REJECTED)).bind(2, clock_.nowMs()).bind(3, detail).bind(4, *seq).run();
      db_->prepare("INSERT INTO state(key, value) VALUES('rejected_events', ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value")
          .bind(1, std::to_string(stateInt("rejected_events") + 1)).run();
    }
    tx.commit();
  } catch (const sql::SqliteError& e) {
    return storeError(StoreErrorCode::Failed, std::string("store: rejection not applied: ") + e.what());
  }
  if (seq) {
    state_["rejected_events"] = std::to_string(stateInt("rejected_events") + 1);
    recountLanes();
  }
  return seq;
}

namespace {
constexpr const char* kActionColumns =
    "SELECT seq, event_id, kind, summary, delivery, queued_at_ms, delivered_at_ms, detail FROM actions ";

v1::ActionRecord actionFromRow(const sql::Stmt& st) {
  v1::ActionRecord a;
  a.set_seq(uint64_t(st.i64(0)));
  a.set_event_id(st.text(1));
  a.set_kind(st.text(2));
  a.set_summary(st.text(3));
  a.set_delivery(v1::Delivery(st.i64(4)));
  a.set_queued_at_ms(st.i64(5));
  a.set_delivered_at_ms(st.i64(6));
  a.set_detail(st.text(7));
  return a;
}
}  // namespace

std::vector<v1::ActionRecord> Store::recentActions(int limit) {
  std::vector<v1::ActionRecord> out;
  auto st = db_->prepare(std::string(kActionColumns) + "ORDER BY seq DESC LIMIT ?");
  st.bind(1, limit);
  while (st.step()) out.push_back(actionFromRow(st));
  return out;
}

std::optional<v1::ActionRecord> Store::action(uint64_t seq) {
  auto st = db_->prepare(std::string(kActionColumns) + "WHERE seq=?");
  st.bind(1, seq);
  if (!st.step()) return std::nullopt;
  return actionFromRow(st);
}

std::optional<uint64_t> Store::actionSeqForEvent(const std::string& eventId) {
  auto st = db_->prepare("SELECT seq FROM actions WHERE event_id=?");
  st.bind(1, eventId);
  if (!st.step()) return std::nullopt;
  return uint64_t(st.i64(0));
}

Status Store::setActionDetail(uint64_t seq, const std::string& detail) {
  try {
    db_->prepare("UPDATE actions SET detail=? WHERE seq=?").bind(1, detail).bind(2, seq).run();
  } catch (const sql::SqliteError& e) {
    return storeError(StoreErrorCode::Failed, std::string("store: ") + e.what());
  }
  return {};
}

void Store::pruneActions() {
  // Keep the screen's history bounded; outbox rows are never pruned here.
  if (nextSeq_ % 64 != 0) return;
  try {
    db_->prepare("DELETE FROM actions WHERE seq < (SELECT MIN(seq) FROM (SELECT seq FROM actions ORDER BY seq DESC LIMIT ?)) "
                 "AND seq NOT IN (SELECT seq FROM outbox)")
        .bind(1, opts_.actionHistory).run();
  } catch (const sql::SqliteError& e) {
    log::warn("store", std::string("could not prune the action history: ") + e.what());
  }
}

std::string Store::state(const std::string& key, const std::string& fallback) const {
  auto it = state_.find(key);
  return it == state_.end() ? fallback : it->second;
}

int64_t Store::stateInt(const std::string& key, int64_t fallback) const {
  auto it = state_.find(key);
  if (it == state_.end()) return fallback;
  try {
    return std::stoll(it->second);
  } catch (...) {
    return fallback;
  }
}

void Store::writeState(const std::map<std::string, std::string>& updates) {
  auto upsert = db_->prepare("INSERT INTO state(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
  for (const auto& [k, v] : updates) {
    upsert.bind(1, k).bind(2, v).run();
    upsert.reset();
  }
}

Status Store::setState(const std::map<std::string, std::string>& updates) {
  try {
    sql::Transaction tx(*db_);
    writeState(updates);
    tx.commit();
  } catch (const sql::SqliteError& e) {
    return storeError(StoreErrorCode::Failed, std::string("store: ") + e.what());
  }
  for (const auto& [k, v] : updates) state_[k] = v;
  return {};
}

Store::CheckReport Store::check() {
  CheckReport r;
  auto fail = [&](const std::string& line) {
    r.ok = false;
    r.lines.push_back("FAIL " + line);
  };
  try {
    std::string integrity = db_->queryText("PRAGMA integrity_check");
    if (integrity == "ok") r.lines.push_back("ok   integrity_check");
    else fail("integrity_check: " + integrity);
    int64_t version = db_->queryInt("PRAGMA user_version");
    if (version == kSchemaVersion) r.lines.push_back("ok   schema version " + std::to_string(version));
    else fail("schema version " + std::to_string(version) + ", expected " + std::to_string(kSchemaVersion));
    int64_t badLanes = db_->queryInt("SELECT COUNT(*) FROM outbox WHERE lane NOT BETWEEN 1 AND 4");
    if (badLanes) fail(std::to_string(badLanes) + " outbox rows in an unknown lane");
    int64_t maxSeq = db_->queryInt("SELECT COALESCE(MAX(seq),0) FROM outbox");
    if (maxSeq >= int64_t(nextSeq_))
      fail("outbox holds seq " + std::to_string(maxSeq) + " but the next seq is " + std::to_string(nextSeq_));
    else
      r.lines.push_back("ok   sequence: next seq " + std::to_string(nextSeq_));
    // Every outbox payload must decode, and carry the seq and event id of its row.
    auto st = db_->prepare("SELECT seq, lane, event_id, payload FROM outbox ORDER BY seq");
    int64_t undecodable = 0, mismatched = 0, tamperedRows = 0;
    while (st.step()) {
      auto plain = openOutbox(uint64_t(st.i64(0)), int(st.i64(1)), st.text(2), st.blob(3));
      if (!plain) {
        if (++tamperedRows <= 10)
          fail("outbox seq " + std::to_string(st.i64(0)) + ": stored payload fails authentication (tampered)");
        continue;
      }
      auto env = codec::decodeEnvelope(*plain);
      if (!env) {
        if (++undecodable <= 3) fail("outbox seq " + std::to_string(st.i64(0)) + ": " + env.error().message);
        continue;
      }
      if (env->seq() != uint64_t(st.i64(0)) || env->event_id() != st.text(2)) ++mismatched;
      bool avl = env->has_avl();
      if (avl != (st.i64(1) == 4)) ++mismatched;
    }
    if (mismatched) fail(std::to_string(mismatched) + " outbox rows whose payload disagrees with its row (seq, id or lane)");
    if (tamperedRows > 10) fail(std::to_string(tamperedRows) + " outbox payloads fail authentication in all");
    if (!undecodable && !mismatched && !tamperedRows)
      r.lines.push_back("ok   every outbox payload decodes and matches its row");
    int64_t tamperedInbox = 0;
    auto in = db_->prepare("SELECT unit_id, seq, kind, payload FROM inbox ORDER BY unit_id, seq");
    while (in.step()) {
      if (cipher_.open(in.blob(3), inboxAad(in.text(0), uint64_t(in.i64(1)), in.text(2)))) continue;
      if (++tamperedInbox <= 10)
        fail("inbox " + in.text(0) + " seq " + std::to_string(in.i64(1)) +
             ": stored payload fails authentication (tampered)");
    }
    auto sent = db_->prepare("SELECT unit_id, seq, payload FROM sent_messages ORDER BY seq");
    while (sent.step()) {
      if (cipher_.open(sent.blob(2), sentAad(sent.text(0), uint64_t(sent.i64(1))))) continue;
      if (++tamperedInbox <= 10)
        fail("sent message seq " + std::to_string(sent.i64(1)) + ": stored text fails authentication (tampered)");
    }
    if (!tamperedInbox) r.lines.push_back("ok   every inbox payload and sent message authenticates");
    int64_t orphanActions = db_->queryInt(
        "SELECT COUNT(*) FROM outbox o WHERE o.lane != 4 AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.seq=o.seq)");
    if (orphanActions) fail(std::to_string(orphanActions) + " queued non-AVL events without an action record");
  } catch (const sql::SqliteError& e) {
    fail(std::string("store unreadable: ") + e.what());
  }
  recountLanes();
  for (auto lane : kLanes) {
    const auto& d = laneDepth(lane);
    r.lines.push_back("     lane " + std::string(laneName(lane)) + ": " + std::to_string(d.count) + " events, " +
                      std::to_string(d.bytes) + " bytes");
  }
  r.lines.push_back("     outbox " + std::to_string(outboxBytes()) + " of " + std::to_string(opts_.capBytes) +
                    " bytes; dropped AVL " + std::to_string(stateInt("dropped_avl")) + "; rejected " +
                    std::to_string(stateInt("rejected_events")));
  return r;
}

}  // namespace mdc::agent
