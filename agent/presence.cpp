// This device's presence on the backend (retained, with a will saying
// offline) and the health it carries: published again when the health changes.
#include <algorithm>

#include "agent/agent.h"
#include "agent/state_key.h"
#include "shared/wire/codec.h"
#include "shared/infra/log.h"
#include "shared/wire/topics.h"

namespace mdc::agent {

std::string Agent::presencePayload(bool online) {
  v1::Envelope env = newEnvelope();
  env.set_seq(0);
  auto* p = env.mutable_presence();
  p->set_online(online);
  p->set_agent_version(MDC_VERSION);
  for (auto lane : kLanes) {
    auto d = store_.laneDepth(lane);
    auto* q = p->add_queue();
    q->set_lane(lane);
    q->set_count(uint32_t(d.count));
    q->set_oldest_at_ms(d.oldestRecordedAtMs);
  }
  if (lastFix_ && lastFix_->hasPosition()) fillPosition(p->mutable_last_fix(), *lastFix_);
  p->set_dropped_avl(uint64_t(store_.stateInt(StateKey(StateKind::DroppedAvl))));
  p->set_rejected_events(uint64_t(store_.stateInt(StateKey(StateKind::RejectedEvents))));
  p->set_cert_not_after_ms(std::max<int64_t>(0, certNotAfterMs_));
  p->set_gps_fix(noFixSinceMs_ == 0 && lastFix_.has_value());
  if (noFixSinceMs_ >= codec::kMinTimeMs && noFixSinceMs_ < codec::kMaxTimeMs) p->set_gps_no_fix_since_ms(noFixSinceMs_);
  auto bytes = codec::encodeEnvelope(env);
  if (!bytes) {
    log::error("agent", "presence not encodable: " + bytes.error().message);
    return {};
  }
  return *bytes;
}

void Agent::publishPresence(bool online) {
  auto r = client_->publish(topics::presence(config_.deviceId), presencePayload(online), 1, true);
  if (!r) noteError(r.error().message);
  if (online) {
    presenceHealth_ = healthSignature();
    presenceMonoMs_ = clock_.monotonicMs();
  }
}

std::string Agent::healthSignature() const {
  // The depth by its power of ten: 0, 1-9, 10-99, ...
  int64_t depth = 0;
  for (auto lane : kLanes) depth += store_.laneDepth(lane).count;
  int magnitude = 0;
  for (int64_t d = depth; d > 0; d /= 10) ++magnitude;
  return std::to_string(noFixSinceMs_ == 0 && lastFix_.has_value()) + "/" + std::to_string(magnitude) + "/" +
         std::to_string(certNotAfterMs_);
}

void Agent::beatIfIdle() {
  if (link_ != v1::LINK_STATE_ONLINE || !client_) return;
  if (client_->msSinceLastPublish() < int64_t(config_.heartbeatS) * 1000) return;
  // QoS 0 and empty: a lost one is followed by the next; nothing to store.
  if (auto r = client_->publish(topics::beat(config_.deviceId), std::string(), 0, false); !r)
    noteError(r.error().message);
}

void Agent::refreshPresence() {
  if (link_ != v1::LINK_STATE_ONLINE || !client_) return;
  if (clock_.monotonicMs() - presenceMonoMs_ < int64_t(config_.healthIntervalS) * 1000 ||
      healthSignature() == presenceHealth_)
    return;
  log::info("link", "health changed: presence published again");
  publishPresence(true);
}

}  // namespace mdc::agent
