// The event store's schema: the log, the read models, and each change since
// version 2, applied in order to a new store and to an older one (SQLite;
// a PostgreSQL store is always created at the current version).

#include "server-stub/store/event_store.h"

namespace cad {

namespace sql = mdc::sql;

namespace {

const char* kSchema = R"sql(
-- The log. Append-only: triggers refuse UPDATE and DELETE.
CREATE TABLE events(
  pos INTEGER PRIMARY KEY,            -- global position: 1, 2, 3 ... (PostgreSQL: may have gaps)
  event_id TEXT NOT NULL,             -- UUIDv7 (device's, or the stub's for dispatcher actions); unique
  device_id TEXT,                     -- NULL for dispatcher and registry actions
  device_seq INTEGER,                 -- per-device sequence, unique per device; NULL when not sequenced (presence, dispatch)
  unit_id TEXT NOT NULL,
  agency TEXT NOT NULL,
  kind TEXT NOT NULL,                 -- status, avl, cfs, emergency, assignment_ack, message, presence, records_query, dispatch.*, registry.*, records.answer
  recorded_at_ms INTEGER NOT NULL,
  clock_source TEXT NOT NULL,         -- gps | system
  received_at_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,                -- device:ID | dispatcher:NAME | records:SYSTEM
  payload BLOB NOT NULL,              -- device events: mdc.v1.Envelope; dispatcher: canonical JSON
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL                  -- SHA-256(prev_hash || canonical event bytes)
);
-- The log's keys, as indexes of their own rather than constraints of the
-- table (an older store has them as constraints; both refuse
-- the same): a rebuild (replayFileToFile) drops them, copies the log, and
-- builds each in one sorted pass instead of inserting every event's keys.
CREATE UNIQUE INDEX events_by_event_id ON events(event_id);
CREATE UNIQUE INDEX events_by_device_seq ON events(device_id, device_seq);

-- Read models, derived from the log alone.
CREATE TABLE devices(device_id TEXT PRIMARY KEY, unit_id TEXT NOT NULL, agency TEXT NOT NULL);
CREATE TABLE units(
  unit_id TEXT PRIMARY KEY, agency TEXT NOT NULL, device_id TEXT NOT NULL DEFAULT '',
  status INTEGER NOT NULL DEFAULT 0, status_at_ms INTEGER NOT NULL DEFAULT 0,
  lat REAL, lon REAL, pos_at_ms INTEGER NOT NULL DEFAULT 0,
  online INTEGER NOT NULL DEFAULT 0, online_changed_ms INTEGER NOT NULL DEFAULT 0,
  last_seen_ms INTEGER NOT NULL DEFAULT 0,
  current_cfs TEXT NOT NULL DEFAULT '',
  emergency INTEGER NOT NULL DEFAULT 0,          -- flagged until a dispatcher acknowledges
  emergency_active INTEGER NOT NULL DEFAULT 0,   -- the device's own state
  emergency_at_ms INTEGER NOT NULL DEFAULT 0,
  emergency_ack_by TEXT NOT NULL DEFAULT '',
  dropped_avl INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE cfs(
  incident_number TEXT PRIMARY KEY, agency TEXT NOT NULL, cfs_type TEXT NOT NULL, priority INTEGER NOT NULL,
  address TEXT NOT NULL, lat REAL, lon REAL, notes TEXT NOT NULL,
  state TEXT NOT NULL,                 -- open | closed
  source TEXT NOT NULL,                -- dispatch | self
  origin_event_id TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL, dispatched_at_ms INTEGER NOT NULL DEFAULT 0,
  enroute_at_ms INTEGER NOT NULL DEFAULT 0, arrived_at_ms INTEGER NOT NULL DEFAULT 0,
  closed_at_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE cfs_units(
  incident_number TEXT NOT NULL, unit_id TEXT NOT NULL,
  assigned_at_ms INTEGER NOT NULL, ack_at_ms INTEGER NOT NULL DEFAULT 0,
  enroute_at_ms INTEGER NOT NULL DEFAULT 0, onscene_at_ms INTEGER NOT NULL DEFAULT 0,
  cleared_at_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(incident_number, unit_id)
);
-- id: insertion order (one event may add several lines); replay inserts in the same order.
CREATE TABLE cfs_timeline(id INTEGER PRIMARY KEY, incident_number TEXT NOT NULL, pos INTEGER NOT NULL,
  at_ms INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX cfs_timeline_by_incident ON cfs_timeline(incident_number, id);
CREATE TABLE messages(pos INTEGER PRIMARY KEY, agency TEXT NOT NULL, unit_id TEXT NOT NULL,
  direction TEXT NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE TABLE downlinks(unit_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, event_pos INTEGER NOT NULL,
  payload BLOB NOT NULL, PRIMARY KEY(unit_id, seq));
-- One sequence per year for all agencies: incident numbers are the CFS's key
-- (cfs.incident_number, status and acknowledgement references), so two
-- agencies must never draw the same one.
CREATE TABLE incident_counters(year INTEGER PRIMARY KEY, last INTEGER NOT NULL);

-- Refused input: not events (never in the chain), kept for the operator.
CREATE TABLE refusals(id INTEGER PRIMARY KEY, received_at_ms INTEGER NOT NULL, device_id TEXT NOT NULL,
  reason TEXT NOT NULL, detail TEXT NOT NULL);
)sql";

// Read models in digest order, each with its key order (and the columns
// digested, when not all of them).
const std::vector<ReadModel> kReadModelTables = {
    {"devices", "device_id"},
    {"units", "unit_id"},
    {"cfs", "incident_number"},
    {"cfs_units", "incident_number, unit_id"},
    // Timeline ids number lines in the order they were written (SQLite: one
    // after another; PostgreSQL: an identity, with gaps after a rollback and
    // interleaved between agencies): they order an incident's lines, and are
    // not themselves compared.
    {"cfs_timeline", "incident_number, id", "incident_number, pos, at_ms, text, late"},
    {"messages", "pos"},
    {"downlinks", "unit_id, seq"},
    {"incident_counters", "year"},
    {"agency_config", "agency"},
    {"membership_facts", "unit_id, stamp"},
    {"device_units", "device_id, pos"},
    {"records_queries", "query_id"},
    {"enrol_tokens", "token_sha256"},
    {"schedules", "schedule_id"},
    {"cfs_types", "agency, code"},
    {"cfs_foreign_units", "incident_number, name"},
    {"zones", "agency, zone"},
    {"supervisors", "unit_id"},
};

// Schema changes after version 2 (kSchema), applied in order by createSchema()
// to a new store and by migrate() to an older one.
const char* kMigrationTo3 = R"sql(
-- What each agency pushes to its units: the status buttons (names in button
-- order, comma separated; '' = the device's default set) and the AVL
-- intervals (0 = the device's own value).
CREATE TABLE agency_config(agency TEXT PRIMARY KEY, statuses TEXT NOT NULL,
  avl_moving_s INTEGER NOT NULL, avl_stationary_s INTEGER NOT NULL,
  pos INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL, updated_by TEXT NOT NULL);
)sql";

// The ordering rule (ordering.h): each field of the board remembers the stamp
// of the event it shows; a unit's calls are the fold of its membership facts.
// A store of version 3 gets stamps made of its times alone (sorting before any
// event of the same millisecond) and one fact per spell it shows; `cadctl
// replay` into a new file derives the exact ones from the log.
const char* kMigrationTo4 = R"sql(
ALTER TABLE units ADD COLUMN status_stamp TEXT NOT NULL DEFAULT '';
ALTER TABLE units ADD COLUMN pos_stamp TEXT NOT NULL DEFAULT '';
ALTER TABLE units ADD COLUMN emergency_stamp TEXT NOT NULL DEFAULT '';         -- latest activation or clear
ALTER TABLE units ADD COLUMN emergency_raised_stamp TEXT NOT NULL DEFAULT '';  -- latest activation
ALTER TABLE units ADD COLUMN emergency_acked_stamp TEXT NOT NULL DEFAULT '';   -- the activation a dispatcher acknowledged
ALTER TABLE units ADD COLUMN latest_stamp TEXT NOT NULL DEFAULT '';            -- newest event of the unit applied
ALTER TABLE units ADD COLUMN late_events INTEGER NOT NULL DEFAULT 0;           -- device events older than latest_stamp on arrival
ALTER TABLE cfs_units ADD COLUMN attach_stamp TEXT NOT NULL DEFAULT '';
ALTER TABLE cfs_units ADD COLUMN clear_stamp TEXT NOT NULL DEFAULT '';
ALTER TABLE cfs_units ADD COLUMN clear_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE cfs_timeline ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cfs ADD COLUMN closed_by TEXT NOT NULL DEFAULT '';                -- a dispatcher, or 'units' (all cleared)
CREATE INDEX cfs_units_by_unit ON cfs_units(unit_id);
-- What decides which calls a unit is on: assign (a dispatcher), self (a
-- self-initiated CFS), clear (incident '' = every call), by stamp.
-- What each device last said it holds of its unit's downlinks (its
-- ResyncRequest): the stub sends a connected device the rest until it does.
-- Operational, not a read model: not derived from the log, not in the digest.
CREATE TABLE downlink_cursors(device_id TEXT PRIMARY KEY, unit_id TEXT NOT NULL, after_seq INTEGER NOT NULL,
  at_ms INTEGER NOT NULL);
-- Which unit a device served from when (registry.device_add and _move).
CREATE TABLE device_units(device_id TEXT NOT NULL, pos INTEGER NOT NULL, at_ms INTEGER NOT NULL,
  unit_id TEXT NOT NULL, PRIMARY KEY(device_id, pos));
CREATE TABLE membership_facts(unit_id TEXT NOT NULL, stamp TEXT NOT NULL, kind TEXT NOT NULL,
  incident TEXT NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL, PRIMARY KEY(unit_id, stamp));
)sql";

// kMigrationTo4's data: rows a store of version 3 had (nothing in a new store).
const char* kMigrationTo4Data = R"sql(
INSERT INTO device_units SELECT device_id, 0, 0, unit_id FROM devices;
UPDATE units SET status_stamp = printf('%013d ', status_at_ms), pos_stamp = printf('%013d ', pos_at_ms),
  emergency_stamp = printf('%013d ', emergency_at_ms), emergency_raised_stamp = printf('%013d ', emergency_at_ms),
  emergency_acked_stamp = CASE WHEN emergency = 0 THEN printf('%013d ', emergency_at_ms) ELSE '' END;
UPDATE units SET latest_stamp = MAX(status_stamp, pos_stamp, emergency_stamp);
UPDATE cfs_units SET attach_stamp = printf('%013d ~migrated %020d', assigned_at_ms, rowid),
  clear_stamp = CASE WHEN cleared_at_ms = 0 THEN '' ELSE printf('%013d ~migrated %020d', cleared_at_ms, rowid) END;
INSERT INTO membership_facts SELECT unit_id, attach_stamp, 'assign', incident_number, '', 'migrated' FROM cfs_units;
INSERT INTO membership_facts SELECT unit_id, clear_stamp, 'clear', incident_number, 'cleared', '' FROM cfs_units
  WHERE clear_stamp <> '';
)sql";

// Records queries (CJIS audit): who ran what, from which device, in which
// CFS, and what came back; the latest officer-safety hit of each unit (the
// board shows it while the unit is on that CFS, or for an hour without one).
const char* kMigrationTo5 = R"sql(
CREATE TABLE records_queries(query_id TEXT PRIMARY KEY, pos INTEGER NOT NULL, at_ms INTEGER NOT NULL,
  agency TEXT NOT NULL, unit_id TEXT NOT NULL, device_id TEXT NOT NULL, subject TEXT NOT NULL,
  incident_number TEXT NOT NULL, reason_code TEXT NOT NULL,
  answer_pos INTEGER NOT NULL DEFAULT 0, answered_at_ms INTEGER NOT NULL DEFAULT 0,
  outcome TEXT NOT NULL DEFAULT '', hit INTEGER NOT NULL DEFAULT 0);
CREATE INDEX records_queries_by_time ON records_queries(at_ms);
ALTER TABLE units ADD COLUMN safety_flag TEXT NOT NULL DEFAULT '';
ALTER TABLE units ADD COLUMN safety_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE units ADD COLUMN safety_cfs TEXT NOT NULL DEFAULT '';
)sql";

// A device's health as its latest online presence told it (the will is
// composed at connect, so it says nothing new).
const char* kMigrationTo6 = R"sql(
ALTER TABLE devices ADD COLUMN agent_version TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN queue_depth INTEGER NOT NULL DEFAULT 0;       -- events in its outbox
ALTER TABLE devices ADD COLUMN queue_oldest_ms INTEGER NOT NULL DEFAULT 0;   -- recorded time of the oldest
ALTER TABLE devices ADD COLUMN cert_not_after_ms INTEGER NOT NULL DEFAULT 0; -- 0: none reported
ALTER TABLE devices ADD COLUMN gps_fix INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN gps_no_fix_since_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN health_at_ms INTEGER NOT NULL DEFAULT 0;      -- when it was reported (0: never)
)sql";

// Enrolment tokens by their hash, and what became of each (used for which
// certificate, wrong tokens presented for its device).
const char* kMigrationTo7 = R"sql(
CREATE TABLE enrol_tokens(token_sha256 TEXT PRIMARY KEY, device_id TEXT NOT NULL, unit_id TEXT NOT NULL,
  agency TEXT NOT NULL, pos INTEGER NOT NULL, created_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL,
  created_by TEXT NOT NULL, used_at_ms INTEGER NOT NULL DEFAULT 0, used_serial TEXT NOT NULL DEFAULT '',
  failures INTEGER NOT NULL DEFAULT 0);
CREATE INDEX enrol_tokens_by_device ON enrol_tokens(device_id);
)sql";

