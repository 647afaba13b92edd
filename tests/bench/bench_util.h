#pragma once
// What every benchmark computes the same way.
#include <algorithm>
#include <chrono>
#include <vector>

namespace mdc::bench {

inline double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/** The p-th percentile (nearest rank) of v; whenEmpty for no samples. */
inline double percentile(std::vector<double> v, double p, double whenEmpty = -1) {
  if (v.empty()) return whenEmpty;
  std::sort(v.begin(), v.end());
  size_t i = size_t(p / 100.0 * double(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace mdc::bench
