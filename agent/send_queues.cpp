#include "agent/send_queues.h"

#include <algorithm>
#include <utility>

namespace mdc::agent {

namespace {

constexpr int kLoadBatch = 512;

}  // namespace

void SendQueues::reset() {
  sentUpTo_ = {};
  for (auto& q : ready_) q.clear();
}

void SendQueues::load(size_t q) {
  const v1::Lane lane = q >= kAvlLive ? v1::LANE_AVL : kLanes[q];
  uint64_t after = sentUpTo_[q];
  if (q == kAvlLive && backlogBoundary_ > 0) after = std::max(after, backlogBoundary_ - 1);
  for (auto& r : store_.pending(lane, after, kLoadBatch)) {
    if (q == kAvlBacklog && r.seq >= backlogBoundary_) break;  // the live queue has those
    sentUpTo_[q] = r.seq;
    if (!inflight_.contains(r.seq)) ready_[q].push_back(std::move(r));
  }
}

void SendQueues::rewind(size_t q, uint64_t seq) {
  // What is read but not yet sent is read again too: its rows are dropped here.
  if (!ready_[q].empty()) seq = std::min(seq, ready_[q].front().seq);
  sentUpTo_[q] = std::min(sentUpTo_[q], seq - 1);
  ready_[q].clear();
}

void SendQueues::drop(uint64_t first, uint64_t last) {
  for (auto& q : ready_) {
    auto from = std::lower_bound(q.begin(), q.end(), first, [](const OutboxRow& r, uint64_t s) { return r.seq < s; });
    auto to = std::upper_bound(from, q.end(), last, [](uint64_t s, const OutboxRow& r) { return s < r.seq; });
    q.erase(from, to);
  }
}

void SendQueues::rereadBacklog() {
  sentUpTo_[kAvlBacklog] = 0;
  ready_[kAvlBacklog].clear();
}

size_t SendQueues::queueOf(v1::Lane lane, uint64_t seq) const {
  if (lane != v1::LANE_AVL) {
    for (size_t q = 0; q < kAvlLive; ++q)
      if (kLanes[q] == lane) return q;
  }
  return seq < backlogBoundary_ ? kAvlBacklog : kAvlLive;
}

}  // namespace mdc::agent
