#include "agent/avl_window.h"

#include <algorithm>

namespace mdc::agent {

void AvlWindow::reset(int cap) {
  cap_ = std::max(1, cap);
  window_ = cap_;
  haveRtt_ = false;
  lastShrinkMonoMs_ = -1000000;
}

void AvlWindow::onRoundTrip(double sampleMs, int64_t nowMonoMs, double srttMs) {
  if (!haveRtt_ || sampleMs < minRttMs_) minRttMs_ = sampleMs;
  haveRtt_ = true;
  const double allowance = std::max(minRttMs_, kMinQueueAllowanceMs);
  if (sampleMs > minRttMs_ + allowance) {
    if (nowMonoMs - lastShrinkMonoMs_ >= int64_t(std::max(srttMs, 10.0))) {
      window_ = std::max(std::min(double(kMinWindow), cap_), window_ * 0.8);
      lastShrinkMonoMs_ = nowMonoMs;
    }
  } else if (sampleMs <= minRttMs_ + allowance / 2) {
    window_ = std::min(cap_, window_ + 1);
  }
}

}  // namespace mdc::agent
