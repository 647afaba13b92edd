// The agent's sending side: the window over the send queues in priority
// order (send_queues.h), the AVL share of it that follows the link's round
// trip, publishes and their results, commit acks, and resends when no commit
// ack comes.
#include <algorithm>
#include <cmath>

#include "agent/agent.h"
#include "shared/wire/avl_batch.h"
#include "shared/infra/log.h"
#include "shared/wire/topics.h"

namespace mdc::agent {

// Fills the window in priority order: emergency, status/CFS/acks, messages,
// live AVL (recorded since this connection began), then the AVL backlog as
// backfill at a bounded rate. Within each, seq order. A few window slots are
// never given to AVL, so a status is never stuck behind a backlog.
void Agent::pump() {
  if (link_ != v1::LINK_STATE_ONLINE || !client_) return;
  const int window = std::min(config_.window, sendWindow_.window());
  int64_t mono = clock_.monotonicMs();
  double refill = double(mono - backfillRefillMonoMs_) * config_.backfillPerSecond / 1000.0;
  backfillTokens_ = std::min(backfillTokens_ + refill, double(std::max(config_.backfillPerSecond / 10, 1)));
  backfillRefillMonoMs_ = mono;

  int pumped = 0;
  struct Trace {
    int& n;
    int64_t t0;
    const Clock& clock;
    ~Trace() {
      if (n > 0 && log::level() <= log::Level::Debug)
        log::debug("link", "published " + std::to_string(n) + " in " + std::to_string(clock.monotonicMs() - t0) + " ms");
    }
  } trace{pumped, mono, clock_};
  // The AVL share: what the link's delay allows (avl_window.h), and never
  // the window's last few slots, kept for a status.
  const int avlLimit = std::min(avlWindow_.limit(), window - std::min(kReservedForPriority, window / 4));
  for (size_t q = 0; q < SendQueues::kCount; ++q) {
    const bool avl = q >= SendQueues::kAvlLive;
    for (;;) {
      int inflight = int(inflight_.size());
      if (inflight >= window) {
        // However small the window, a few emergencies are always in flight.
        if (q != 0 || inflight_.emergency() >= SendWindow::kEmergencyFloor) return;
      }
      if (avl && inflight >= avlLimit) break;
      std::deque<OutboxRow>& ready = queues_.ready(q);
      if (ready.empty()) {
        queues_.load(q);
        if (ready.empty()) break;
      }
      if (inflight_.contains(ready.front().seq)) {  // back in flight (a timeout undone)
        ready.pop_front();
        continue;
      }
      if (q == SendQueues::kAvlBacklog) {
        if (backfillTokens_ < 1) {
          // Throttled: come back when a few milliseconds' worth of tokens
          // are due (a handful of events per wake-up, not one: a pump per
          // token cost more than the rate allowed), not at the next ack or
          // housekeeping tick (the window may be empty by then).
          const double chunk = std::max(1.0, config_.backfillPerSecond / 250.0);
          if (!backfillTimer_.isActive())
            backfillTimer_.start(std::max(1, int(std::ceil(1000.0 * (chunk - backfillTokens_) / config_.backfillPerSecond))));
          break;
        }
        if (config_.avlBatch > 0 && !batchesRefused_) {
          const int n = publishBacklogBatch(
              std::min({window - inflight, avlLimit - inflight, int(backfillTokens_), config_.avlBatch}));
          if (n < 0) return;
          if (n > 0) {
            backfillTokens_ -= n;
            pumped += n;
            continue;
          }
          // This report cannot go in a batch: it goes alone.
        }
        backfillTokens_ -= 1;
      }
      if (!publishRow(ready.front())) return;
      ++pumped;
      ready.pop_front();
    }
  }
}

bool Agent::publishRow(const OutboxRow& row) {
  const std::string* payload = &row.payload;
  std::string backfilled;
  if (row.lane == v1::LANE_AVL && row.seq < queues_.backlogBoundary()) {
    // Same event (same id and seq), marked as backfill: the backend must not
    // move the unit's live position back to it.
    v1::Envelope env;
    if (env.ParseFromString(row.payload) && env.has_avl() && !env.avl().backfill()) {
      env.mutable_avl()->set_backfill(true);
      env.SerializeToString(&backfilled);
      payload = &backfilled;
    }
  }
  auto token = client_->publish(topics::up(config_.deviceId), *payload, 1, false);
  if (!token) {
    log::warn("link", "publish of seq " + std::to_string(row.seq) + " failed: " + token.error().message);
    noteError(token.error().message);
    return false;
  }
  inflight_.sent(row.seq, row.lane, clock_.monotonicMs());
  tokenToSeq_[*token] = row.seq;
  ++counters_.published;
  return true;
}

int Agent::publishBacklogBatch(int maxReports) {
  std::deque<OutboxRow>& ready = queues_.ready(SendQueues::kAvlBacklog);
  if (int(ready.size()) < maxReports) queues_.load(SendQueues::kAvlBacklog);
  codec::AvlBatchBuilder batch(ids_.next(), maxReports);
  std::vector<uint64_t> seqs;
  for (const OutboxRow& row : ready) {
    v1::Envelope env;
    if (inflight_.contains(row.seq) || !env.ParseFromString(row.payload) || !batch.add(env)) break;
    seqs.push_back(row.seq);
  }
  if (seqs.empty()) return 0;
  std::string bytes;
  batch.envelope().SerializeToString(&bytes);
  auto token = client_->publish(topics::up(config_.deviceId), bytes, 1, false);
  if (!token) {
    log::warn("link",
              "publish of a batch of " + std::to_string(seqs.size()) + " AVL reports failed: " + token.error().message);
    noteError(token.error().message);
    return -1;
  }
  const int64_t now = clock_.monotonicMs();
  for (uint64_t seq : seqs) inflight_.sent(seq, v1::LANE_AVL, now);
  tokenToSeq_[*token] = seqs.front();
  counters_.published += seqs.size();
  ++counters_.avlBatches;
  ready.erase(ready.begin(), ready.begin() + std::ptrdiff_t(seqs.size()));
  batchesInFlight_[batch.envelope().event_id()] = std::move(seqs);
  return int(batch.size());
}

void Agent::batchRefused(const v1::Rejection& rejection) {
  auto it = batchesInFlight_.find(rejection.event_id());
  if (it == batchesInFlight_.end()) return;
  ++counters_.avlBatchesRefused;
  if (!batchesRefused_)
    log::warn("link", "the backend refused a batch of " + std::to_string(it->second.size()) + " AVL reports (" +
                          v1::RejectReason_Name(rejection.reason()) + ": " + rejection.detail() +
                          "); the backlog goes one report per message on this connection");
  batchesRefused_ = true;
  for (uint64_t seq : it->second) inflight_.forget(seq);
  batchesInFlight_.erase(it);
  // Its reports are behind the backlog's send cursor: read them again.
  queues_.rereadBacklog();
  pump();
}

void Agent::applyCommitAck(const v1::CommitAck& ack) {
  auto out = store_.applyCommitAck(ack);
  if (!out) {
    noteError(out.error().message);
    return;
  }
  const int64_t now = clock_.monotonicMs();
  // The backend's own word on how far behind it is paces the window.
  sendWindow_.onBackendLag(int64_t(ack.ingest_lag_ms()), now);
  for (const auto& r : ack.committed()) {
    for (double sample : inflight_.acked(r.first(), r.last(), now))
      avlWindow_.onRoundTrip(sample, now, sendWindow_.srttMs());
    queues_.drop(r.first(), r.last());
  }
  // A batch with a report acked was accepted: it can no longer be refused whole.
  for (auto b = batchesInFlight_.begin(); b != batchesInFlight_.end();)
    b = inflight_.contains(b->second.front()) ? std::next(b) : batchesInFlight_.erase(b);
  counters_.committed += uint64_t(out->removed);
  lastCommitAckMs_ = clock_.nowMs();
  if (log::level() <= log::Level::Debug)
    log::debug("link", "commit ack: " + std::to_string(out->removed) + " removed, " +
                           std::to_string(inflight_.size()) + " in flight, outbox " +
                           std::to_string(store_.outboxCount()));
  if (out->removed > 0) emit stateChanged();
  checkAckTimeouts();  // acks of later events show which earlier ones were lost
  pump();
}

void Agent::linkPublishResult(int token, bool ok, int reasonCode) {
  auto it = tokenToSeq_.find(token);
  if (log::level() <= log::Level::Debug)
    log::debug("link", "PUBACK token " + std::to_string(token) + (ok ? " ok" : " failed") + " reason " +
                           std::to_string(reasonCode) + (it == tokenToSeq_.end() ? " (untracked)" : ""));
  if (it == tokenToSeq_.end()) return;
  uint64_t seq = it->second;
  tokenToSeq_.erase(it);
  if (ok) return;
  // The broker refused it (e.g. not authorised for this topic): it cannot be
  // delivered as it is; keep it in the outbox and say so.
  log::error("link", "broker refused event seq " + std::to_string(seq) + " (reason " + std::to_string(reasonCode) + ")");
  noteError("broker refused event seq " + std::to_string(seq) + " (MQTT reason " + std::to_string(reasonCode) + ")");
}

// What was lost or timed out goes again (InFlight::expire): only that,
// oldest first, as the window lets it (it shrinks here). The rest is left to
// come back: sending it again would double a slow backend's work when it is
// slowest. Runs every second and after each commit ack.
void Agent::checkAckTimeouts() {
  if (inflight_.size() == 0) return;
  const int64_t now = clock_.monotonicMs();
  const uint64_t probesBefore = inflight_.probes();
  const int64_t timeout = sendWindow_.rtoMs();
  const auto expired = inflight_.expire(now);
  if (expired.empty()) return;
  const bool timedOut = inflight_.probes() > probesBefore;
  if (timedOut) ++counters_.ackTimeouts;
  for (const auto& [seq, lane] : expired) queues_.rewind(queues_.queueOf(lane, seq), seq);
  // A batch whose reports all went off the flight is over (each goes again).
  for (auto b = batchesInFlight_.begin(); b != batchesInFlight_.end();)
    b = std::any_of(b->second.begin(), b->second.end(), [&](uint64_t s) { return inflight_.contains(s); })
            ? std::next(b)
            : batchesInFlight_.erase(b);
  if (timedOut)
    log::warn("link", "no commit ack within " + std::to_string(timeout) + " ms for any of " +
                          std::to_string(expired.size()) + " events in flight; sending the oldest again, the rest " +
                          "as acks return (window " + std::to_string(sendWindow_.window()) + ", next timeout " +
                          std::to_string(sendWindow_.rtoMs()) + " ms)");
  else
    log::warn("link", std::to_string(expired.size()) + " events lost on the way (later ones were acked); sending them "
                      "again (window " + std::to_string(sendWindow_.window()) + ")");
  // Publishing works, yet nothing at all comes down: the broker may hold this
  // device's session without a working subscription (seen on a RabbitMQ
  // cluster when the node holding the session's queue died while the
  // subscription was being made). Once, until something arrives again: a
  // fresh session, which makes the broker build the subscription anew. What
  // the old session held for the device comes again through the downlink
  // cursor, which every connect asks after. Only after a long silence: a
  // backend that is slow still acks, and one that pauses is waited for.
  if (timedOut && ++silentRetransmits_ >= kSilentRetransmitsBeforeFreshSession && !freshSessionTried_ &&
      now - lastDownMonoMs_ >= kSilenceBeforeFreshSessionMs && link_ == v1::LINK_STATE_ONLINE) {
    log::warn("link", "nothing from the backend through " + broker() + " for " + std::to_string(silentRetransmits_) +
                          " retransmissions (" + std::to_string((now - lastDownMonoMs_) / 1000) +
                          " s): reconnecting with a fresh session");
    noteError("no downlink through " + broker() + ": reconnected with a fresh session");
    ++counters_.freshSessions;
    freshSessionTried_ = true;
    freshSessionNext_ = true;
    client_->disconnect(0);
    linkLost("no downlink for " + std::to_string(silentRetransmits_) + " retransmissions");
    return;
  }
  pump();
}

}  // namespace mdc::agent
