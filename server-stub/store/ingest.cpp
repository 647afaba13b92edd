// Ingest: what devices send, validated, de-duplicated, appended to the log
// and projected, one transaction per batch of messages. An AVL batch
// (mdc.proto, AvlBatch) is expanded into the events its reports are, each
// stored, acked or refused exactly as if it had come alone.
#include <algorithm>
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
  try {
    return ingestBatch(batch, false);
  } catch (const NeedsSavepoints&) {
    return ingestBatch(batch, true);
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

Result<BatchOutcome> EventStore::ingestBatch(const std::vector<Incoming>& batch, bool savepoints) {
  BatchOutcome out;
  try {
    const Status done = writeTransaction({}, [&] {
      out = BatchOutcome{};  // from the beginning when the transaction starts again
      return ingestMessages(batch, savepoints, out);
    });
    if (!done) return done.error();
  } catch (const sql::DbError& e) {
    return Error::make(std::string("store: batch not committed: ") + e.what());
  }
  return out;
}

std::map<std::string, EventStore::RegisteredDevice> EventStore::lookUpDevices(const std::vector<Incoming>& batch) {
  // Each device of the batch is looked up once. A batch holds events of
  // several units: when other processes write too, the lock of each of
  // their agencies (write_tx.cpp) is taken before any of them is read.
  // With the registry row come the units the device served (unitServedAt).
  std::map<std::string, RegisteredDevice> registry;
  {
    auto lookupDevice = cached(
        "SELECT d.unit_id, d.agency, s.at_ms, s.pos, s.unit_id FROM devices d "
        "LEFT JOIN device_units s ON s.device_id = d.device_id WHERE d.device_id=? ORDER BY s.at_ms, s.pos");
    std::set<std::string> agencies;
    for (const Incoming& in : batch) {
      auto [it, fresh] = registry.try_emplace(in.topicDeviceId);
      if (!fresh) continue;
      lookupDevice->bind(1, in.topicDeviceId);
      std::vector<Served> spells;
      while (lookupDevice->step()) {
        if (!it->second.known) it->second = RegisteredDevice{true, lookupDevice->text(0), lookupDevice->text(1)};
        if (!lookupDevice->isNull(2))
          spells.push_back(Served{lookupDevice->i64(2), lookupDevice->i64(3), lookupDevice->text(4)});
      }
      lookupDevice->reset();
      if (it->second.known) {
        agencies.insert(it->second.agency);
        served_.try_emplace(in.topicDeviceId, std::move(spells));
      }
    }
    log_->lockChains(agencies);
  }
  return registry;
}

Status EventStore::ingestMessages(const std::vector<Incoming>& batch, bool savepoints, BatchOutcome& out) {
  const std::map<std::string, RegisteredDevice> registry = lookUpDevices(batch);
  log_->expectEvents(int(std::min<size_t>(batch.size(), 4096)));
  for (const Incoming& in : batch) ingestMessage(in, registry.at(in.topicDeviceId), savepoints, out);
  return {};
}

void EventStore::ingestMessage(const Incoming& in, const RegisteredDevice& device, bool savepoints,
                               BatchOutcome& out) {
  const bool known = device.known;
  const std::string& unit = device.unit;
  const std::string& agency = device.agency;

  auto env = codec::decodeEnvelope(in.payload);
  if (!env) {
    // Tell the sender what it can use: the event id and seq, if readable.
    // Never decode what is refused for its size.
    v1::Envelope partial;
    bool readable = in.payload.size() <= codec::kMaxEnvelopeBytes && partial.ParseFromString(in.payload);
    // A batch refused whole is named by its own id only: its seq is a report's.
    uint64_t seq = readable && !partial.has_avl_batch() ? partial.seq() : 0;
    refuseInput(out, in, v1::REJECT_REASON_MALFORMED, codec::reasonName(codec::Reason(env.error().code)),
                env.error().message, readable ? partial.event_id() : "", seq, unit);
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
  for (const v1::Envelope& report : codec::expandAvlBatch(*env)) {
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
  // Stored before? By (device, seq), or by its event id: one query for both.
  std::optional<std::string> seqStoredAs;
  bool idTaken = false;
  {
    auto stored = cached("SELECT event_id, device_id, device_seq FROM events WHERE (device_id=? AND device_seq=?) OR event_id=?");
    stored->bind(1, in.topicDeviceId).bind(2, env.seq()).bind(3, env.event_id());
    while (stored->step()) {
      if (env.seq() > 0 && !stored->isNull(2) && uint64_t(stored->i64(2)) == env.seq() && stored->text(1) == in.topicDeviceId)
        seqStoredAs = stored->text(0);
      if (stored->text(0) == env.event_id()) idTaken = true;
    }
    stored->reset();
  }
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
  for (auto& o : produced) out.downlinks.push_back(std::move(o));
  ++out.appended;
  if (env.has_records_query())
    out.queries.push_back(PendingQuery{row.eventId, in.topicDeviceId, row.unitId, agency, env.records_query()});
  if (env.seq() > 0) out.acks[in.topicDeviceId].push_back(env.seq());
}

}  // namespace cad
