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

std::string deviceNames(const std::vector<std::string>& devices) {
  std::string text;
  for (const auto& d : devices) text += (text.empty() ? "" : ", ") + d;
  return text;
}

Result<std::vector<std::string>> CadService::showLiveness(const std::vector<DeviceSilence>& devices, bool silent,
                                                          const std::string& actor, const std::string& who,
                                                          const std::string& notHeard) {
  auto written = store_.recordLiveness(devices, silent, mdc::SystemClock::instance().nowMs(), actor);
  if (!written) {
    log::error("stub", who + (silent ? "silent devices not shown offline: " : "devices heard again not shown online: ") +
                           written.error().message);
  } else if (!written->empty()) {
    (silent ? counters_.silenced : counters_.heardAgain) += written->size();
    if (silent) log::warn("stub", who + notHeard + ", shown offline: " + deviceNames(*written));
    else log::info("stub", who + "heard again, shown online: " + deviceNames(*written));
  }
  return written;
}

void CadService::watchLiveness() {
  if (!liveness_) return;
  const std::string notHeard = "not heard for " + std::to_string(liveness_->silentAfterMs()) + " ms";
  if (auto silent = liveness_->silentNow(mdc::SystemClock::instance().monotonicMs()); !silent.empty())
    if (auto written = showLiveness(silent, true, "stub:liveness", "", notHeard)) liveness_->reportedSilent(*written);
  if (auto back = liveness_->takeHeardAgain(); !back.empty()) {
    flush();  // what they sent is stored before they are shown online
    (void)showLiveness(back, false, "stub:liveness", "", notHeard);  // logged there
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
  for (const EdgeNotice& n : notices)
    for (bool silent : {true, false})
      if (const auto& devices = silent ? n.silent : n.heard; !devices.empty())
        if (!showLiveness(devices, silent, "edge:" + n.edge, "edge " + n.edge + ": ", "not heard")) return false;
  return true;
}

}  // namespace cad
