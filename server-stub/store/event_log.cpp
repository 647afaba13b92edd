#include "server-stub/store/event_log.h"

#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>

#include "server-stub/store/event_row.h"
#include "server-stub/store/postgres.h"
#include "shared/infra/sqlite.h"

namespace cad {

namespace sql = mdc::sql;

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

Result<std::unique_ptr<EventLog>> EventLog::open(const std::string& target, bool readOnly) {
  try {
    std::unique_ptr<sql::Db> db;
    if (sql::isPostgresUri(target)) {
      db = std::make_unique<sql::PgDb>(target);
      if (readOnly) db->exec("SET default_transaction_read_only = on");
    } else {
      db = openSqlite(target, readOnly);
    }
    const std::string path = db->path();
    std::unique_ptr<EventLog> s(new EventLog(std::move(db)));
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

EventLog::~EventLog() = default;

std::unique_ptr<sql::Db> EventLog::openSqlite(const std::string& path, bool readOnly) {
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

EventLog::CachedStmt EventLog::cached(const char* sql) {
  auto it = cache_.find(std::string_view(sql));
  if (it == cache_.end())
    it = cache_.emplace(sql, CacheEntry{std::make_unique<sql::Stmt>(db_->prepare(sql)), false}).first;
  if (it->second.busy) return CachedStmt(nullptr, nullptr, std::make_unique<sql::Stmt>(db_->prepare(sql)));
  it->second.busy = true;
  return CachedStmt(it->second.stmt.get(), &it->second.busy, nullptr);
}

void EventLog::insertEvent(const Row& row) {
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
  st->runLater();
}

// ------------------------------------------------------------------ audit

std::optional<std::string> EventLog::walkLog(sql::Db& db, int64_t upTo, int page,
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

std::optional<std::string> EventLog::verify(int64_t* checked) {
  int64_t n = 0;
  // One snapshot: what other writers commit meanwhile is not half seen.
  sql::Transaction snapshot(*db_, sql::Transaction::Kind::snapshot);
  auto broken = walkLog(*db_, INT64_MAX, 10000, [&](const Row&) { ++n; });
  if (checked) *checked = n;
  return broken;
}

std::string EventLog::digest() {
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

StoreStats EventLog::stats() {
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

Status EventLog::startBackgroundCheckpoints(std::chrono::milliseconds interval) {
  auto* sqlite = dynamic_cast<sql::SqliteDb*>(db_.get());
  if (!sqlite) return {};  // PostgreSQL checkpoints by itself, off the commit path
  try {
    checkpointer_ = std::make_unique<sql::WalCheckpointer>(*sqlite, interval);
  } catch (const sql::DbError& e) {
    return Error::make(std::string("store: background checkpoints: ") + e.what());
  }
  return {};
}

}  // namespace cad
