#include "tests/support/probes.h"

namespace mdc::test {

// ---- MqttProbe

bool MqttProbe::waitFor(std::chrono::milliseconds timeout, const std::function<bool()>& pred) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, pred);
}

void MqttProbe::onConnected(bool sessionPresent) {
  {
    std::lock_guard lock(mu_);
    ++connects_;
    sessionPresent_ = sessionPresent;
    outcomes_.push_back(true);
  }
  cv_.notify_all();
}

void MqttProbe::onConnectFailed(const std::string& reason, int code) {
  {
    std::lock_guard lock(mu_);
    lastFailure_ = reason + " (code " + std::to_string(code) + ")";
    outcomes_.push_back(false);
  }
  cv_.notify_all();
}

void MqttProbe::onConnectionLost(const std::string& cause) {
  {
    std::lock_guard lock(mu_);
    ++lost_;
    lastFailure_ = "lost: " + cause;
  }
  cv_.notify_all();
}

void MqttProbe::onMessage(std::string topic, std::string payload, bool dup) {
  {
    std::lock_guard lock(mu_);
    messages_.push_back({std::move(topic), std::move(payload), dup});
  }
  cv_.notify_all();
}

void MqttProbe::onPublishResult(int, bool ok, int reasonCode) {
  {
    std::lock_guard lock(mu_);
    pubResults_.emplace_back(ok, reasonCode);
  }
  cv_.notify_all();
}

void MqttProbe::onSubscribeResult(const std::string& filter, bool ok, int) {
  {
    std::lock_guard lock(mu_);
    subResults_.emplace_back(filter, ok);
  }
  cv_.notify_all();
}

bool MqttProbe::waitConnectOutcome(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [this] { return outcomes_.size() > outcomesSeen_; })) {
    lastFailure_ = "no connect outcome within " + std::to_string(timeout.count()) + " ms";
    return false;
  }
  return outcomes_[outcomesSeen_++];
}

bool MqttProbe::waitLost(int n, std::chrono::milliseconds timeout) {
  return waitFor(timeout, [&] { return lost_ > n; });
}

bool MqttProbe::waitMessages(size_t n, std::chrono::milliseconds timeout) {
  return waitFor(timeout, [&] { return messages_.size() >= n; });
}

bool MqttProbe::waitPublishResults(size_t n, std::chrono::milliseconds timeout) {
  return waitFor(timeout, [&] { return pubResults_.size() >= n; });
}

bool MqttProbe::waitSubscribed(size_t n, std::chrono::milliseconds timeout) {
  if (!waitFor(timeout, [&] { return subResults_.size() >= n; })) return false;
  std::lock_guard lock(mu_);
  for (auto& [filter, ok] : subResults_)
    if (!ok) return false;
  return true;
}

int MqttProbe::connects() const {
  std::lock_guard lock(mu_);
  return connects_;
}

bool MqttProbe::sessionPresent() const {
  std::lock_guard lock(mu_);
  return sessionPresent_;
}

std::string MqttProbe::lastFailure() const {
  std::lock_guard lock(mu_);
  return lastFailure_;
}

int MqttProbe::connectionsLost() const {
  std::lock_guard lock(mu_);
  return lost_;
}

std::vector<MqttProbe::Message> MqttProbe::messages() const {
  std::lock_guard lock(mu_);
  return messages_;
}

std::vector<std::pair<bool, int>> MqttProbe::publishResults() const {
  std::lock_guard lock(mu_);
  return pubResults_;
}

// ---- GpsProbe

void GpsProbe::onFix(const hw::Fix& fix) {
  {
    std::lock_guard lock(mu_);
    fixes_.push_back(fix);
    if (fix.hasPosition()) ++positions_;
    lastFix_ = std::chrono::steady_clock::now();
  }
  cv_.notify_all();
}

void GpsProbe::onSourceState(bool connected, const std::string& detail) {
  {
    std::lock_guard lock(mu_);
    states_.push_back({connected, detail});
  }
  cv_.notify_all();
}

bool GpsProbe::waitPositions(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return positions_ >= n; });
}

bool GpsProbe::waitState(bool connected, size_t from, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    for (size_t i = from; i < states_.size(); ++i)
      if (states_[i].connected == connected) return true;
    return false;
  });
}

bool GpsProbe::waitQuiet(std::chrono::milliseconds quiet, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mu_);
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (now - lastFix_ >= quiet) return true;
    if (now >= deadline) return false;
    cv_.wait_until(lock, std::min(deadline, lastFix_ + quiet));
  }
}

std::vector<hw::Fix> GpsProbe::fixes() const {
  std::lock_guard lock(mu_);
  return fixes_;
}

std::vector<hw::Fix> GpsProbe::positions() const {
  std::lock_guard lock(mu_);
  std::vector<hw::Fix> out;
  for (auto& f : fixes_)
    if (f.hasPosition()) out.push_back(f);
  return out;
}

std::vector<GpsProbe::State> GpsProbe::states() const {
  std::lock_guard lock(mu_);
  return states_;
}

}  // namespace mdc::test
