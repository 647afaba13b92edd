#include "server-stub/service/liveness.h"

#include "mdc/v1/mdc.pb.h"
#include "server-stub/service/cad_service.h"
#include "shared/infra/log.h"
#include "shared/wire/clock.h"
#include "shared/wire/codec.h"
#include "shared/wire/topics.h"

namespace cad {

namespace log = mdc::log;

void Liveness::heard(const std::string& device, bool beat, int64_t monoMs, int64_t unixMs) {
  auto it = devices_.find(device);
  if (it == devices_.end()) {
    if (!beat) return;
    it = devices_.emplace(device, Device{}).first;
  }
  Device& d = it->second;
  if (d.reported) heardAgain_.push_back({device, unixMs});
  d = Device{monoMs, unixMs, false, false};
}

void Liveness::gone(const std::string& device) { devices_.erase(device); }

bool isOfflinePresence(std::string_view payload) {
  auto env = mdc::codec::decodeEnvelope(payload);
  return env && env->body_case() == mdc::v1::Envelope::kPresence && !env->presence().online();
}

std::vector<DeviceSilence> Liveness::silentNow(int64_t monoMs) {
  std::vector<DeviceSilence> out;
  for (auto& [id, d] : devices_)
    if (!d.due && monoMs - d.lastMonoMs > silentAfterMs_) {
      d.due = true;
      out.push_back({id, d.lastUnixMs});
    }
  return out;
}

void Liveness::reportedSilent(const std::vector<std::string>& devices) {
  for (const auto& id : devices)
    if (auto it = devices_.find(id); it != devices_.end() && it->second.due) it->second.reported = true;
}

void Liveness::restartClock(int64_t monoMs) {
  for (auto& [id, d] : devices_) {
    d.lastMonoMs = monoMs;
    if (!d.reported) d.due = false;
  }
}

std::vector<DeviceSilence> Liveness::takeHeardAgain() {
  std::vector<DeviceSilence> out;
  out.swap(heardAgain_);
  return out;
}

void CadService::watchLiveness() {
  if (!liveness_) return;
  auto& clock = mdc::SystemClock::instance();
  auto names = [](const std::vector<std::string>& devices) {
    std::string text;
    for (const auto& d : devices) text += (text.empty() ? "" : ", ") + d;
    return text;
  };
  if (auto silent = liveness_->silentNow(clock.monotonicMs()); !silent.empty()) {
    auto written = store_.recordLiveness(silent, true, clock.nowMs());
    if (!written) {
      log::error("stub", "silent devices not shown offline: " + written.error().message);
    } else if (!written->empty()) {
      liveness_->reportedSilent(*written);
      counters_.silenced += written->size();
      log::warn("stub", "not heard for " + std::to_string(liveness_->silentAfterMs()) + " ms, shown offline: " +
                            names(*written));
    }
  }
  if (auto back = liveness_->takeHeardAgain(); !back.empty()) {
    flush();  // what they sent is stored before they are shown online
    auto written = store_.recordLiveness(back, false, clock.nowMs());
    if (!written) {
      log::error("stub", "devices heard again not shown online: " + written.error().message);
    } else if (!written->empty()) {
      counters_.heardAgain += written->size();
      log::info("stub", "heard again, shown online: " + names(*written));
    }
  }
}

void CadService::edgeNotice(const std::string& edge, const std::string& payload) {
  auto refuse = [&](const std::string& why) {
    ++counters_.refused;
    ++counters_.refusedByReason["bad_edge_notice"];
    log::warn("stub", "edge " + edge + ": liveness notice refused: " + why);
  };
  mdc::v1::EdgeLiveness n;
  if (!n.ParseFromString(payload)) return refuse("not an EdgeLiveness message (" + std::to_string(payload.size()) + " bytes)");
  if (n.edge() != edge) return refuse("it names edge \"" + n.edge().substr(0, 64) + "\"");
  EdgeNotice notice{edge, {}, {}};
  for (auto [from, to] : {std::pair{&n.silent(), &notice.silent}, std::pair{&n.heard(), &notice.heard}})
    for (const auto& d : *from) {
      if (!mdc::topics::isValidDeviceId(d.device_id())) return refuse("device id \"" + d.device_id().substr(0, 64) + "\"");
      to->push_back({d.device_id(), d.last_heard_ms()});
    }
  ++counters_.edgeNotices;
  edgeNotices_.push_back(std::move(notice));
  if (!flushTimer_.isActive()) flushTimer_.start(config_.batchMs);
}

bool CadService::recordEdgeNotices() {
  std::vector<EdgeNotice> notices;
  notices.swap(edgeNotices_);
  const int64_t now = mdc::SystemClock::instance().nowMs();
  auto names = [](const std::vector<std::string>& devices) {
    std::string text;
    for (const auto& d : devices) text += (text.empty() ? "" : ", ") + d;
    return text;
  };
  for (const EdgeNotice& n : notices)
    for (bool silent : {true, false}) {
      const auto& devices = silent ? n.silent : n.heard;
      if (devices.empty()) continue;
      auto written = store_.recordLiveness(devices, silent, now, "edge:" + n.edge);
      if (!written) {
        log::error("stub", "edge " + n.edge + ": " + written.error().message);
        return false;
      }
      if (written->empty()) continue;
      (silent ? counters_.silenced : counters_.heardAgain) += written->size();
      if (silent)
        log::warn("stub", "edge " + n.edge + ": not heard, shown offline: " + names(*written));
      else
        log::info("stub", "edge " + n.edge + ": heard again, shown online: " + names(*written));
    }
  return true;
}

}  // namespace cad
