#pragma once
// The AVL share of the agent's send window, following the link. On a slow
// link a whole window of AVL would sit in the network's queue, and a status
// pressed then would wait behind it. Delay-based, as TCP Vegas: the shortest
// commit-ack round trip on the connection is the link's own; anything above
// it is queueing. While the queue stays within one such round trip (at least
// kMinQueueAllowanceMs), the share grows by one per ack; beyond it, it
// shrinks by a fifth, at most once per round trip, down to kMinWindow. The
// backlog still fills the link, and a status finds about one round trip of
// AVL ahead of it. Not thread-safe (the agent's loop).
#include <cstdint>

namespace mdc::agent {

class AvlWindow {
 public:
  /** The share never goes below this: the backend's group commit needs a few events per batch. */
  static constexpr int kMinWindow = 16;
  /** A queue this long is always allowed (a loopback or LAN round trip is a few ms). */
  static constexpr double kMinQueueAllowanceMs = 50;

  /** A new connection: the whole share (cap events) and no round trip known. */
  void reset(int cap);
  /** One commit-ack round trip; srttMs: the smoothed round trip (paces the shrinking). */
  void onRoundTrip(double sampleMs, int64_t nowMonoMs, double srttMs);
  /** AVL events the window may hold now. */
  int limit() const { return int(window_); }
  /** The shortest round trip on this connection; 0 before the first. */
  double minRttMs() const { return haveRtt_ ? minRttMs_ : 0; }

 private:
  double cap_ = 1;
  double window_ = 1;
  bool haveRtt_ = false;  // a round trip of 0 ms (under the clock's resolution) is one
  double minRttMs_ = 0;
  int64_t lastShrinkMonoMs_ = -1000000;
};

}  // namespace mdc::agent