// Scheduled calls: what each creates, when, until when, and how far it got.
const char* kMigrationTo8 = R"sql(
CREATE TABLE schedules(schedule_id TEXT PRIMARY KEY, agency TEXT NOT NULL, cfs_type TEXT NOT NULL,
  priority INTEGER NOT NULL, address TEXT NOT NULL, lat REAL, lon REAL, notes TEXT NOT NULL,
  every_ms INTEGER NOT NULL, from_ms INTEGER NOT NULL, until_ms INTEGER NOT NULL, next_at_ms INTEGER NOT NULL,
  state TEXT NOT NULL, created_by TEXT NOT NULL, pos INTEGER NOT NULL,
  occurrences INTEGER NOT NULL DEFAULT 0, late INTEGER NOT NULL DEFAULT 0, last_incident TEXT NOT NULL DEFAULT '');
CREATE INDEX schedules_due ON schedules(state, next_at_ms);
)sql";

// Call types: each agency's own, mapped to APCO ANS 2.103 codes, and the
// APCO code of each CFS. Incidents imported from another centre's EIDO keep
// what identifies them there, and the other centre's units on them.
const char* kMigrationTo9 = R"sql(
CREATE TABLE cfs_types(agency TEXT NOT NULL, code TEXT NOT NULL, label TEXT NOT NULL, apco_code TEXT NOT NULL,
  pos INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL, updated_by TEXT NOT NULL, PRIMARY KEY(agency, code));
