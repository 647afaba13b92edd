// The way to the devices: commit acks, downlinks, the outbox's resends and
// the answer to a resync, over the stub's MQTT client or, from a worker, over
// AMQP (amqp::Publisher).
#include <algorithm>

#include "server-stub/service/cad_service.h"
#include "server-stub/store/read_models.h"
#include "shared/infra/log.h"
#include "shared/wire/clock.h"
#include "shared/wire/codec.h"
#include "shared/wire/topics.h"

namespace cad {

namespace log = mdc::log;
namespace topics = mdc::topics;

Status CadService::sendDown(const std::string& device, std::string bytes, int qos) {
  if (amqpOut_) {
    if (amqpOut_->publish(topics::down(device), std::move(bytes), qos)) return {};
    return Error::make("the AMQP publisher's queue is full: message to " + device + " dropped");
  }
  auto r = client_->publish(topics::down(device), bytes, qos, false);
  if (!r) return r.error();
  return {};
}

// Commit acks go with QoS 0. An ack is derived from the store and idempotent:
// one that is lost (the device's link dropped) leaves the events in the
// device's outbox, which sends them again, and they are acked again as
// duplicates. QoS 1 would only add the broker's own acknowledgement, and it
// cost the stub half its ingest: paho scans every message in flight for each
// publish and each PUBACK (README, "Measured figures").
constexpr int kAckQos = 0;

void CadService::publishAcks(const std::map<std::string, std::vector<uint64_t>>& acks, int64_t lagMs) {
  if (!online_) return;
  for (const auto& [device, seqsIn] : acks) {
    std::vector<uint64_t> seqs = seqsIn;
    std::sort(seqs.begin(), seqs.end());
    auto unit = unitCache_.find(device);
    if (unit == unitCache_.end())
      unit = unitCache_.emplace(device, ReadModels(store_).unitOfDevice(device).value_or("unknown")).first;
    mdc::v1::Downlink dl = unsequenced(unit->second);
    auto* ack = dl.mutable_commit_ack();
    ack->set_downlink_head(headOf(unit->second));  // a device missing a tail asks for it
    ack->set_ingest_lag_ms(uint32_t(lagMs));
    for (size_t i = 0; i < seqs.size();) {
      size_t j = i;
      while (j + 1 < seqs.size() && seqs[j + 1] <= seqs[j] + 1) ++j;
      if (ack->committed_size() == 1024) {
        // Full: send this one and start another.
        (void)sendDown(device, dl.SerializeAsString(), kAckQos);
        ++counters_.acksPublished;
        ack->clear_committed();
      }
      auto* r = ack->add_committed();
      r->set_first(seqs[i]);
      r->set_last(seqs[j]);
      i = j + 1;
    }
    if (ack->committed_size() > 0) {
      if (Status r = sendDown(device, dl.SerializeAsString(), kAckQos); !r) log::warn("stub", r.error().message);
      ++counters_.acksPublished;
    }
  }
}

void CadService::publish(const std::vector<Outgoing>& out) {
  for (const auto& o : out)
    if (o.downlink.seq() > 0) {
      uint64_t& head = headCache_[o.downlink.unit_id()];
      head = std::max(head, o.downlink.seq());
    }
  // Offline, or refused by the client: kept in the store, the outbox sends
  // them again once the link is back (pumpDownlinks).
  if (!online_) return;
  for (const auto& o : out) {
    auto bytes = mdc::codec::encodeDownlink(o.downlink);
    if (!bytes) {
      log::error("stub", "downlink not sent: " + bytes.error().message);
      continue;
    }
    if (Status r = sendDown(o.deviceId, std::move(*bytes), 1); !r) {
      ++counters_.publishFailures;
      log::warn("stub", "downlink " + std::to_string(o.downlink.seq()) + " to " + o.deviceId +
                            " not sent (sent again from the outbox): " + r.error().message);
    } else {
      ++counters_.downlinksPublished;
    }
  }
}

mdc::v1::Downlink CadService::unsequenced(const std::string& unit) {
  mdc::v1::Downlink dl;
  dl.set_version(mdc::codec::kProtocolVersion);
  dl.set_unit_id(unit);
  dl.set_seq(0);
  dl.set_sent_at_ms(mdc::SystemClock::instance().nowMs());
  return dl;
}

uint64_t CadService::headOf(const std::string& unit) {
  auto it = headCache_.find(unit);
  if (it == headCache_.end()) it = headCache_.emplace(unit, ReadModels(store_).downlinkHead(unit)).first;
  return it->second;
}

void CadService::pumpDownlinks() {
  if (!linkReady()) return;
  const int64_t now = mdc::SystemClock::instance().monotonicMs();
  for (const auto& lag : ReadModels(store_).laggingDevices()) {
    auto last = lastResendMonoMs_.find(lag.deviceId);
    if (last != lastResendMonoMs_.end() && now - last->second < config_.resendMs) continue;
    lastResendMonoMs_[lag.deviceId] = now;
    auto dls = ReadModels(store_).downlinksAfter(lag.unitId, lag.holds, 256);
    log::info("stub", "downlinks to " + lag.deviceId + " (unit " + lag.unitId + "): it holds up to seq " +
                          std::to_string(lag.holds) + " of " + std::to_string(lag.head) + "; sending " +
                          std::to_string(dls.size()) + " again");
    std::vector<Outgoing> out;
    for (auto& d : dls) out.push_back(Outgoing{lag.deviceId, std::move(d)});
    counters_.downlinksResent += out.size();
    publish(out);
  }
}

void CadService::handleResync(const std::string& device, uint64_t after) {
  ++counters_.resyncs;
  auto unit = ReadModels(store_).unitOfDevice(device);
  if (!unit) return;
  auto dls = ReadModels(store_).downlinksAfter(*unit, after);
  std::vector<Outgoing> out;
  for (auto& d : dls) out.push_back(Outgoing{device, std::move(d)});
  if (!out.empty())
    log::info("stub", "resync " + device + " (unit " + *unit + ") after " + std::to_string(after) + ": " +
                          std::to_string(out.size()) + " downlinks");
  publish(out);
  lastResendMonoMs_[device] = mdc::SystemClock::instance().monotonicMs();
  // The answer to every request: the unit's head, so the device knows what it holds is all.
  if (!online_ || headOf(*unit) == 0) return;
  mdc::v1::Downlink dl = unsequenced(*unit);
  dl.mutable_commit_ack()->set_downlink_head(headOf(*unit));
  if (Status r = sendDown(device, dl.SerializeAsString(), 1); !r) {
    ++counters_.publishFailures;
    log::warn("stub", r.error().message);
  }
}

}  // namespace cad
