#pragma once
// How much the agent keeps in flight towards the backend, and when it sends
// again what no commit ack came back for: TCP's congestion control over the
// commit-ack round trip. A backend that is slow must see the drain slow down
// in proportion, never a storm of resends on top of its backlog.
//
// - The congestion window (all lanes together) starts small on each
//   connection, doubles per round trip while below its threshold (slow
//   start), then grows by one event per window of acks (RFC 5681). A
//   loss found by later acks halves it, at most once per round trip; so does
//   a backend that says it is behind (its ingest lag, carried on each commit
//   ack, above kLagTargetMs), which also stops the growth, as an ECN mark
//   does; neither takes it below kMinWindow. A retransmission timeout (no
//   ack at all) restarts it from one event.
// - The retransmission timeout is RFC 6298's (srtt + 4 rttvar) plus a second
//   for group commit and scheduling, never under twice the lag the backend
//   reports, doubled after each timeout until a clean sample comes back, at
//   least kMinRtoMs and at most the configured ceiling (raised to the
//   backend's reported lag when that is longer: waiting less would only
//   resend what it is about to commit).
// - Only events sent once give round-trip samples (Karn). A resend that comes
//   back as a duplicate ack proves the timeout was spurious: the first copy's
//   round trip becomes the estimate (Eifel), so a slow backend is waited for
//   rather than flooded. The estimate survives reconnects: a backlog never
//   starts again from one fast sample.
//
// Not thread-safe (the agent's loop).
#include <cstdint>
#include <map>
#include <vector>

#include "mdc/v1/mdc.pb.h"

namespace mdc::agent {

class SendWindow {
 public:
  /** The window never goes below this many events. */
  static constexpr int kMinWindow = 4;
  /** A new connection starts with this many (or the cap, if smaller). */
  static constexpr int kInitialWindow = 10;
  /** Emergencies may always have this many in flight, whatever the window says. */
  static constexpr int kEmergencyFloor = 4;
  /** A backend whose ingest lag is above this is behind: the window shrinks. */
  static constexpr int64_t kLagTargetMs = 250;
  static constexpr int64_t kMinRtoMs = 2000;
  /** Before any sample: the timeout (or the ceiling, if shorter). */
  static constexpr int64_t kInitialRtoMs = 5000;
  /** Until the first ack on a connection, the timer waits at least this
   *  long (or the ceiling): after an outage the whole fleet's first windows
   *  queue at the backend at once, and how long that takes is not known yet. */
  static constexpr int64_t kUnconfirmedRtoMs = 10000;

  /** cap: link.window; ceilingMs: link.ack_timeout_s in ms. */
  SendWindow(int cap, int64_t ceilingMs);

  /** A new connection: the window starts again from kInitialWindow; the threshold and round-trip estimate are kept. */
  void connectionStarted();
  /** events: events acknowledged for the first time; sampleMs: the round trip of one sent once (Karn), < 0 if none. */
  void onAck(int events, double sampleMs, int64_t nowMonoMs);
  /** The first copy of an event sent again came back after firstCopyRttMs: the timeout was spurious (Eifel). */
  void onSpuriousTimeout(double firstCopyRttMs);
  /** A timeout proved spurious before its resends went: the window goes back to its threshold (half what it was). */
  void undoTimeout();
  /** The backend's ingest lag, from a commit ack. */
  void onBackendLag(int64_t lagMs, int64_t nowMonoMs);
  /** A retransmission timeout fired: nothing came back for too long. */
  void onTimeout(int64_t nowMonoMs);
  /** Events were found lost (acks came for events sent after them). */
  void onLoss(int64_t nowMonoMs);

  /** Events the window allows in flight (all lanes). */
  int window() const { return int(cwnd_); }
  int threshold() const { return int(ssthresh_); }
  /** The retransmission timeout now (longer until the first ack on this connection). */
  int64_t rtoMs() const;
  double srttMs() const { return srttMs_; }
  /** The backend's latest reported ingest lag (0: not behind, or never told). */
  int64_t backendLagMs() const { return lagMs_; }
  /** Timeouts after which a resend came back as a duplicate ack. */
  uint64_t spuriousTimeouts() const { return spurious_; }
  uint64_t timeouts() const { return timeouts_; }
  /** Times the window shrank because the backend said it was behind. */
  uint64_t lagCuts() const { return lagCuts_; }

