#include "server-stub/store/event_store.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/evp.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>

#include "server-stub/store/event_row.h"
#include "shared/wire/codec.h"
#include "server-stub/store/postgres.h"
#include "shared/infra/sqlite.h"
#include "shared/infra/log.h"
#include "shared/wire/topics.h"
#include "shared/wire/uuid.h"

namespace cad {

namespace v1 = mdc::v1;
namespace sql = mdc::sql;
namespace codec = mdc::codec;

namespace {

int yearOf(int64_t ms) {
  time_t t = time_t(ms / 1000);
  tm g{};
  gmtime_r(&t, &g);
  return g.tm_year + 1900;
}

}  // namespace

std::string sha256(const std::string& data) {
  // Fetched once: EVP_sha256() makes EVP_Digest look the algorithm up again
  // on every call, a third of the hash's cost for an event.
  static const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> kSha256(EVP_MD_fetch(nullptr, "SHA256", nullptr),
                                                                      &EVP_MD_free);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, kSha256 ? kSha256.get() : EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), n);
}

std::string toHex(const std::string& bytes) {
  static const char* h = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += h[c >> 4];
    out += h[c & 15];
  }
  return out;
}

std::string sideFileBase(const std::string& target) {
  if (!sql::isPostgresUri(target)) return target;
  std::string safe;
  for (char c : sql::databaseOf(target)) safe += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ? c : '_';
  return "cad-" + (safe.empty() ? std::string("postgres") : safe);
}

Result<std::unique_ptr<EventStore>> EventStore::open(const std::string& target, bool readOnly) {
  try {
    std::unique_ptr<sql::Db> db;
    if (sql::isPostgresUri(target)) {
      db = std::make_unique<sql::PgDb>(target);
      if (readOnly) db->exec("SET default_transaction_read_only = on");
    } else {
      db = openSqlite(target, readOnly);
    }
    const std::string path = db->path();
    std::unique_ptr<EventStore> s(new EventStore(std::move(db)));
    int64_t v = s->schemaVersion();
    if (v == 0 && !readOnly) s->createSchema();
    else if (v >= 2 && v < kSchemaVersion && !readOnly) s->migrate(v);
    else if (v == 0)
      return Error::make("store: \"" + path + "\" holds no event store");
    else if (v != kSchemaVersion)
      return Error::make("store: \"" + path + "\": schema version " + std::to_string(v) + ", this build reads " +
                         std::to_string(kSchemaVersion));
    return s;
  } catch (const sql::DbError& e) {
    const std::string shown = sql::redactUri(target), what = e.what();
    if (what.find(shown) != std::string::npos) return Error::make("store: " + what);
    return Error::make("store: \"" + shown + "\": " + what);
  }
}

std::unique_ptr<sql::Db> EventStore::openSqlite(const std::string& path, bool readOnly) {
  if (readOnly && !std::filesystem::exists(path))
    throw sql::DbError(sql::Fault::other, 0, "", "\"" + path + "\" does not exist");
  auto db = std::make_unique<sql::SqliteDb>(path, !readOnly, readOnly);
  if (!readOnly) {
    db->exec("PRAGMA journal_mode=WAL");
    db->exec("PRAGMA synchronous=FULL");
    // Ingest touches the events indexes and every unit's row all the time:
    // keep them in SQLite's own cache (64 MiB) instead of re-reading pages
    // from the OS, and checkpoint the WAL in larger steps (~32 MiB) where
    // nothing runs them in the background (startBackgroundCheckpoints).
    db->exec("PRAGMA cache_size=-65536");
    db->exec("PRAGMA wal_autocheckpoint=8192");
    db->exec("PRAGMA temp_store=MEMORY");  // per-event savepoints' journals
  }
  return db;
}


EventStore::CachedStmt EventStore::cached(const char* sql) {
  auto it = cache_.find(std::string_view(sql));
  if (it == cache_.end())
    it = cache_.emplace(sql, CacheEntry{std::make_unique<sql::Stmt>(db_->prepare(sql)), false}).first;
  if (it->second.busy) return CachedStmt(nullptr, nullptr, std::make_unique<sql::Stmt>(db_->prepare(sql)));
  it->second.busy = true;
  return CachedStmt(it->second.stmt.get(), &it->second.busy, nullptr);
}

