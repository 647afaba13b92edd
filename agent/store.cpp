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
      if (Status st = s->setState({{StateKey(StateKind::NextSeq), std::to_string(s->nextSeq_)}}); !st) return st.error();
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
  uint64_t stored = uint64_t(stateInt(StateKey(StateKind::NextSeq), 1));
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

std::string Store::state(const StateKey& key, const std::string& fallback) const {
  auto it = state_.find(key.str());
  return it == state_.end() ? fallback : it->second;
}

int64_t Store::stateInt(const StateKey& key, int64_t fallback) const {
  auto it = state_.find(key.str());
  if (it == state_.end()) return fallback;
  try {
    return std::stoll(it->second);
  } catch (...) {
    return fallback;
  }
}

void Store::writeState(const StateUpdates& updates) {
  auto upsert = db_->prepare("INSERT INTO state(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
  for (const auto& [k, v] : updates) {
    upsert.bind(1, k.str()).bind(2, v).run();
    upsert.reset();
  }
}

Status Store::setState(const StateUpdates& updates) {
  try {
    sql::Transaction tx(*db_);
    writeState(updates);
    tx.commit();
  } catch (const sql::SqliteError& e) {
    return storeError(StoreErrorCode::Failed, std::string("store: ") + e.what());
  }
  for (const auto& [k, v] : updates) state_[k.str()] = v;
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
                    " bytes; dropped AVL " + std::to_string(stateInt(StateKey(StateKind::DroppedAvl))) + "; rejected " +
                    std::to_string(stateInt(StateKey(StateKind::RejectedEvents))));
  return r;
}

}  // namespace mdc::agent
