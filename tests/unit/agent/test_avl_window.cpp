// The AVL share of the agent's window against simulated links: a link whose
// round trip is its own plus the queue the window builds (bytes in flight
// beyond the bandwidth-delay product, drained at the link's rate).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>

#include "agent/avl_window.h"

using mdc::agent::AvlWindow;

namespace {

constexpr double kReportBytes = 162;  // an AVL report on the wire

struct Link {
  double rateBytesPerS;
  double rttMs;
  /** The round trip an event sees with `inflight` events ahead of and with it. */
  double roundTrip(int inflight) const {
    const double bdp = rateBytesPerS * rttMs / 1000.0;
    const double queued = std::max(0.0, inflight * kReportBytes - bdp);
    return rttMs + 1000.0 * queued / rateBytesPerS;
  }
};

/** Runs the window for `ms` of simulated time from a fresh connection, one ack per report drained. */
AvlWindow run(const Link& link, int cap, double ms) {
  AvlWindow w;
  w.reset(cap);
  double srtt = 0;
  const double perAckMs = 1000.0 * kReportBytes / link.rateBytesPerS;
  int acks = 0;
  for (double t = 0; t < ms; t += perAckMs) {
    // The window's first burst goes into an empty link: its first report
    // sees the link's own round trip, each later one the queue ahead of it.
    const double sample = link.roundTrip(std::min(++acks, w.limit()));
    srtt = srtt <= 0 ? sample : 0.875 * srtt + 0.125 * sample;
    w.onRoundTrip(sample, int64_t(t), srtt);
  }
  return w;
}

}  // namespace

TEST_CASE("the AVL window starts at its whole share and keeps it where the round trip does not grow",
          "[agent][avl_window]") {
  AvlWindow w;
  w.reset(248);
  CHECK(w.limit() == 248);
  // Loopback to a committing backend: a few ms, up to 40 ms under load.
  for (int i = 0; i < 10000; ++i) w.onRoundTrip(2 + (i % 20) * 2.0, i, 20);
  CHECK(w.limit() == 248);
  CHECK(w.minRttMs() == 2);
}

TEST_CASE("on a 3G link the AVL window keeps about one round trip of queue ahead of a status",
          "[agent][avl_window]") {
  const Link g3{384000 / 8.0, 300};
  const AvlWindow w = run(g3, 248, 120000);
  // The link stays full: at least its bandwidth-delay product in flight (89 reports).
  const double bdpReports = g3.rateBytesPerS * g3.rttMs / 1000.0 / kReportBytes;
  CHECK(w.limit() >= int(bdpReports));
  // A status behind the window waits at most about one round trip more than
  // the link's own (the whole share of 248 would be 570 ms more).
  const double queueMs = g3.roundTrip(w.limit()) - g3.rttMs;
  INFO("window " << w.limit() << ", queue " << queueMs << " ms");
  CHECK(queueMs <= 1.1 * g3.rttMs);
  CHECK(g3.roundTrip(248) - g3.rttMs > 500);
}

TEST_CASE("the AVL window never shrinks below its floor, and a new connection learns the round trip afresh",
          "[agent][avl_window]") {
  const Link slow{9600 / 8.0, 600};  // a link far slower than any profile
  AvlWindow w = run(slow, 248, 600000);
  CHECK(w.limit() == AvlWindow::kMinWindow);
  w.reset(248);
  CHECK(w.limit() == 248);
  CHECK(w.minRttMs() == 0);
  // A share below the floor stays whole.
  w.reset(8);
  for (int i = 0; i < 100; ++i) w.onRoundTrip(100 + i * 50.0, i * 1000, 1000);
  CHECK(w.limit() == 8);
}

TEST_CASE("the AVL window shrinks at most once per round trip", "[agent][avl_window]") {
  AvlWindow w;
  w.reset(200);
  w.onRoundTrip(100, 0, 100);     // the link's own: 100 ms
  w.onRoundTrip(400, 1000, 100);  // queueing: shrink by a fifth
  CHECK(w.limit() == 160);
  w.onRoundTrip(400, 1050, 100);  // within the same round trip: no more
  CHECK(w.limit() == 160);
  w.onRoundTrip(400, 1100, 100);
  CHECK(w.limit() == 128);
}

TEST_CASE("a round trip under the clock's resolution (0 ms) is the link's own, not a missing one",
          "[agent][avl_window]") {
  AvlWindow w;
  w.reset(248);
  w.onRoundTrip(0, 0, 1);
  w.onRoundTrip(30, 1, 1);
  CHECK(w.minRttMs() == 0);
  // 0 ms + at least 50 ms of queue allowed: 60 ms is queueing.
  w.onRoundTrip(60, 100, 1);
  CHECK(w.limit() == int(248 * 0.8));
}
