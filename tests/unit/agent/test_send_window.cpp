// The agent's congestion window and retransmission timeout, alone and with
// several senders sharing one slow backend (a FIFO that commits at a fixed
// rate and reports its lag, as the stub does).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "agent/send_window.h"

using mdc::agent::InFlight;
using mdc::agent::SendWindow;

TEST_CASE("send window: starts small, doubles per round trip up to the cap, then holds", "[send_window]") {
  SendWindow w(256, 20000);
  CHECK(w.window() == SendWindow::kInitialWindow);
  int64_t now = 0;
  for (int round = 0; round < 5; ++round) {
    const int n = w.window();
    now += 10;
    for (int i = 0; i < n; ++i) w.onAck(1, 10, now);
  }
  CHECK(w.window() == 256);  // 10 -> 20 -> 40 -> 80 -> 160 -> capped
  CHECK(w.rtoMs() == SendWindow::kMinRtoMs);  // a 10 ms backend: the floor
}

TEST_CASE("send window: a timeout restarts it from one event and backs the timer off, and a clean ack ends the back-off",
          "[send_window]") {
  SendWindow w(256, 20000);
  int64_t now = 0;
  for (int i = 0; i < 200; ++i) w.onAck(1, 400, now += 2);
  const int before = w.window();
  const int64_t rto = w.rtoMs();
  w.onTimeout(now += 5000);
  CHECK(w.window() == 1);
  CHECK(w.threshold() == before / 2);
  CHECK(w.rtoMs() > rto);
  for (int i = 0; i < 20; ++i) w.onTimeout(now += 10000);
  CHECK(w.window() == 1);
  CHECK(w.threshold() == SendWindow::kMinWindow);
  CHECK(w.rtoMs() == 20000);  // the ceiling
  // A clean sample ends the back-off; slow start to the threshold, then linear.
  w.onAck(1, 400, now += 400);
  CHECK(w.rtoMs() < 20000);
  for (int i = 0; i < 40; ++i) w.onAck(1, 400, now += 10);
  CHECK(w.window() > SendWindow::kMinWindow);
  CHECK(w.window() < 16);
}

TEST_CASE("send window: loss found by later acks halves it once per round trip, never below the minimum",
          "[send_window]") {
  SendWindow w(256, 20000);
  int64_t now = 0;
  for (int i = 0; i < 200; ++i) w.onAck(1, 400, now += 2);
  const int before = w.window();
  w.onLoss(now += 1000);
  CHECK(w.window() == before / 2);
  w.onLoss(now + 1);  // the same round trip
  CHECK(w.window() == before / 2);
  for (int i = 0; i < 20; ++i) w.onLoss(now += 1000);
  CHECK(w.window() == SendWindow::kMinWindow);
}

TEST_CASE("in flight: a timeout owes everything, sends one, and the first copies' acks take it back", "[send_window]") {
  SendWindow w(256, 20000);
  InFlight f(w);
  for (uint64_t seq = 1; seq <= 10; ++seq) f.sent(seq, mdc::v1::LANE_STATUS, 0);
  auto taken = f.expire(11000);  // nothing back for longer than the unconfirmed timeout
  CHECK(taken.size() == 10);
  CHECK(f.size() == 0);
  CHECK(w.window() == 1);
  f.sent(1, mdc::v1::LANE_STATUS, 11000);  // the probe
  CHECK(f.resent() == 1);
  // The backend was slow: the first copies' acks arrive.
  f.acked(1, 10, 15000);
  CHECK(f.spuriousTimeouts() == 1);
  CHECK(f.size() == 0);
  for (uint64_t seq = 2; seq <= 10; ++seq) CHECK_FALSE(f.owes(seq));
  CHECK(w.rtoMs() >= 15000);  // the first copies' wait is the round trip now
  f.acked(1, 1, 16000);       // the probe's own ack
  CHECK(f.duplicateAcks() == 1);
}

TEST_CASE("in flight: an event left behind by later acks is lost and goes again, an emergency counted apart",
          "[send_window]") {
  SendWindow w(256, 20000);
  InFlight f(w);
  f.sent(1, mdc::v1::LANE_EMERGENCY, 0);
  f.sent(2, mdc::v1::LANE_STATUS, 0);
  f.sent(3, mdc::v1::LANE_STATUS, 10);
  CHECK(f.emergency() == 1);
  f.acked(3, 3, 60);
  CHECK(f.expire(500).empty());  // within the reordering allowance
  auto lost = f.expire(1200);
  REQUIRE(lost.size() == 2);
  CHECK(lost[0].first == 1);
  CHECK(lost[1].first == 2);
  CHECK(f.emergency() == 0);
  CHECK(f.owes(1));
  f.sent(1, mdc::v1::LANE_EMERGENCY, 1200);
  CHECK(f.emergency() == 1);
  f.forget(2);
  CHECK_FALSE(f.owes(2));
}

