#include "shared/wire/clock.h"

#include <ctime>
#include <cstdio>

namespace mdc {

namespace {
int64_t readClock(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}
}  // namespace

int64_t SystemClock::nowMs() const { return readClock(CLOCK_REALTIME); }
int64_t SystemClock::monotonicMs() const { return readClock(CLOCK_MONOTONIC); }

const SystemClock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

std::string formatIsoUtc(int64_t unixMs) {
  time_t secs = time_t(unixMs / 1000);
  int ms = int(unixMs % 1000);
  if (ms < 0) { ms += 1000; --secs; }
  tm t{};
  gmtime_r(&secs, &t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1,
                t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ms);
  return buf;
}

}  // namespace mdc
