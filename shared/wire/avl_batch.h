#pragma once
// AVL backlog batches (mdc.proto, AvlBatch): the device packs backfill reports
// into one Envelope, the backend expands it into the events the reports
// would have been had each come alone.
#include <cstddef>
#include <string>
#include <vector>

#include "mdc/v1/mdc.pb.h"
#include "shared/wire/error.h"

namespace mdc::codec {

/** Reports in one batch at most (mdc.proto). */
inline constexpr int kMaxBatchReports = 128;

/** The batch rules of an Envelope whose body is avl_batch: what is needed to
 *  expand it and to name each report. A report's own content (its position,
 *  its trigger) is checked after expansion, so that one bad report is
 *  refused alone. */
Status validateAvlBatch(const v1::Envelope& batch);

/** The events a valid batch carries, in order, each an Envelope exactly as if
 *  the report had been sent alone (not yet validated: see validate()). */
std::vector<v1::Envelope> expandAvlBatch(const v1::Envelope& batch);

/** Packs backfill AVL events of one device, unit and agency into a batch
 *  Envelope, while it stays within kMaxBatchReports, the given count and
 *  kMaxEnvelopeBytes. */
class AvlBatchBuilder {
 public:
  /** batchId: a fresh UUIDv7 naming the batch; maxReports: 1..kMaxBatchReports. */
  AvlBatchBuilder(std::string batchId, int maxReports);
  /** Adds one AVL event (its backfill is set); false, and nothing changes,
   *  when it does not fit or cannot go in a batch (another header, not AVL,
   *  an id that is not a canonical UUIDv7, a seq not above the last). */
  bool add(const v1::Envelope& event);
  int size() const { return batch_.avl_batch().reports_size(); }
  const v1::Envelope& envelope() const { return batch_; }

 private:
  v1::Envelope batch_;
  int maxReports_;
  uint64_t lastSeq_ = 0;
  int64_t lastRecordedAtMs_ = 0;
  size_t bytes_ = 0;
};

}  // namespace mdc::codec