TEST_CASE("send window: a backend that says it is behind shrinks it, stops its growth and is waited for",
          "[send_window]") {
  SendWindow w(256, 20000);
  int64_t now = 0;
  for (int i = 0; i < 200; ++i) w.onAck(1, 50, now += 1);
  const int before = w.window();
  w.onBackendLag(3000, now);
  CHECK(w.window() == before / 2);
  CHECK(w.lagCuts() == 1);
  // Twice the lag and a second: no resend of what the backend is about to commit.
  CHECK(w.rtoMs() >= 7000);
  for (int i = 0; i < 50; ++i) w.onAck(1, 50, now + 1);  // within the round trip: no growth
  CHECK(w.window() == before / 2);
  // A lag longer than the ceiling raises it.
  w.onBackendLag(30000, now += 10000);
  CHECK(w.rtoMs() >= 61000);
  // Caught up: growth again.
  w.onBackendLag(10, now += 10000);
  const int low = w.window();
  for (int i = 0; i < 100; ++i) w.onAck(1, 50, now += 1);
  CHECK(w.window() > low);
  CHECK(w.rtoMs() < 20000);
}

TEST_CASE("send window: one fast sample after a slow backlog does not restart the estimate", "[send_window]") {
  SendWindow w(256, 20000);
  int64_t now = 0;
  for (int i = 0; i < 100; ++i) w.onAck(1, 3000, now += 10);
  const int64_t slow = w.rtoMs();
  w.onAck(1, 5, now += 10);
  CHECK(w.rtoMs() >= slow * 7 / 10);
  w.connectionStarted();  // a reconnect keeps what was learnt
  CHECK(w.rtoMs() >= slow * 7 / 10);
  CHECK(w.window() == SendWindow::kInitialWindow);
}

TEST_CASE("send window: a resend acked twice makes the first copy's round trip the estimate", "[send_window]") {
  SendWindow w(256, 20000);
  int64_t now = 0;
  for (int i = 0; i < 50; ++i) w.onAck(1, 100, now += 10);
  CHECK(w.rtoMs() < 3000);
  w.onSpuriousTimeout(6000);
  CHECK(w.spuriousTimeouts() == 1);
  CHECK(w.srttMs() >= 6000);
  CHECK(w.rtoMs() >= 7000);
}

TEST_CASE("send window: a zero-size link.window still lets one event go and the cap bounds everything", "[send_window]") {
  SendWindow w(1, 1000);
  CHECK(w.window() == 1);
  w.onTimeout(0);
  CHECK(w.window() == 1);
  CHECK(w.rtoMs() == 1000);  // the ceiling is below the 2 s floor: the ceiling wins
}

namespace {

// Several senders, each with a backlog, sharing a backend that commits
// `rate` events per second in batches (whatever is waiting, at most 2000),
// acks each after its batch and reports the batch's lag, as the stub does.
// Each sender is the agent's own InFlight and SendWindow; lossPerMille of
// the events are lost on the way (the backend never sees them).
struct Sim {
  struct Copy {
    int sender;
    uint64_t seq;
    int64_t at;
  };
  struct Sender {
    SendWindow w{256, 20000};
    InFlight flight{w};
    int backlog = 0;
    uint64_t nextSeq = 1;
    std::deque<uint64_t> owed;
    int committed = 0;
    int64_t doneAt = -1;
  };
  double ratePerMs;
  int lossPerMille = 0;
  std::vector<Sender> senders;
  std::deque<Copy> queue;  // at the backend, in arrival order
  std::map<std::pair<int, uint64_t>, bool> stored;
  long delivered = 0, duplicates = 0, sentTotal = 0;
  uint64_t rng = 12345;

  Sim(int n, int backlog, double ratePerS) : ratePerMs(ratePerS / 1000), senders(size_t(n)) {
    for (auto& s : senders) s.backlog = backlog;
  }

