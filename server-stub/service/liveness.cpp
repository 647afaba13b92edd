#include "server-stub/service/liveness.h"

#include "server-stub/service/cad_service.h"
#include "shared/infra/log.h"
#include "shared/wire/clock.h"

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

}  // namespace cad