ALTER TABLE cfs ADD COLUMN apco_code TEXT NOT NULL DEFAULT '';      -- '' when the type is neither
ALTER TABLE cfs ADD COLUMN eido_id TEXT NOT NULL DEFAULT '';        -- imported: its $id at the owner; '' for ours
ALTER TABLE cfs ADD COLUMN owner_agency TEXT NOT NULL DEFAULT '';   -- imported: the agency that owns it
ALTER TABLE cfs ADD COLUMN owner_number TEXT NOT NULL DEFAULT '';   -- imported: its number there
ALTER TABLE cfs ADD COLUMN owner_services TEXT NOT NULL DEFAULT ''; -- imported: the owner's responder services, comma separated
ALTER TABLE cfs ADD COLUMN type_label TEXT NOT NULL DEFAULT '';     -- imported: the owner's label of its type
ALTER TABLE cfs ADD COLUMN imported_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cfs ADD COLUMN imported_by TEXT NOT NULL DEFAULT '';
CREATE TABLE cfs_foreign_units(incident_number TEXT NOT NULL, name TEXT NOT NULL, resource_type TEXT NOT NULL,
  status TEXT NOT NULL, secondary TEXT NOT NULL, internal TEXT NOT NULL, at_ms INTEGER NOT NULL,
  PRIMARY KEY(incident_number, name));
)sql";