  bool lose() {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return int((rng >> 33) % 1000) < lossPerMille;
  }

  void pump(int id, int64_t now) {
    Sender& s = senders[size_t(id)];
    while (int(s.flight.size()) < s.w.window()) {
      uint64_t seq = 0;
      while (!s.owed.empty() && !s.flight.owes(s.owed.front())) s.owed.pop_front();  // acked meanwhile
      if (!s.owed.empty()) {
        seq = s.owed.front();
        s.owed.pop_front();
      } else if (s.nextSeq <= uint64_t(s.backlog)) {
        seq = s.nextSeq++;
      } else {
        break;
      }
      s.flight.sent(seq, mdc::v1::LANE_STATUS, now);
      ++sentTotal;
      if (!lose()) queue.push_back(Copy{id, seq, now});
    }
  }

  /** Runs until every sender drained (or limitMs); returns the time taken. */
  int64_t run(int64_t limitMs) {
    int64_t now = 0;
    for (size_t i = 0; i < senders.size(); ++i) pump(int(i), now);
    double credit = 0;
    while (now < limitMs) {
      now += 10;
      credit += 10 * ratePerMs;
      const int64_t batchStart = queue.empty() ? now : queue.front().at;
      std::vector<Copy> batch;
      while (credit >= 1 && !queue.empty() && batch.size() < 2000) {
        batch.push_back(queue.front());
        queue.pop_front();
        credit -= 1;
      }
      if (queue.empty()) credit = std::min(credit, 1.0);
      const int64_t lag = now - batchStart;
      for (const Copy& c : batch) {
        ++delivered;
        bool& seen = stored[{c.sender, c.seq}];
        if (seen) ++duplicates;
        else ++senders[size_t(c.sender)].committed;
        seen = true;
        Sender& s = senders[size_t(c.sender)];
        s.w.onBackendLag(lag, now);
        s.flight.acked(c.seq, c.seq, now);
      }
      bool all = true;
      for (size_t i = 0; i < senders.size(); ++i) {
        Sender& s = senders[i];
        for (const auto& [seq, lane] : s.flight.expire(now)) s.owed.push_back(seq);
        std::sort(s.owed.begin(), s.owed.end());
        pump(int(i), now);
        if (s.committed == s.backlog && s.doneAt < 0) s.doneAt = now;
        all = all && s.doneAt >= 0;
      }
      if (all) return now;
    }
    return limitMs;
  }
};

}  // namespace

TEST_CASE("send window: four senders draining into a slow backend keep it busy and resend almost nothing",
          "[send_window]") {
  // 4 x 600 events into a backend of 100 events/s: 24 s at best.
  Sim sim(4, 600, 100);
  const int64_t took = sim.run(120000);
  INFO("drained in " << took << " ms; delivered " << sim.delivered << ", duplicates " << sim.duplicates);
  CHECK(took <= int64_t(1.5 * 24000) + 10000);
  CHECK(sim.duplicates * 10 <= 2400);
  for (const auto& s : sim.senders) CHECK(s.committed == 600);
}

TEST_CASE("send window: a thousand senders against a backend at 1,000 events/s do not storm it", "[send_window]") {
  Sim sim(1000, 40, 1000);  // 40,000 events: 40 s at best
  const int64_t took = sim.run(300000);
  uint64_t probes = 0, lost = 0, spurious = 0;
  for (const auto& s : sim.senders) {
    probes += s.flight.probes();
    lost += s.flight.lost();
    spurious += s.w.spuriousTimeouts();
  }
  INFO("drained in " << took << " ms; delivered " << sim.delivered << ", duplicates " << sim.duplicates
                     << "; timeouts " << probes << ", lost " << lost << ", spurious " << spurious);
  CHECK(took <= int64_t(1.5 * 40000) + 10000);
  CHECK(sim.duplicates * 10 <= 40000);
}

TEST_CASE("send window: events lost on the way are found by later acks and sent again within seconds",
          "[send_window]") {
  Sim sim(4, 600, 1000);  // a fast backend; 2 % of the events never reach it
  sim.lossPerMille = 20;
  const int64_t took = sim.run(120000);
  INFO("drained in " << took << " ms; sent " << sim.sentTotal << ", duplicates " << sim.duplicates);
  for (const auto& s : sim.senders) CHECK(s.committed == 600);
  CHECK(took < 15000);  // not one timeout per lost event
  CHECK(sim.duplicates * 100 <= 2400);
}
