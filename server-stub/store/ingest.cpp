// Ingest: what devices send, validated, de-duplicated, appended to the log
// and projected, one transaction per batch of messages. An AVL batch
// (mdc.proto, AvlBatch) is expanded into the events its reports are, each
// stored, acked or refused exactly as if it had come alone.
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "server-stub/store/event_row.h"
#include "server-stub/store/event_store.h"
#include "shared/wire/avl_batch.h"
#include "shared/wire/codec.h"

namespace cad {

namespace v1 = mdc::v1;
namespace sql = mdc::sql;
namespace codec = mdc::codec;

namespace {

/** An event could not be applied in a batch run without savepoints. */
struct NeedsSavepoints {};

// An error caused by the event being applied (the same event would fail the
// same way again), as opposed to one of the database or the machine.
bool isEventError(const sql::DbError& e) { return e.isDataError(); }

}  // namespace

Result<BatchOutcome> EventStore::ingest(const std::vector<Incoming>& batch) {
  // An event the projection cannot apply is rare (a bug, or a constraint the
  // read models break). The batch first runs without a savepoint per event,
  // which cost 4 to 8 % of the ingest; when one event fails, the whole
  // transaction is rolled back and the batch runs again with one savepoint
  // per event, so that only that event is set aside.
  // Each message is decoded once, outside the transaction (an AVL batch
  // expanded into its reports), whichever run and retry stores it.
  std::vector<DecodedMessage> decoded(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    auto env = codec::decodeEnvelope(batch[i].payload);
    if (!env) {
      decoded[i].error = env.error();
      continue;
    }
    decoded[i].envelope = std::move(*env);
    if (decoded[i].envelope->has_avl_batch()) decoded[i].reports = codec::expandAvlBatch(*decoded[i].envelope);
  }
  try {
    return ingestBatch(batch, decoded, false);
  } catch (const NeedsSavepoints&) {
    return ingestBatch(batch, decoded, true);
  }
}

void EventStore::recordRefusal(BatchOutcome& out, const Incoming& in, const std::string& code,
                               const std::string& detail) {
  out.refused.push_back(Refusal{in.topicDeviceId, code, detail});
  cached("INSERT INTO refusals(received_at_ms, device_id, reason, detail) VALUES(?,?,?,?)")
      ->bind(1, in.receivedAtMs)
      .bind(2, in.topicDeviceId)
      .bind(3, code)
      .bind(4, detail)
      .run();
}

void EventStore::refuseInput(BatchOutcome& out, const Incoming& in, v1::RejectReason reason, const std::string& code,
                             const std::string& detail, const std::string& eventId, uint64_t seq,
                             const std::string& unit) {
  recordRefusal(out, in, code, detail);
  v1::Downlink dl;
  dl.set_version(codec::kProtocolVersion);
  dl.set_unit_id(unit.empty() ? "unknown" : unit);
  dl.set_seq(0);
  dl.set_sent_at_ms(in.receivedAtMs);
  auto* r = dl.mutable_rejection();
  r->set_event_id(eventId);
  r->set_seq(seq);
  r->set_reason(reason);
  r->set_detail(detail.substr(0, 500));
  out.downlinks.push_back(Outgoing{in.topicDeviceId, dl});
}

Result<BatchOutcome> EventStore::ingestBatch(const std::vector<Incoming>& batch,
                                             const std::vector<DecodedMessage>& decoded, bool savepoints) {
  BatchOutcome out;
  try {
    const Status done = writeTransaction({}, [&] {
      out = BatchOutcome{};  // from the beginning when the transaction starts again
      return ingestMessages(batch, decoded, savepoints, out);
    });
    if (!done) return done.error();
  } catch (const sql::DbError& e) {
    return Error::make(std::string("store: batch not committed: ") + e.what());
  }
  return out;
}

namespace {

/** A JSON array of strings (RFC 8259), for one statement that takes a whole batch's keys. */
void appendJsonString(std::string& out, std::string_view v) {
  out += '"';
  for (const char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

// The registry rows of a batch's devices, the units they served, and the
// latest downlink of each one's unit, in one statement (a JSON array of ids).
constexpr mdc::sql::PerEngine kLookUpDevices{
    "SELECT d.device_id, d.unit_id, d.agency, "
    "COALESCE((SELECT seq FROM downlinks WHERE unit_id=d.unit_id ORDER BY seq DESC LIMIT 1), 0), "
    "s.at_ms, s.pos, s.unit_id FROM devices d LEFT JOIN device_units s ON s.device_id = d.device_id "
    "WHERE d.device_id IN (SELECT value FROM json_each(?1)) ORDER BY d.device_id, s.at_ms, s.pos",
    "SELECT d.device_id, d.unit_id, d.agency, "
    "COALESCE((SELECT seq FROM downlinks WHERE unit_id=d.unit_id ORDER BY seq DESC LIMIT 1), 0), "
    "s.at_ms, s.pos, s.unit_id FROM devices d LEFT JOIN device_units s ON s.device_id = d.device_id "
    "WHERE d.device_id IN (SELECT jsonb_array_elements_text(?1::jsonb) COLLATE \"C\") "
    "ORDER BY d.device_id, s.at_ms, s.pos"};

// What of a batch is stored already: by event id (?1, a JSON array) and by
// (device, seq) (?2, a JSON array of pairs), in one statement.
constexpr mdc::sql::PerEngine kStoredKeys{
    "SELECT event_id, device_id, device_seq FROM events WHERE event_id IN (SELECT value FROM json_each(?1)) "
    "UNION ALL SELECT e.event_id, e.device_id, e.device_seq FROM json_each(?2) k JOIN events e "
    "ON e.device_id = json_extract(k.value, '$[0]') AND e.device_seq = json_extract(k.value, '$[1]')",
    "SELECT event_id, device_id, device_seq FROM events "
    "WHERE event_id IN (SELECT jsonb_array_elements_text(?1::jsonb) COLLATE \"C\") "
    "UNION ALL SELECT e.event_id, e.device_id, e.device_seq FROM jsonb_array_elements(?2::jsonb) k(v) JOIN events e "
    "ON e.device_id = (k.v->>0) COLLATE \"C\" AND e.device_seq = (k.v->>1)::bigint"};

}  // namespace

std::map<std::string, EventStore::RegisteredDevice> EventStore::lookUpDevices(const std::vector<Incoming>& batch,
                                                                              BatchOutcome& out) {
  // Every device of the batch in one statement. A batch holds events of
  // several units: when other processes write too, the lock of each of
  // their agencies (write_tx.cpp) is taken before any of them is read.
  // With the registry row come the units the device served (unitServedAt)
  // and its unit's downlink head, for the commit acks.
  std::map<std::string, RegisteredDevice> registry;
  for (const Incoming& in : batch) registry.try_emplace(in.topicDeviceId);
  std::string ids = "[";
  for (const auto& [id, unused] : registry) {
    if (ids.size() > 1) ids += ',';
    appendJsonString(ids, id);
  }
  ids += ']';
  std::map<std::string, std::vector<Served>> spells;
  std::set<std::string> agencies;
  auto lookup = cached(db().pick(kLookUpDevices).data());
  lookup->bind(1, ids);
  while (lookup->step()) {
    const std::string id = lookup->text(0);
    RegisteredDevice& device = registry[id];
    if (!device.known) {
      device = RegisteredDevice{true, lookup->text(1), lookup->text(2)};
      agencies.insert(device.agency);
      out.unitOf[id] = device.unit;
      out.downlinkHeads[device.unit] = uint64_t(lookup->i64(3));
    }
    auto& served = spells[id];
    if (!lookup->isNull(4)) served.push_back(Served{lookup->i64(4), lookup->i64(5), lookup->text(6)});
  }
  for (auto& [id, served] : spells) served_.try_emplace(id, std::move(served));
  log_->lockChains(agencies);
  return registry;
}

void EventStore::lookUpStored(const std::vector<Incoming>& batch, const std::vector<DecodedMessage>& decoded,
                              const std::map<std::string, RegisteredDevice>& registry) {
  stored_ = StoredKeys{};
  std::string ids = "[", pairs = "[";
  auto add = [&](const std::string& device, const v1::Envelope& env) {
    if (ids.size() > 1) ids += ',';
    appendJsonString(ids, env.event_id());
    if (env.seq() == 0) return;
    if (pairs.size() > 1) pairs += ',';
    pairs += '[';
    appendJsonString(pairs, device);
    pairs += ',' + std::to_string(env.seq()) + ']';
  };
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& env = decoded[i].envelope;
    if (!env || !registry.at(batch[i].topicDeviceId).known || env->has_resync()) continue;
    if (!env->has_avl_batch()) add(batch[i].topicDeviceId, *env);
    for (const auto& report : decoded[i].reports) add(batch[i].topicDeviceId, report);
  }
  if (ids.size() == 1) return;
  auto st = cached(db().pick(kStoredKeys).data());
  st->bind(1, ids + ']').bind(2, pairs + ']');
  while (st->step()) {
    stored_.ids.insert(st->text(0));
    if (!st->isNull(2)) stored_.bySeq[{st->text(1), uint64_t(st->i64(2))}] = st->text(0);
  }
}

Status EventStore::ingestMessages(const std::vector<Incoming>& batch, const std::vector<DecodedMessage>& decoded,
                                  bool savepoints, BatchOutcome& out) {
  const std::map<std::string, RegisteredDevice> registry = lookUpDevices(batch, out);
  lookUpStored(batch, decoded, registry);  // what of it is stored already, in one statement
  log_->expectEvents(int(std::min<size_t>(batch.size(), 4096)));
  // Without savepoints, the writes whose outcome nothing reads go out
  // without waiting (PostgreSQL's pipeline): an event's error then shows at
  // a later statement, and sends the batch to the run with savepoints.
  sql::Db& store = db();
  store.deferWrites(!savepoints);
  try {
    for (size_t i = 0; i < batch.size(); ++i)
      ingestMessage(batch[i], decoded[i], registry.at(batch[i].topicDeviceId), savepoints, out);
    store.deferWrites(false);
  } catch (const sql::DbError& e) {
    if (!savepoints && isEventError(e)) throw NeedsSavepoints{};
    throw;
  }
  return {};
}

void EventStore::ingestMessage(const Incoming& in, const DecodedMessage& decoded, const RegisteredDevice& device,
                               bool savepoints, BatchOutcome& out) {
  const bool known = device.known;
  const std::string& unit = device.unit;
  const std::string& agency = device.agency;

  const std::optional<v1::Envelope>& env = decoded.envelope;
  if (!env) {
    // Tell the sender what it can use: the event id and seq, if readable.
    // Never decode what is refused for its size.
    v1::Envelope partial;
    bool readable = in.payload.size() <= codec::kMaxEnvelopeBytes && partial.ParseFromString(in.payload);
    // A batch refused whole is named by its own id only: its seq is a report's.
    uint64_t seq = readable && !partial.has_avl_batch() ? partial.seq() : 0;
    refuseInput(out, in, v1::REJECT_REASON_MALFORMED, codec::reasonName(codec::Reason(decoded.error.code)),
                decoded.error.message, readable ? partial.event_id() : "", seq, unit);
    return;
  }
  const uint64_t seq = env->has_avl_batch() ? 0 : env->seq();
  if (env->device_id() != in.topicDeviceId) {
    refuseInput(out, in, v1::REJECT_REASON_WRONG_DEVICE, "wrong_device",
                "envelope.device_id: \"" + env->device_id() + "\" differs from the topic's device \"" +
                    in.topicDeviceId + "\"",
                env->event_id(), seq, unit);
    return;
  }
  if (!known) {
    refuseInput(out, in, v1::REJECT_REASON_UNKNOWN_DEVICE, "unknown_device",
                "device \"" + in.topicDeviceId + "\" is not registered (cadctl devices add)", env->event_id(), seq,
                "");
    return;
  }
  if (in.presenceTopic != env->has_presence()) {
    refuseInput(out, in, v1::REJECT_REASON_MALFORMED, "wrong_topic",
                std::string("envelope.body: ") + codec::bodyName(*env) + " is not allowed on the " +
                    (in.presenceTopic ? "presence" : "up") + " topic",
                env->event_id(), seq, unit);
    return;
  }
  if (!env->has_avl_batch()) {
    applyEvent(out, in, *env, unit, agency, savepoints);
    return;
  }
  if (!acceptAvlBatches_) {
    refuseInput(out, in, v1::REJECT_REASON_MALFORMED, "batch_refused",
                "envelope.avl_batch: this backend does not accept batches (cad-stub --no-avl-batches); send the " +
                    std::to_string(env->avl_batch().reports_size()) + " reports one per message",
                env->event_id(), 0, unit);
    return;
  }
  ++out.avlBatches;
  int index = 0;
  for (const v1::Envelope& report : decoded.reports) {
    if (mdc::Status st = codec::validate(report); !st)
      refuseInput(out, in, v1::REJECT_REASON_MALFORMED, codec::reasonName(codec::Reason(st.error().code)),
                  "envelope.avl_batch.reports[" + std::to_string(index) + "] as " + st.error().message,
                  report.event_id(), report.seq(), unit);
    else
      applyEvent(out, in, report, unit, agency, savepoints);
    ++index;
  }
  out.batchedReports += index;
}

void EventStore::recordResync(BatchOutcome& out, const Incoming& in, const v1::Envelope& env,
                              const std::string& unit) {
  // A device that still believes it serves another unit (it was moved
  // while away) counts its cursor in that unit's sequence: it gets the
  // new unit's downlinks from the start, which also tells it the move.
  const uint64_t after = env.unit_id() == unit ? env.resync().after_seq() : 0;
  out.resyncs.emplace_back(in.topicDeviceId, after);
  cached(
      "INSERT INTO downlink_cursors(device_id, unit_id, after_seq, at_ms) VALUES(?,?,?,?) "
      "ON CONFLICT(device_id) DO UPDATE SET unit_id=excluded.unit_id, after_seq=excluded.after_seq, "
      "at_ms=excluded.at_ms")
      ->bind(1, in.topicDeviceId)
      .bind(2, unit)
      .bind(3, after)
      .bind(4, in.receivedAtMs)
      .run();
}

bool EventStore::refusedForeignCall(BatchOutcome& out, const Incoming& in, const v1::Envelope& env,
                                    const std::string& unit, const std::string& agency) {
  // Cross-tenant references: a device may only touch its own agency's CFS.
  std::string ref = env.has_status()           ? env.status().incident_number()
                    : env.has_assignment_ack() ? env.assignment_ack().incident_number()
                    : env.has_records_query()  ? env.records_query().incident_number()
                                               : "";
  if (!ref.empty()) {
    auto cfsAgency = cached("SELECT agency FROM cfs WHERE incident_number=?");
    cfsAgency->bind(1, ref);
    bool exists = cfsAgency->step();
    bool foreign = exists && cfsAgency->text(0) != agency;
    cfsAgency->reset();
    if (!exists || foreign) {
      refuseInput(out, in, v1::REJECT_REASON_NOT_PERMITTED, "not_permitted",
                  "incident_number: \"" + ref + "\" is not a CFS of agency " + agency, env.event_id(), env.seq(), unit);
      return true;
    }
  }
  return false;
}

bool EventStore::alreadyStored(BatchOutcome& out, const Incoming& in, const v1::Envelope& env,
                               const std::string& unit) {
  // Stored before? By (device, seq), or by its event id: read for the
  // whole batch (lookUpStored), and kept up as the batch appends.
  std::optional<std::string> seqStoredAs;
  if (env.seq() > 0)
    if (auto it = stored_.bySeq.find({in.topicDeviceId, env.seq()}); it != stored_.bySeq.end())
      seqStoredAs = it->second;
  const bool idTaken = stored_.ids.count(env.event_id()) > 0;
  if (seqStoredAs) {
    if (*seqStoredAs == env.event_id()) {
      ++out.duplicates;
      ++out.duplicatesByDevice[in.topicDeviceId];
      out.acks[in.topicDeviceId].push_back(env.seq());
    } else {
      refuseInput(out, in, v1::REJECT_REASON_SEQ_CONFLICT, "seq_conflict",
                  "envelope.seq: " + std::to_string(env.seq()) + " of device " + in.topicDeviceId +
                      " is already stored as event " + *seqStoredAs + ", not " + env.event_id(),
                  env.event_id(), env.seq(), unit);
    }
    return true;
  }
  if (idTaken) {
    if (env.seq() == 0) {
      ++out.duplicates;  // a retained presence seen again
      ++out.duplicatesByDevice[in.topicDeviceId];
      return true;
    }
    refuseInput(out, in, v1::REJECT_REASON_SEQ_CONFLICT, "id_conflict",
                "envelope.event_id: " + env.event_id() + " is already stored under another seq", env.event_id(),
                env.seq(), unit);
    return true;
  }
  return false;
}

EventRow EventStore::deviceRow(BatchOutcome& out, const Incoming& in, const v1::Envelope& env,
                                      const std::string& unit, const std::string& agency) {
  Row row;
  row.eventId = env.event_id();
  row.deviceId = in.topicDeviceId;
  if (env.seq() > 0) row.deviceSeq = env.seq();
  // The registry decides the unit, not the device: the unit the device
  // served when the event was recorded (a late event of a device moved
  // since then belongs to its old unit).
  row.unitId = unit;
  if (!env.has_presence())
    if (auto served = unitServedAt(in.topicDeviceId, env.recorded_at_ms())) row.unitId = *served;
  row.agency = agency;
  row.kind = codec::bodyName(env);
  row.recordedAtMs = env.recorded_at_ms();
  row.clockSource = env.clock_source() == v1::CLOCK_SOURCE_GPS ? "gps" : "system";
  // A time ahead of this moment would freeze the board on it (fields move
  // only forwards): beyond the bound it is clamped to the receive time,
  // flagged in clock_source and counted. The envelope keeps the device's.
  if (row.recordedAtMs > in.receivedAtMs + kMaxRecordedAheadMs) {
    row.recordedAtMs = in.receivedAtMs;
    row.clockSource += "-clamped";
    ++out.clamped;
  }
  row.receivedAtMs = in.receivedAtMs;
  row.actor = "device:" + in.topicDeviceId;
  google::protobuf::io::StringOutputStream sos(&row.payload);
  {
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    env.SerializeToCodedStream(&cos);
  }
  return row;
}

void EventStore::applyEvent(BatchOutcome& out, const Incoming& in, const v1::Envelope& env, const std::string& unit,
                            const std::string& agency, bool savepoints) {
  if (env.has_resync()) return recordResync(out, in, env, unit);
  if (refusedForeignCall(out, in, env, unit, agency) || alreadyStored(out, in, env, unit)) return;
  Row row = deviceRow(out, in, env, unit, agency);
  // Each event in its own savepoint: an event the projection cannot
  // apply (a bug, or a constraint the read models break) is set aside
  // without taking the rest of the batch down with it, batch after batch.
  // It is neither stored nor acked nor rejected: the device keeps it and
  // resends, and the operator sees it in refusals. Errors of the database
  // itself (I/O, full, busy) still abort the whole batch.
  EventLog::HeadMark before = log_->markHeads();
  std::vector<Outgoing> produced;
  if (savepoints) cached("SAVEPOINT event")->run();
  try {
    log_->append(row);
    project(row, produced);
    if (savepoints) cached("RELEASE event")->run();
  } catch (const sql::DbError& e) {
    if (!isEventError(e)) throw;
    if (!savepoints) throw NeedsSavepoints{};  // the transaction rolls back on the way out
    auto rollbackTo = cached("ROLLBACK TO event");
    rollbackTo->reset();
    rollbackTo->run();
    auto release = cached("RELEASE event");
    release->reset();
    release->run();
    log_->restoreHeads(std::move(before));
    std::string detail = std::string("event ") + env.event_id() + " seq " + std::to_string(env.seq()) +
                         " could not be applied and was not stored (the device keeps it): " + e.what();
    recordRefusal(out, in, "store_error", detail);  // not the device's fault: no Rejection
    return;
  }
  stored_.ids.insert(row.eventId);
  if (env.seq() > 0) stored_.bySeq[{in.topicDeviceId, env.seq()}] = row.eventId;
  for (auto& o : produced) out.downlinks.push_back(std::move(o));
  ++out.appended;
  if (env.has_records_query())
    out.queries.push_back(PendingQuery{row.eventId, in.topicDeviceId, row.unitId, agency, env.records_query()});
  if (env.seq() > 0) out.acks[in.topicDeviceId].push_back(env.seq());
}

}  // namespace cad