// Zones and districts: the hierarchy a dispatch floor sees its units in, and
// the supervisors who see the board of theirs.
const char* kMigrationTo10 = R"sql(
CREATE TABLE zones(agency TEXT NOT NULL, zone TEXT NOT NULL, district TEXT NOT NULL, pos INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL, updated_by TEXT NOT NULL, PRIMARY KEY(agency, zone));
ALTER TABLE units ADD COLUMN zone TEXT NOT NULL DEFAULT '';          -- '' in no zone
CREATE TABLE supervisors(unit_id TEXT PRIMARY KEY, agency TEXT NOT NULL,
  kind TEXT NOT NULL,                  -- zones | district
  scope TEXT NOT NULL,                 -- the zones, comma separated, or the district
  pos INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL, updated_by TEXT NOT NULL);
)sql";

// The foreign units of an imported incident in the order of its document,
// which SQLite's rowid gave and PostgreSQL has no equivalent of.
const char* kMigrationTo11 = R"sql(
ALTER TABLE cfs_foreign_units ADD COLUMN ord INTEGER NOT NULL DEFAULT 0;
)sql";
const char* kMigrationTo11Data = "UPDATE cfs_foreign_units SET ord = rowid;";

// Several writers (server-stub/write_tx.cpp): each agency's events form a
// hash chain of their own, so writers of different agencies never wait for
// one head. An event's chain is its agency; the events of a store older
// than schema 12 stay one chain, ''. tx: on PostgreSQL, the transaction
// that wrote the event, which readers of the log follow (readLog).
const char* kMigrationTo12 = R"sql(
ALTER TABLE events ADD COLUMN chain TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN tx INTEGER NOT NULL DEFAULT 0;
CREATE INDEX events_by_chain ON events(chain, pos);
)sql";
// PostgreSQL draws positions from a sequence (concurrent writers; one that
// rolls back leaves a gap), stamps each event with its transaction, and
// takes timeline ids from the identity column (no longer given by the
// statement).
const char* kMigrationTo12Postgres = R"sql(
CREATE SEQUENCE events_pos_seq AS BIGINT;
SELECT setval('events_pos_seq', GREATEST(COALESCE(MAX(pos), 0), 1), MAX(pos) IS NOT NULL) FROM events;
ALTER TABLE events ALTER COLUMN tx SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX events_by_tx ON events(tx, pos);
SELECT setval(pg_get_serial_sequence('cfs_timeline', 'id'), GREATEST(COALESCE(MAX(id), 0), 1), MAX(id) IS NOT NULL)
  FROM cfs_timeline;
)sql";

