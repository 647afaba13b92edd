#include "server-stub/store/event_store.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>

#include "server-stub/store/event_row.h"
#include "server-stub/store/read_models.h"
#include "shared/wire/codec.h"
#include "server-stub/store/postgres.h"

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

Result<std::unique_ptr<EventStore>> EventStore::open(const std::string& target, bool readOnly) {
  auto log = EventLog::open(target, readOnly);
  if (!log) return log.error();
  return std::unique_ptr<EventStore>(new EventStore(std::move(*log)));
}

EventStore::EventStore(std::unique_ptr<EventLog> log) : log_(std::move(log)) {
  // What it remembers of the registry is read again after another writer
  // may have changed it, or a transaction that read it was rolled back.
  log_->onStale([this] { served_.clear(); });
}

std::string EventStore::nextIncidentNumber(int64_t atMs) {
  log_->requireLock(EventLog::kIncidentCounterLock);
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
  auto dev = ReadModels(*this).deviceOfUnit(unitId);
  if (dev && !dev->empty()) out.push_back(Outgoing{*dev, dl});
  return seq;
}

std::optional<v1::Downlink> EventStore::agencyConfiguration(const std::string& agency) {
  auto st = cached("SELECT statuses, avl_moving_s, avl_stationary_s FROM agency_config WHERE agency=?");
  st->bind(1, agency);
  const bool configured = st->step();
  auto types = ReadModels(*this).agencyCfsTypes(agency);
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
      t.log_->setReplaying();
      if (!toFile) {
        if (const int64_t events = t.db().queryInt("SELECT COUNT(*) FROM events"); events > 0)
          return Error::make("replay: target \"" + t.db().path() + "\" already holds " + std::to_string(events) +
                             " events; give an empty database");
      }
      if (db().engine() == sql::Engine::sqlite && t.db().engine() == sql::Engine::sqlite)
        return replayFileToFile(t, db().queryInt("SELECT COALESCE(MAX(pos), 0) FROM events"), n, progress);
      // The log as of one moment, whatever other writers commit meanwhile.
      sql::Transaction snapshot(db(), sql::Transaction::Kind::snapshot);
      return replayCopying(t, db().queryInt("SELECT COALESCE(MAX(pos), 0) FROM events"), n, progress);
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
  t.db().queryText("PRAGMA journal_mode=OFF");
  t.db().exec("PRAGMA synchronous=OFF");
  // Two passes instead of one event at a time (which cost 5.5 times a raw
  // copy): the log is copied as it is, up to the head seen now, in one
  // statement; then each event is checked against the chain and projected
  // in order from the copy.
  static constexpr const char* kColumns =
      "pos, event_id, device_id, device_seq, unit_id, agency, kind, recorded_at_ms, clock_source, received_at_ms, "
      "actor, payload, prev_hash, hash, chain";
  t.db().prepare("ATTACH DATABASE ?1 AS src").bind(1, db().path()).run();
  {
    sql::Transaction tx(t.db());
    // The log's indexes are built after the copy, each in one sorted pass:
    // inserting every event's keys as it came (event ids in no order of
    // theirs) took half the rebuild, and more on a machine with less cache.
    std::vector<std::pair<std::string, std::string>> indexes;
    for (auto st = t.db().prepare("SELECT name, sql FROM main.sqlite_master WHERE type='index' AND "
                                  "tbl_name='events' AND sql IS NOT NULL");
         st.step();)
      indexes.emplace_back(st.text(0), st.text(1));
    for (const auto& [name, ddl] : indexes) t.db().exec("DROP INDEX main.\"" + name + "\"");
    t.db()
        .prepare(std::string("INSERT INTO main.events(") + kColumns + ") SELECT " + kColumns +
                  " FROM src.events WHERE pos <= ?1 ORDER BY pos")
        .bind(1, head)
        .run();
    for (const auto& [name, ddl] : indexes) t.db().exec(ddl);
    tx.commit();
  }
  t.db().exec("DETACH DATABASE src");
  // The same checks as verify(): a tampered log is not replayed. One
  // transaction per page of 50,000.
  std::vector<Outgoing> discard;
  std::optional<sql::Transaction> tx(std::in_place, t.db());
  auto broken = EventLog::walkLog(
      t.db(), INT64_MAX, 50000,
      [&](const Row& r) {
        t.project(r, discard);
        discard.clear();
        ++n;
      },
      [&](int64_t done) {
        tx->commit();
        tx.emplace(t.db());
        if (progress) progress(done);
      });
  if (broken) return Error::make("replay: " + *broken + "; run cadctl verify");
  tx->commit();
  t.db().queryText("PRAGMA journal_mode=WAL");
  t.db().exec("PRAGMA synchronous=FULL");
  return {};
}

Status EventStore::replayCopying(EventStore& t, int64_t head, int64_t& n,
                                 const std::function<void(int64_t)>& progress) {
  // Between engines: each event read from this store in pages, checked
  // against the chain, written as it is (its position and hashes) and
  // projected, all in one transaction of the target.
  std::vector<Outgoing> discard;
  sql::Transaction tx(t.db());
  auto broken = EventLog::walkLog(
      db(), head, 10000,
      [&](const Row& r) {
        t.log_->insertEvent(r);
        t.project(r, discard);
        discard.clear();
        ++n;
      },
      progress);
  if (broken) return Error::make("replay: " + *broken + "; run cadctl verify");
  t.log_->syncSequences();
  tx.commit();
  return {};
}

}  // namespace cad