void EventStore::insertEvent(const Row& row) {
  auto st = cached(
      "INSERT INTO events(pos, event_id, device_id, device_seq, unit_id, agency, kind, recorded_at_ms, clock_source, "
      "received_at_ms, actor, payload, prev_hash, hash, chain) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  st->bind(1, row.pos).bind(2, row.eventId);
  if (row.deviceId.empty()) st->bindNull(3);
  else st->bind(3, row.deviceId);
  if (row.deviceSeq) st->bind(4, *row.deviceSeq);
  else st->bindNull(4);
  st->bind(5, row.unitId).bind(6, row.agency).bind(7, row.kind).bind(8, row.recordedAtMs).bind(9, row.clockSource)
      .bind(10, row.receivedAtMs).bind(11, row.actor).bindBlob(12, row.payload).bindBlob(13, row.prevHash)
      .bindBlob(14, row.hash).bind(15, row.chain);
  st->run();
}

std::string EventStore::nextIncidentNumber(int64_t atMs) {
  requireLock(kIncidentCounterLock);
  int year = yearOf(atMs);
  auto st = cached(
      "INSERT INTO incident_counters(year, last) VALUES(?,1) "
      "ON CONFLICT(year) DO UPDATE SET last=incident_counters.last+1 RETURNING last");
  st->bind(1, year);
  st->step();
  int64_t n = st->i64(0);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%06lld", year, static_cast<long long>(n));
  return buf;
}

uint64_t EventStore::queueDownlink(const std::string& unitId, v1::Downlink& dl, int64_t pos, int64_t atMs,
                                   std::vector<Outgoing>& out) {
  auto next = cached("SELECT COALESCE(MAX(seq),0)+1 FROM downlinks WHERE unit_id=?");
  next->bind(1, unitId);
  next->step();
  uint64_t seq = uint64_t(next->i64(0));
  dl.set_version(codec::kProtocolVersion);
  dl.set_unit_id(unitId);
  dl.set_seq(seq);
  dl.set_sent_at_ms(atMs);
  std::string bytes;
  dl.SerializeToString(&bytes);
  cached("INSERT INTO downlinks(unit_id, seq, kind, event_pos, payload) VALUES(?,?,?,?,?)")
      ->bind(1, unitId).bind(2, seq).bind(3, codec::bodyName(dl)).bind(4, pos).bindBlob(5, bytes).run();
  auto dev = deviceOfUnit(unitId);
  if (dev && !dev->empty()) out.push_back(Outgoing{*dev, dl});
  return seq;
}

std::optional<v1::Downlink> EventStore::agencyConfiguration(const std::string& agency) {
  auto st = cached("SELECT statuses, avl_moving_s, avl_stationary_s FROM agency_config WHERE agency=?");
  st->bind(1, agency);
  const bool configured = st->step();
  auto types = agencyCfsTypes(agency);
  if (!configured && types.empty()) return std::nullopt;
  v1::Downlink dl;
  auto* c = dl.mutable_configuration();
  if (configured) {
    for (const auto& name : QString::fromStdString(st->text(0)).split(',', Qt::SkipEmptyParts))
      if (auto status = codec::statusFromName(name.toStdString())) c->add_statuses(*status);
    c->set_avl_moving_interval_s(uint32_t(st->i64(1)));
    c->set_avl_stationary_interval_s(uint32_t(st->i64(2)));
  }
  for (const auto& t : types) {
    auto* o = c->add_cfs_types();
    o->set_code(t.code);
    o->set_label(t.label);
    o->set_apco_code(t.apcoCode);
  }
  return dl;
}

void EventStore::sendAgencyConfiguration(const Row& row, std::vector<Outgoing>& out) {
  std::vector<std::string> units;
  {
    auto us = cached("SELECT unit_id FROM units WHERE agency=? ORDER BY unit_id");
    us->bind(1, row.agency);
    while (us->step()) units.push_back(us->text(0));
  }
  // Nothing configured any more (the last agency type removed): an empty one,
  // so that devices go back to their own defaults.
  v1::Downlink config = agencyConfiguration(row.agency).value_or(v1::Downlink{});
  if (!config.has_configuration()) config.mutable_configuration();
  for (const auto& u : units) {
    v1::Downlink dl = config;  // queueDownlink addresses and numbers its copy
    queueDownlink(u, dl, row.pos, row.receivedAtMs, out);
  }
}

std::optional<std::string> EventStore::deviceOfUnit(const std::string& unitId) {
  auto st = cached("SELECT device_id FROM units WHERE unit_id=?");
  st->bind(1, unitId);
  if (!st->step()) return std::nullopt;
  return st->text(0);
}

std::optional<std::string> EventStore::unitOfDevice(const std::string& deviceId) {
  auto st = cached("SELECT unit_id FROM devices WHERE device_id=?");
  st->bind(1, deviceId);
  if (!st->step()) return std::nullopt;
  return st->text(0);
}

// ------------------------------------------------------------------ commands

std::vector<v1::Downlink> EventStore::downlinksAfter(const std::string& unitId, uint64_t afterSeq, int limit) {
  std::vector<v1::Downlink> out;
  auto st = cached("SELECT payload FROM downlinks WHERE unit_id=? AND seq>? ORDER BY seq LIMIT ?");
  st->bind(1, unitId).bind(2, afterSeq).bind(3, limit);
  while (st->step()) {
    v1::Downlink dl;
    if (dl.ParseFromString(st->blob(0))) out.push_back(std::move(dl));
  }
  return out;
}

std::optional<std::string> EventStore::unitServedAt(const std::string& deviceId, int64_t atMs) {
  auto it = served_.find(deviceId);
  if (it == served_.end()) {
    std::vector<Served> spells;
    auto st = cached("SELECT at_ms, pos, unit_id FROM device_units WHERE device_id=? ORDER BY at_ms, pos");
    st->bind(1, deviceId);
    while (st->step()) spells.push_back(Served{st->i64(0), st->i64(1), st->text(2)});
    it = served_.emplace(deviceId, std::move(spells)).first;
  }
  const auto& spells = it->second;  // by (at_ms, pos)
  if (spells.empty()) return std::nullopt;
  // The latest registration at or before the moment; before the first, the first.
  const Served* pick = &spells.front();
  for (const auto& s : spells)
    if (s.atMs <= atMs) pick = &s;
  return pick->unitId;
}

uint64_t EventStore::downlinkHead(const std::string& unitId) {
  auto st = cached("SELECT COALESCE(MAX(seq), 0) FROM downlinks WHERE unit_id=?");
  st->bind(1, unitId);
  st->step();
  return uint64_t(st->i64(0));
}

std::vector<DownlinkLag> EventStore::laggingDevices() {
  std::vector<DownlinkLag> out;
  auto st = cached(
      "SELECT c.device_id, c.unit_id, c.after_seq, h.head FROM downlink_cursors c "
      "JOIN units u ON u.unit_id=c.unit_id AND u.device_id=c.device_id AND u.online=1 "
      "JOIN (SELECT unit_id, MAX(seq) AS head FROM downlinks GROUP BY unit_id) h ON h.unit_id=c.unit_id "
      "WHERE h.head > c.after_seq ORDER BY c.device_id");
  while (st->step())
    out.push_back(DownlinkLag{st->text(0), st->text(1), uint64_t(st->i64(2)), uint64_t(st->i64(3))});
  return out;
}

std::optional<int64_t> EventStore::oldestUnconfirmedDownlinkMs() {
  // Per device, the first downlink above the cursor it last reported is its
  // oldest unconfirmed one; its event says when it was made.
  auto st = cached(
      "SELECT MIN(e.received_at_ms) FROM devices dv "
      "JOIN units u ON u.unit_id=dv.unit_id AND u.device_id=dv.device_id "
      "LEFT JOIN downlink_cursors c ON c.device_id=dv.device_id AND c.unit_id=dv.unit_id "
      "JOIN downlinks d ON d.unit_id=dv.unit_id AND d.seq=COALESCE(c.after_seq, 0)+1 "
      "JOIN events e ON e.pos=d.event_pos");
  if (!st->step() || st->isNull(0)) return std::nullopt;
  return st->i64(0);
}

// ------------------------------------------------------------------ audit

std::optional<std::string> EventStore::walkLog(sql::Db& db, int64_t upTo, int page,
                                               const std::function<void(const Row&)>& each,
                                               const std::function<void(int64_t)>& pageDone) {
  // In pages by position: a PostgreSQL result is held whole in memory.
  // Each event links to the one before it in its chain (its agency's).
  // Positions may have gaps: on PostgreSQL a writer that rolls back leaves
  // the positions it drew unused.
  auto st = db.prepare(std::string(Row::kSelect) + "WHERE pos > ?1 AND pos <= ?2 ORDER BY pos LIMIT ?3");
  std::map<std::string, std::string> heads;
  int64_t after = 0;
  for (bool more = true; more;) {
    st.reset();
    st.bind(1, after).bind(2, upTo).bind(3, page);
    more = false;
    while (st.step()) {
      const Row r = Row::read(st);
      auto head = heads.try_emplace(r.chain, std::string(32, '\0')).first;
      if (auto broken = r.chainBreak(head->second)) return broken;
      head->second = r.hash;
      after = r.pos;
      each(r);
      more = true;
    }
    if (more && pageDone) pageDone(after);
  }
  return std::nullopt;
}

std::optional<std::string> EventStore::verify(int64_t* checked) {
  int64_t n = 0;
  // One snapshot: what other writers commit meanwhile is not half seen.
  sql::Transaction snapshot(*db_, sql::Transaction::Kind::snapshot);
  auto broken = walkLog(*db_, INT64_MAX, 10000, [&](const Row&) { ++n; });
  if (checked) *checked = n;
  return broken;
}

std::string EventStore::digest() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  auto feed = [&](const std::string& s) { EVP_DigestUpdate(ctx, s.data(), s.size()); };
  // One snapshot: on a store other writers are appending to, every table
  // as of the same moment.
  sql::Transaction snapshot(*db_, sql::Transaction::Kind::snapshot);
  for (const auto& [table, key, columns] : readModelTables()) {
    feed(std::string("table ") + table + "\n");
    auto st = db_->prepare(std::string("SELECT ") + columns + " FROM " + table + " ORDER BY " + key);
    while (st.step()) {
      // Each value with its storage class, so 1 and '1' differ; doubles in
      // round-trip precision.
      std::string line;
      for (int c = 0; c < st.columnCount(); ++c) {
        switch (st.columnType(c)) {
          case sql::Type::null: line += "N;"; break;
          case sql::Type::integer: line += "I" + std::to_string(st.i64(c)) + ";"; break;
          case sql::Type::real: {
            char buf[40];
            std::snprintf(buf, sizeof buf, "F%.17g;", st.f64(c));
            line += buf;
            break;
          }
          case sql::Type::text: {
            std::string t = st.text(c);
            line += "T" + std::to_string(t.size()) + ":" + t + ";";
            break;
          }
          default: {
            std::string b = st.blob(c);
            line += "B" + std::to_string(b.size()) + ":" + b + ";";
          }
        }
      }
      feed(line);
      feed("\n");
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, md, &n);
  EVP_MD_CTX_free(ctx);
  return toHex(std::string(reinterpret_cast<char*>(md), n));
}

StoreStats EventStore::stats() {
  StoreStats s;
  auto st = db_->prepare(
      "SELECT (SELECT COUNT(*) FROM events), (SELECT COUNT(DISTINCT chain) FROM events), pos, hash "
      "FROM events ORDER BY pos DESC LIMIT 1");
  if (!st.step()) {
    s.lastHashHex = toHex(std::string(32, '\0'));
    return s;
  }
  s.events = st.i64(0);
  s.chains = st.i64(1);
  s.lastPos = st.i64(2);
  s.lastHashHex = toHex(st.blob(3));
  return s;
}

Status EventStore::startBackgroundCheckpoints(std::chrono::milliseconds interval) {
  auto* sqlite = dynamic_cast<sql::SqliteDb*>(db_.get());
  if (!sqlite) return {};  // PostgreSQL checkpoints by itself, off the commit path
  try {
    checkpointer_ = std::make_unique<sql::WalCheckpointer>(*sqlite, interval);
  } catch (const sql::DbError& e) {
    return Error::make(std::string("store: background checkpoints: ") + e.what());
  }
  return {};
}

Status EventStore::replayInto(const std::string& target, int64_t* replayed,
                              const std::function<void(int64_t)>& progress) {
  const bool toFile = !sql::isPostgresUri(target);
  if (toFile && std::filesystem::exists(target))
    return Error::make("replay: target \"" + target + "\" already exists; give a new file");
  int64_t n = 0;
  Status done = [&]() -> Status {
    try {
      auto opened = EventStore::open(target);
      if (!opened) return opened.error();
      EventStore& t = **opened;
      t.replaying_ = true;
      if (!toFile) {
        if (const int64_t events = t.db_->queryInt("SELECT COUNT(*) FROM events"); events > 0)
          return Error::make("replay: target \"" + t.db_->path() + "\" already holds " + std::to_string(events) +
                             " events; give an empty database");
      }
      if (db_->engine() == sql::Engine::sqlite && t.db_->engine() == sql::Engine::sqlite)
        return replayFileToFile(t, db_->queryInt("SELECT COALESCE(MAX(pos), 0) FROM events"), n, progress);
      // The log as of one moment, whatever other writers commit meanwhile.
      sql::Transaction snapshot(*db_, sql::Transaction::Kind::snapshot);
      return replayCopying(t, db_->queryInt("SELECT COALESCE(MAX(pos), 0) FROM events"), n, progress);
    } catch (const sql::DbError& e) {
      return Error::make(std::string("replay: ") + e.what());
    }
  }();
  if (!done) {
    // Half a store is no store: nothing is left behind (a PostgreSQL target
    // was written in one transaction, rolled back).
    if (toFile)
      for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(target + suffix);
    return done;
  }
  if (replayed) *replayed = n;
  return {};
}

Status EventStore::replayFileToFile(EventStore& t, int64_t head, int64_t& n,
                                    const std::function<void(int64_t)>& progress) {
  // A rebuild: nothing in it counts until it is finished (a failed one is
  // removed), so no journal and no fsync until then.
  t.db_->queryText("PRAGMA journal_mode=OFF");
  t.db_->exec("PRAGMA synchronous=OFF");
  // Two passes instead of one event at a time (which cost 5.5 times a raw
  // copy): the log is copied as it is, up to the head seen now, in one
  // statement; then each event is checked against the chain and projected
  // in order from the copy.
  static constexpr const char* kColumns =
      "pos, event_id, device_id, device_seq, unit_id, agency, kind, recorded_at_ms, clock_source, received_at_ms, "
      "actor, payload, prev_hash, hash, chain";
  t.db_->prepare("ATTACH DATABASE ?1 AS src").bind(1, db_->path()).run();
  {
    sql::Transaction tx(*t.db_);
    t.db_
        ->prepare(std::string("INSERT INTO main.events(") + kColumns + ") SELECT " + kColumns +
                  " FROM src.events WHERE pos <= ?1 ORDER BY pos")
        .bind(1, head)
        .run();
    tx.commit();
  }
  t.db_->exec("DETACH DATABASE src");
  // The same checks as verify(): a tampered log is not replayed. One
  // transaction per page of 50,000.
  std::vector<Outgoing> discard;
  std::optional<sql::Transaction> tx(std::in_place, *t.db_);
  auto broken = walkLog(
      *t.db_, INT64_MAX, 50000,
      [&](const Row& r) {
        t.project(r, discard);
        discard.clear();
        ++n;
      },
      [&](int64_t done) {
        tx->commit();
        tx.emplace(*t.db_);
        if (progress) progress(done);
      });
  if (broken) return Error::make("replay: " + *broken + "; run cadctl verify");
  tx->commit();
  t.db_->queryText("PRAGMA journal_mode=WAL");
  t.db_->exec("PRAGMA synchronous=FULL");
  return {};
}

Status EventStore::replayCopying(EventStore& t, int64_t head, int64_t& n,
                                 const std::function<void(int64_t)>& progress) {
  // Between engines: each event read from this store in pages, checked
  // against the chain, written as it is (its position and hashes) and
  // projected, all in one transaction of the target.
  std::vector<Outgoing> discard;
  sql::Transaction tx(*t.db_);
  auto broken = walkLog(
      *db_, head, 10000,
      [&](const Row& r) {
        t.insertEvent(r);
        t.project(r, discard);
        discard.clear();
        ++n;
      },
      progress);
  if (broken) return Error::make("replay: " + *broken + "; run cadctl verify");
  t.syncSequences();
  tx.commit();
  return {};
}

}  // namespace cad
