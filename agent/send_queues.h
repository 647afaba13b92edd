#pragma once
// What the agent reads from the outbox to send, queue by queue in priority
// order: the three non-AVL lanes, then AVL split in live (recorded on this
// connection) and backlog (recorded before it, sent as backfill). Each queue
// keeps how far it has read and the events read but not yet sent.
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>

#include "agent/send_window.h"
#include "agent/store.h"

namespace mdc::agent {

/** The send queues over the outbox. Thread-safety: the agent's thread only (like the store). */
class SendQueues {
 public:
  static constexpr size_t kAvlLive = 3, kAvlBacklog = 4, kCount = 5;

  /** Reads from store, skipping what inflight holds. */
  SendQueues(Store& store, const InFlight& inflight) : store_(store), inflight_(inflight) {}

  /** Everything is read again from the start of each queue (a new connection, released events). */
  void reset();
  /** AVL with seq below boundary is backlog from now on; at or above it, live. */
  void setBacklogBoundary(uint64_t boundary) { backlogBoundary_ = boundary; }
  uint64_t backlogBoundary() const { return backlogBoundary_; }
  /** The events of queue q read and not yet sent, oldest first. */
  std::deque<OutboxRow>& ready(size_t q) { return ready_[q]; }
  /** Reads the next events of queue q from the outbox into ready(q). */
  void load(size_t q);
  /** Queue q reads again from seq (and from what it had read but not sent): load skips what is in flight. */
  void rewind(size_t q, uint64_t seq);
  /** Forgets the read events first..last (acked while owed again: their first copies went through). */
  void drop(uint64_t first, uint64_t last);
  /** The backlog is read again from its start (a batch refused whole: its reports are behind the cursor). */
  void rereadBacklog();
  /** The queue an event of this lane and seq is read from. */
  size_t queueOf(v1::Lane lane, uint64_t seq) const;

 private:
  Store& store_;
  const InFlight& inflight_;
  std::array<uint64_t, kCount> sentUpTo_{};  ///< the highest seq read, per queue
  std::array<std::deque<OutboxRow>, kCount> ready_{};
  uint64_t backlogBoundary_ = 0;  ///< AVL with seq below this is backfill on this connection
};

}  // namespace mdc::agent