// The log is append-only: the engine refuses UPDATE and DELETE of an event
// (and PostgreSQL TRUNCATE), as a constraint.
const char* kAppendOnlySqlite = R"sql(
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE refused'); END;
)sql";
const char* kAppendOnlyPostgres = R"sql(
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are append-only: % refused', TG_OP USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_append_only_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
CREATE TABLE store_meta(schema_version INTEGER NOT NULL);
INSERT INTO store_meta VALUES(0);
)sql";

}  // namespace

int64_t EventLog::schemaVersion() { return db_->schemaVersion(); }

void EventLog::setSchemaVersion(int64_t version) { db_->setSchemaVersion(version); }

const std::vector<ReadModel>& EventLog::readModelTables() { return kReadModelTables; }

void EventLog::createSchema() {
  sql::Transaction tx(*db_);
  for (const char* part : {kSchema, kMigrationTo3, kMigrationTo4, kMigrationTo5, kMigrationTo6, kMigrationTo7,
                           kMigrationTo8, kMigrationTo9, kMigrationTo10, kMigrationTo11, kMigrationTo12})
    db_->exec(db_->ddl(part));
  if (auto only = db_->pick({"", kMigrationTo12Postgres}); !only.empty()) db_->exec(only);
  db_->exec(db_->pick({kAppendOnlySqlite, kAppendOnlyPostgres}));
  setSchemaVersion(kSchemaVersion);
  tx.commit();
}

void EventLog::migrate(int64_t fromVersion) {
  sql::Transaction tx(*db_);
  if (fromVersion < 3) db_->exec(kMigrationTo3);
  if (fromVersion < 4) {
    db_->exec(kMigrationTo4);
    db_->exec(kMigrationTo4Data);
  }
  if (fromVersion < 5) db_->exec(kMigrationTo5);
  if (fromVersion < 6) db_->exec(kMigrationTo6);
  if (fromVersion < 7) db_->exec(kMigrationTo7);
  if (fromVersion < 8) db_->exec(kMigrationTo8);
  if (fromVersion < 9) db_->exec(kMigrationTo9);
  if (fromVersion < 10) db_->exec(kMigrationTo10);
  if (fromVersion < 11) {
    db_->exec(kMigrationTo11);
    db_->exec(kMigrationTo11Data);
  }
  if (fromVersion < 12) {
    db_->exec(db_->ddl(kMigrationTo12));
    if (auto only = db_->pick({"", kMigrationTo12Postgres}); !only.empty()) db_->exec(only);
  }
  setSchemaVersion(kSchemaVersion);
  tx.commit();
}

}  // namespace cad
