#include "agent/send_window.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace mdc::agent {

SendWindow::SendWindow(int cap, int64_t ceilingMs)
    : cap_(std::max(1, cap)), ceilingMs_(std::max<int64_t>(1, ceilingMs)), cwnd_(0), ssthresh_(cap_) {
  connectionStarted();
}

void SendWindow::connectionStarted() {
  cwnd_ = std::min(cap_, double(kInitialWindow));
  lastCutMonoMs_ = -1000000;
  confirmed_ = false;
}

void SendWindow::onAck(int events, double sampleMs, int64_t nowMonoMs) {
  if (sampleMs >= 0) {
    if (!haveSample_) {
      srttMs_ = sampleMs;
      rttvarMs_ = sampleMs / 2;
      haveSample_ = true;
    } else {
      rttvarMs_ = 0.75 * rttvarMs_ + 0.25 * std::fabs(srttMs_ - sampleMs);
      srttMs_ = 0.875 * srttMs_ + 0.125 * sampleMs;
    }
    backoff_ = 1;
    confirmed_ = true;
  }
  if (events <= 0) return;
  confirmed_ = true;
  // Behind within the last round trip: hold the window where it is.
  if (withinRoundTrip(lagAtMonoMs_, nowMonoMs)) return;
  if (cwnd_ < ssthresh_) cwnd_ = std::min(cwnd_ + events, ssthresh_);  // slow start
  else cwnd_ += double(events) / cwnd_;                                   // congestion avoidance
  cwnd_ = std::min(cwnd_, cap_);
}

void SendWindow::onSpuriousTimeout(double firstCopyRttMs) {
  ++spurious_;
  // The backend took this long for the first copy: that is the round trip to
  // wait for, not a loss to repair.
  srttMs_ = std::max(srttMs_, firstCopyRttMs);
  rttvarMs_ = std::max(rttvarMs_, firstCopyRttMs / 4);
  haveSample_ = true;
  backoff_ = 1;
}

void SendWindow::undoTimeout() { cwnd_ = std::min(cap_, std::max(cwnd_, ssthresh_)); }

void SendWindow::onBackendLag(int64_t lagMs, int64_t nowMonoMs) {
  lagMs_ = std::max<int64_t>(0, lagMs);
  if (lagMs_ <= kLagTargetMs) return;
  lagAtMonoMs_ = nowMonoMs;
  if (withinRoundTrip(lastCutMonoMs_, nowMonoMs)) return;
  ++lagCuts_;
  cut(nowMonoMs);
}

void SendWindow::onTimeout(int64_t nowMonoMs) {
  ++timeouts_;
  backoff_ = std::min(backoff_ * 2, 64);
  ssthresh_ = std::max(double(kMinWindow), cwnd_ / 2);
  cwnd_ = 1;  // the loss window (RFC 5681): one event, then slow start
  lastCutMonoMs_ = nowMonoMs;
}

void SendWindow::onLoss(int64_t nowMonoMs) {
  if (withinRoundTrip(lastCutMonoMs_, nowMonoMs)) return;
  cut(nowMonoMs);
}

bool SendWindow::withinRoundTrip(int64_t sinceMonoMs, int64_t nowMonoMs) const {
  return nowMonoMs - sinceMonoMs < int64_t(std::max(srttMs_, 100.0));
}

void SendWindow::cut(int64_t nowMonoMs) {
  ssthresh_ = std::max(double(kMinWindow), cwnd_ / 2);
  cwnd_ = std::max(std::min(double(kMinWindow), cap_), cwnd_ / 2);
  lastCutMonoMs_ = nowMonoMs;
}

int64_t SendWindow::rtoMs() const {
  // A backend that says it takes lagMs_ to commit is waited for, beyond the
  // configured ceiling if need be.
  const int64_t ceiling = std::max(ceilingMs_, 2 * lagMs_ + 1000);
  const int64_t floor = std::min(confirmed_ ? kMinRtoMs : kUnconfirmedRtoMs, ceiling);
  if (!haveSample_) return std::clamp(std::min(kInitialRtoMs, ceilingMs_) * backoff_, floor, ceiling);
  const double base = std::max(srttMs_ + 4 * rttvarMs_, 2.0 * double(lagMs_)) + 1000;
  return std::clamp(int64_t(base) * backoff_, floor, ceiling);
}

void InFlight::sent(uint64_t seq, v1::Lane lane, int64_t nowMonoMs) {
  Event e{lane, nowMonoMs, nowMonoMs, false};
  if (auto o = owed_.find(seq); o != owed_.end()) {
    e.firstSentMonoMs = o->second.event.firstSentMonoMs;
    e.resend = true;
    ++resent_;
    owed_.erase(o);
  }
  auto [it, added] = events_.insert_or_assign(seq, e);
  if (added && lane == v1::LANE_EMERGENCY) ++emergency_;
}

