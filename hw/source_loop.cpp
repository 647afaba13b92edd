#include "hw/source_loop.h"

#include <cstdio>

namespace mdc::hw {

void SourceLoop::start(std::function<void()> body) {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread(std::move(body));
}

void SourceLoop::stop() {
  {
    // Under the lock: a pause between its check and its wait cannot miss the wake-up.
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool SourceLoop::sleepFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

bool SourceLoop::sleepUntil(std::chrono::steady_clock::time_point due) {
  std::unique_lock lock(mu_);
  return !cv_.wait_until(lock, due, [this] { return stopping_.load(); });
}

std::string describeDelay(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", double(d.count()) / 1000.0);
  return buf;
}

}  // namespace mdc::hw