 private:
  void cut(int64_t nowMonoMs);
  /** Less than a round trip (at least 100 ms) since sinceMonoMs: one reaction per round trip. */
  bool withinRoundTrip(int64_t sinceMonoMs, int64_t nowMonoMs) const;
  double cap_;
  int64_t ceilingMs_;
  double cwnd_;
  double ssthresh_;
  double srttMs_ = 0;
  double rttvarMs_ = 0;
  bool haveSample_ = false;
  bool confirmed_ = false;   ///< an ack came on this connection
  int backoff_ = 1;          ///< doubles per timeout, back to 1 on a clean sample
  int64_t lagMs_ = 0;
  int64_t lagAtMonoMs_ = -1000000;  ///< when the backend last said it was behind
  int64_t lastCutMonoMs_ = -1000000;
  uint64_t spurious_ = 0, timeouts_ = 0, lagCuts_ = 0;
};

/** The events published and awaiting their commit ack, and which of them
 *  to send again. An event is lost when an event sent after it has been
 *  acknowledged and it has not, a reordering allowance later (RACK, RFC
 *  8985: the backend commits in arrival order; several workers may reorder
 *  within a batch's time). When nothing comes back at all for the
 *  retransmission timeout, everything in flight is owed again but the window
 *  restarts from one event: the oldest goes alone, the rest as acks return,
 *  and a slow backend's acks of the first copies cancel what is owed. A slow
 *  backend costs one duplicate per (backed-off) timeout, not a window. Not
 *  thread-safe (the agent's loop). */
class InFlight {
 public:
  struct Event {
    v1::Lane lane;
    int64_t sentMonoMs;
    int64_t firstSentMonoMs;  ///< the first copy's, for a resend
    bool resend;              ///< this copy is a resend: its ack gives no round-trip sample (Karn)
  };
  /** Acks of events sent later than a missing one, this long after its ack was due, make it lost. */
  static constexpr int64_t kReorderAllowanceMs = 1000;

  explicit InFlight(SendWindow& window) : window_(window) {}

  /** Records an event as published now (a resend when it was given back by expire() or lost with the link). */
  void sent(uint64_t seq, v1::Lane lane, int64_t nowMonoMs);
  /** The commit ack of seqs first..last: feeds the window; returns the clean round-trip samples (ms). */
  std::vector<double> acked(uint64_t first, uint64_t last, int64_t nowMonoMs);
  /** Takes the events lost (or, on a timeout, all) off the flight, in seq order; they are resends when sent again. */
  std::vector<std::pair<uint64_t, v1::Lane>> expire(int64_t nowMonoMs);
  /** The backend refused or held the event: it is no longer in flight nor owed a resend. */
  void forget(uint64_t seq);
  /** The connection is gone: whatever was in flight is a resend on the next. */
  void connectionLost();

  size_t size() const { return events_.size(); }
  bool contains(uint64_t seq) const { return events_.count(seq) > 0; }
  /** Taken off the flight and not acked since: to be sent again. */
  bool owes(uint64_t seq) const { return owed_.count(seq) > 0; }
  int emergency() const { return emergency_; }
  /** Acks for resends whose first copy was acked already: a slow backend, not loss. */
  uint64_t duplicateAcks() const { return duplicateAcks_; }
  uint64_t lost() const { return lost_; }
  uint64_t probes() const { return probes_; }
  /** Timeouts undone because a first copy's ack came after them. */
  uint64_t spuriousTimeouts() const { return spuriousTimeouts_; }
  /** Events published again (lost, timed out, or in flight when the link went). */
  uint64_t resent() const { return resent_; }

 private:
  struct Owed {
    Event event;     ///< as it was in flight
    bool byTimeout;  ///< taken by a timeout (not found lost): may come back if the timeout proves spurious
  };
  using Events = std::map<uint64_t, Event>;
  /** Takes an event off the flight (its emergency slot too); returns the next. */
  Events::iterator erase(Events::iterator it);
  /** Takes it off the flight and owes it; returns the next. */
  Events::iterator take(Events::iterator it, bool byTimeout);
  /** A first copy was acked while owed after a timeout: the backend was slow. What
   *  the timeout took goes back in flight, as it was (F-RTO, RFC 5682). */
  void undoTimeout(int64_t nowMonoMs, const Event& proof);
  SendWindow& window_;
  Events events_;
  int emergency_ = 0;
  std::map<uint64_t, Owed> owed_;             ///< taken off the flight, to go again
  std::map<uint64_t, double> resentAcked_;    ///< resends acked once: seq -> the wait since the first copy (bounded)
  int64_t rackSentMs_ = -1;                   ///< the latest send time among acked events, this connection
  double rackRttMs_ = 0;                      ///< that event's round trip
  uint64_t duplicateAcks_ = 0, lost_ = 0, probes_ = 0, resent_ = 0, spuriousTimeouts_ = 0;
};

}  // namespace mdc::agent