std::vector<double> InFlight::acked(uint64_t first, uint64_t last, int64_t nowMonoMs) {
  std::vector<double> samples;
  // A second ack for a resend: its first copy went through, the wait was
  // only the backend's (Eifel). Its seq is no longer in flight.
  for (auto r = resentAcked_.lower_bound(first); r != resentAcked_.end() && r->first <= last;) {
    ++duplicateAcks_;
    window_.onSpuriousTimeout(r->second);
    r = resentAcked_.erase(r);
  }
  int n = 0;
  for (auto it = events_.lower_bound(first); it != events_.end() && it->first <= last;) {
    const Event& e = it->second;
    const double rtt = double(nowMonoMs - e.sentMonoMs);
    // Only a copy sent once tells which events were sent before it (a
    // resend's ack may be its first copy's: ambiguous, as for Karn).
    if (!e.resend && e.sentMonoMs >= rackSentMs_) {
      rackSentMs_ = e.sentMonoMs;
      rackRttMs_ = rtt;
    }
    if (e.resend) {
      if (resentAcked_.size() >= 4096) resentAcked_.erase(resentAcked_.begin());
      resentAcked_[it->first] = double(nowMonoMs - e.firstSentMonoMs);
    } else {
      samples.push_back(rtt);
      window_.onAck(0, rtt, nowMonoMs);
    }
    ++n;
    it = erase(it);
  }
  std::optional<Event> proof;
  for (auto o = owed_.lower_bound(first); o != owed_.end() && o->first <= last;) {
    if (o->second.byTimeout && !o->second.event.resend) proof = o->second.event;
    o = owed_.erase(o);
  }
  if (proof) undoTimeout(nowMonoMs, *proof);
  if (n > 0) window_.onAck(n, -1, nowMonoMs);
  return samples;
}

void InFlight::undoTimeout(int64_t nowMonoMs, const Event& proof) {
  ++spuriousTimeouts_;
  window_.onSpuriousTimeout(double(nowMonoMs - proof.firstSentMonoMs));
  window_.undoTimeout();
  for (auto o = owed_.begin(); o != owed_.end();) {
    if (!o->second.byTimeout) {
      ++o;
      continue;
    }
    auto [it, added] = events_.emplace(o->first, o->second.event);
    if (added && it->second.lane == v1::LANE_EMERGENCY) ++emergency_;
    o = owed_.erase(o);
  }
}

std::vector<std::pair<uint64_t, v1::Lane>> InFlight::expire(int64_t nowMonoMs) {
  std::vector<std::pair<uint64_t, v1::Lane>> out;
  // Lost: sent before an event that was acked, and overdue by that one's round trip.
  const double allowance = std::max(double(kReorderAllowanceMs), window_.srttMs() / 4);
  for (auto it = events_.begin(); it != events_.end();) {
    const Event& e = it->second;
    if (e.sentMonoMs < rackSentMs_ && double(nowMonoMs - e.sentMonoMs) > rackRttMs_ + allowance) {
      out.emplace_back(it->first, e.lane);
      it = take(it, false);
    } else {
      ++it;
    }
  }
  if (!out.empty()) {
    lost_ += out.size();
    window_.onLoss(nowMonoMs);
    return out;
  }
  // Nothing came back for a whole timeout: as TCP after its timer fires,
  // everything in flight is owed again, but the window restarts from one
  // event, so the oldest goes alone and the rest only as acks come back. A
  // slow backend's acks for the first copies arrive first and cancel what
  // is owed: one duplicate per timeout, not a window.
  int64_t oldest = nowMonoMs;
  for (const auto& [seq, e] : events_) oldest = std::min(oldest, e.sentMonoMs);
  if (events_.empty() || nowMonoMs - oldest <= window_.rtoMs()) return out;
  for (auto it = events_.begin(); it != events_.end();) {
    out.emplace_back(it->first, it->second.lane);
    it = take(it, true);
  }
  ++probes_;
  window_.onTimeout(nowMonoMs);
  return out;
}

InFlight::Events::iterator InFlight::erase(Events::iterator it) {
  if (it->second.lane == v1::LANE_EMERGENCY) --emergency_;
  return events_.erase(it);
}

InFlight::Events::iterator InFlight::take(Events::iterator it, bool byTimeout) {
  owed_.insert_or_assign(it->first, Owed{it->second, byTimeout});
  return erase(it);
}

void InFlight::forget(uint64_t seq) {
  if (auto it = events_.find(seq); it != events_.end()) erase(it);
  owed_.erase(seq);
}

void InFlight::connectionLost() {
  for (const auto& [seq, e] : events_) owed_.emplace(seq, Owed{e, false});
  while (owed_.size() > 65536) owed_.erase(owed_.begin());  // AVL thinned meanwhile: a bound, not a leak
  events_.clear();
  emergency_ = 0;
  rackSentMs_ = -1;
  rackRttMs_ = 0;
}

}  // namespace mdc::agent
