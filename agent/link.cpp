// The link to the backend: connecting through the broker list (a fleet
// spread over a cluster's nodes), failing over and backing off, and the
// session's subscription to this device's down topic.
#include <algorithm>
#include <random>
#include <utility>

#include "agent/agent.h"
#include "shared/infra/log.h"
#include "shared/wire/topics.h"

namespace mdc::agent {

std::string Agent::brokerLabel() const {
  if (brokers_.size() == 1) return broker();
  return broker() + " (broker " + std::to_string(brokerIndex_ + 1) + " of " + std::to_string(brokers_.size()) + ")";
}

void Agent::connectNow() {
  client_->setUri(broker());
  // A will of its own for each connection: the backend stores a presence
  // once by its event id, so a will made once would say offline only the
  // first time this agent's connection is lost.
  client_->setWill(mqtt::Will{topics::presence(config_.deviceId), presencePayload(false), true, 1});
  setLink(v1::LINK_STATE_CONNECTING, "connecting to " + brokerLabel() + (freshSessionNext_ ? " (fresh session)" : ""));
  const bool fresh = std::exchange(freshSessionNext_, false);
  if (Status s = client_->connect(fresh); !s) linkConnectFailed(s.error().message);
}

void Agent::failOver(const std::string& why) {
  if (brokers_.size() < 2) return;
  const std::string from = broker();
  brokerIndex_ = (brokerIndex_ + 1) % brokers_.size();
  ++counters_.brokerFailovers;
  log::warn("link", "moving from " + from + " to " + brokerLabel() + " (" + why + ")");
}

void Agent::scheduleReconnect() {
  // Within one pass over the broker list the next node is tried soon; only
  // when every node has failed does the backoff grow. Full jitter: a fleet
  // that lost one cell tower must not reconnect in lockstep.
  const int n = int(brokers_.size());
  int base = config_.backoffInitialMs;
  if (failuresOnList_ % n == 0) {
    backoffMs_ = backoffMs_ == 0 ? config_.backoffInitialMs : std::min(backoffMs_ * 2, config_.backoffMaxMs);
    base = backoffMs_;
  }
  std::uniform_int_distribution<int> jitter(base / 2, base);
  int delay = jitter(rng_);
  reconnectTimer_.start(delay);
  linkDetail_ += "; retrying in " + std::to_string((delay + 500) / 1000) + " s";
  emit stateChanged();
}

void Agent::setLink(v1::LinkState state, const std::string& detail) {
  if (state != link_) {
    link_ = state;
    linkSinceMs_ = clock_.nowMs();
  }
  linkDetail_ = detail;
  emit stateChanged();
}

void Agent::linkConnected(bool sessionPresent) {
  ++counters_.connects;
  backoffMs_ = 0;
  failuresOnList_ = 0;
  silentRetransmits_ = 0;
  lastDownMonoMs_ = clock_.monotonicMs();
  downRefused_ = false;
  setLink(v1::LINK_STATE_ONLINE, "connected to " + brokerLabel());
  sendWindow_.connectionStarted();  // the round trip learnt before is kept
  avlWindow_.reset(std::max(1, config_.window - kReservedForPriority));  // this path's round trip is learnt afresh
  batchesRefused_ = false;  // this backend may accept batches (a newer one behind the same address)
  log::info("link", "connected to " + brokerLabel() + " over MQTT " + config_.mqttVersion +
                        (sessionPresent ? " (session resumed)" : " (new session)") + "; outbox " +
                        std::to_string(store_.outboxCount()) + " events");
  subscribeDown();
  publishPresence(true);
  publishResync();
  commitPendingAvl();
  // Everything not yet acknowledged goes again (the backend keeps each once).
  // AVL recorded before this moment is backlog: sent after the live traffic,
  // flagged as backfill, at a bounded rate.
  queues_.reset();
  queues_.setBacklogBoundary(store_.nextSeq());
  backfillTokens_ = 0;
  backfillRefillMonoMs_ = clock_.monotonicMs();
  // The live position goes first: the current fix, if fresh, is reported at
  // once (CONNECT) as live AVL ahead of the backlog; otherwise the next fix is.
  firstFixAfterConnect_ = true;
  if (lastFix_ && lastFix_->hasPosition() && clock_.monotonicMs() - lastFix_->receivedMonoMs < 5000) {
    recordAvl(*lastFix_, v1::AVL_TRIGGER_CONNECT);
    flushAvl();
    firstFixAfterConnect_ = false;
  }
  pump();
}

void Agent::linkConnectFailed(const std::string& reason) {
  ++counters_.connectFailures;
  ++failuresOnList_;
  log::warn("link", "connect to " + brokerLabel() + " failed: " + reason);
  noteError("connect to " + broker() + " failed: " + reason);
  setLink(v1::LINK_STATE_OFFLINE, "connect to " + broker() + " failed: " + reason);
  failOver("connect failed");
  scheduleReconnect();
}

void Agent::linkLost(const std::string& cause) {
  log::warn("link", "connection lost: " + cause + "; " + std::to_string(inflight_.size()) +
                        " events awaiting commit ack will be sent again");
  setLink(v1::LINK_STATE_OFFLINE, "connection lost: " + cause);
  if (int n = records_.linkLost(clock_.nowMs()); n > 0)
    log::warn("records", std::to_string(n) + " records queries lost their answer with the link");
  inflight_.connectionLost();  // what was in flight goes again on the next connection
  tokenToSeq_.clear();
  batchesInFlight_.clear();
  queues_.reset();
  // A cluster's other nodes hold the same session: the next one is as good,
  // and the node that dropped us may be the one that failed.
  failOver("connection lost");
  scheduleReconnect();
}

void Agent::subscribeDown() {
  if (Status s = client_->subscribe(topics::down(config_.deviceId), 1); !s) noteError(s.error().message);
}

void Agent::linkSubscribeResult(const std::string& filter, bool ok, int reasonCode) {
  downRefused_ = !ok;
  if (ok) return;
  // Nothing would come down: say so. The silence is also what the fresh
  // session after unanswered retransmissions repairs (uplink.cpp).
  log::error("link", "the broker refused the subscription to " + filter + " (reason " + std::to_string(reasonCode) +
                         "): nothing from dispatch can arrive");
  noteError("broker refused the subscription to " + filter);
}

}  // namespace mdc::agent
