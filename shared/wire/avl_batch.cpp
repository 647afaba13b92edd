#include "shared/wire/avl_batch.h"

#include <algorithm>

#include "shared/wire/codec.h"
#include "shared/wire/uuid.h"

namespace mdc::codec {

namespace {

Error fail(Reason r, std::string msg) {
  return Error::make(std::move(msg), int(r));
}

// Room kept for the fields protobuf adds around a report (its tag and
// length) and around the batch (its tag and length), beyond ByteSizeLong.
constexpr size_t kFraming = 8;

}  // namespace

Status validateAvlBatch(const v1::Envelope& e) {
  const auto& reports = e.avl_batch().reports();
  if (reports.empty()) return fail(Reason::MissingField, "envelope.avl_batch.reports: required, is empty");
  if (reports.size() > kMaxBatchReports)
    return fail(Reason::TooLong, "envelope.avl_batch.reports: " + std::to_string(reports.size()) +
                                     " reports, at most " + std::to_string(kMaxBatchReports));
  for (int i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    const std::string at = "envelope.avl_batch.reports[" + std::to_string(i) + "]";
    const std::string id = uuidFromBytes(r.event_id());
    if (!isUuidV7(id))
      return fail(Reason::BadFormat, at + ".event_id: " + std::to_string(r.event_id().size()) +
                                         " bytes are not a UUIDv7 (16 bytes, version 7)");
    if (i == 0 && r.seq_delta() != 0)
      return fail(Reason::BadFormat, at + ".seq_delta: " + std::to_string(r.seq_delta()) +
                                         " must be 0 for the first report (its seq is envelope.seq)");
    if (i > 0 && r.seq_delta() < 1) return fail(Reason::BadFormat, at + ".seq_delta: 0 must be >= 1");
    if (r.has_avl() && !r.avl().backfill())
      return fail(Reason::BadFormat,
                  at + ".avl.backfill: false, a batch carries the backlog only (live AVL goes alone)");
  }
  return {};
}

std::vector<v1::Envelope> expandAvlBatch(const v1::Envelope& batch) {
  std::vector<v1::Envelope> out;
  out.reserve(size_t(batch.avl_batch().reports_size()));
  uint64_t seq = batch.seq();
  int64_t recordedAt = batch.recorded_at_ms();
  for (const auto& r : batch.avl_batch().reports()) {
    seq += r.seq_delta();
    recordedAt += r.recorded_at_delta_ms();
    v1::Envelope& e = out.emplace_back();
    e.set_version(batch.version());
    e.set_event_id(uuidFromBytes(r.event_id()));
    e.set_device_id(batch.device_id());
    e.set_unit_id(batch.unit_id());
    e.set_agency(batch.agency());
    e.set_seq(seq);
    e.set_recorded_at_ms(recordedAt);
    e.set_clock_source(r.clock_source());
    if (r.has_avl()) *e.mutable_avl() = r.avl();
  }
  return out;
}

AvlBatchBuilder::AvlBatchBuilder(std::string batchId, int maxReports)
    : maxReports_(std::clamp(maxReports, 1, kMaxBatchReports)) {
  batch_.set_version(kProtocolVersion);
  batch_.set_event_id(std::move(batchId));
  batch_.mutable_avl_batch();
}

bool AvlBatchBuilder::add(const v1::Envelope& event) {
  if (!event.has_avl() || size() >= maxReports_) return false;
  const std::string idBytes = uuidToBytes(event.event_id());
  // Only an id whose text comes back the same: the backend stores the text.
  if (idBytes.empty() || uuidFromBytes(idBytes) != event.event_id()) return false;
  v1::BatchedAvl r;
  r.set_event_id(idBytes);
  r.set_clock_source(event.clock_source());
  *r.mutable_avl() = event.avl();
  r.mutable_avl()->set_backfill(true);
  if (size() == 0) {
    batch_.set_device_id(event.device_id());
    batch_.set_unit_id(event.unit_id());
    batch_.set_agency(event.agency());
    batch_.set_seq(event.seq());
    batch_.set_recorded_at_ms(event.recorded_at_ms());
    batch_.set_clock_source(event.clock_source());
    bytes_ = batch_.ByteSizeLong() + kFraming;
  } else {
    if (event.device_id() != batch_.device_id() || event.unit_id() != batch_.unit_id() ||
        event.agency() != batch_.agency() || event.seq() <= lastSeq_)
      return false;
    r.set_seq_delta(event.seq() - lastSeq_);
    r.set_recorded_at_delta_ms(event.recorded_at_ms() - lastRecordedAtMs_);
  }
  const size_t grows = r.ByteSizeLong() + kFraming;
  if (bytes_ + grows > kMaxEnvelopeBytes) return false;
  bytes_ += grows;
  *batch_.mutable_avl_batch()->add_reports() = std::move(r);
  lastSeq_ = event.seq();
  lastRecordedAtMs_ = event.recorded_at_ms();
  return true;
}

}  // namespace mdc::codec
