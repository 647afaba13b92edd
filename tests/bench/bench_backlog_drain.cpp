// bench_backlog_drain: after an outage every vehicle comes back with a
// backlog at once, and the backend is at its limit. 1,000 devices, each
// holding a backlog of statuses, drain into a cad-stub throttled to a
// fraction of its rate (CAD_STUB_FAULT=slow-commit: each commit takes longer
// per message, as on a slow disk) through a real mosquitto, with two ways of
// sending:
//   window  the agent's own (agent/send_window.h: InFlight and SendWindow,
//           paced by the ingest lag the stub tells on every commit ack)
//   whole   the version before it: a fixed window of 256 per device, and after
//           a timeout of 4 x the smoothed round trip + 1 s (2 s .. 20 s) every
//           event in flight goes again and the round trip estimate doubles
// Each run has a stub and a store of its own. Figures per policy: the drain
// time, events/s the stub received and stored, duplicates per stored event,
// next to the backend's own rate in the same run (stored / time in its
// ingest transactions). Prints them and writes JSON (--json FILE).
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "agent/send_window.h"
#include "server-stub/service/broker_config.h"
#include "server-stub/store/event_store.h"
#include "tests/bench/bench_util.h"
#include "tests/integration/stub/wire_fleet.h"
#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"
#include "tests/unit/stub/stub_wire.h"

using namespace cad;
using cad::control::ControlRequest;
using namespace cad::test;
using namespace mdc::test;
using Clock = std::chrono::steady_clock;
using mdc::bench::secondsSince;

namespace {

struct Options {
  int devices = 1000;
  int perDevice = 20;
  int connections = 20;
  int slowCommitUs = 500;
  int limitS = 300;
  std::vector<std::string> policies = {"whole", "window"};
  std::string json;
};

const char* kHelp = R"(usage: bench_backlog_drain [options]
  --devices N          devices, each with a backlog (default 1000)
  --per-device N       statuses in each backlog (default 20)
  --connections N      MQTT connections the devices share (default 20)
  --slow-commit-us US  the stub's commits take US more per message (default 500: at most
                       2,000 events/s, about a third of this machine's unthrottled rate)
  --limit-s S          give up a drain after S seconds (default 300)
  --policy P           window, whole, or both (default both, whole first)
  --json FILE          write the figures as JSON
)";

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

/** How one device sends its backlog. */
class Sender {
 public:
  virtual ~Sender() = default;
  virtual void acked(uint64_t first, uint64_t last, uint32_t lagMs, int64_t now) = 0;
  /** The seqs to publish now (resends first), marked as sent. */
  virtual std::vector<uint64_t> due(int64_t now) = 0;
};

/** The agent's own: agent/send_window.h. */
class WindowSender final : public Sender {
 public:
  explicit WindowSender(int backlog) : backlog_(uint64_t(backlog)) {}
  void acked(uint64_t first, uint64_t last, uint32_t lagMs, int64_t now) override {
    window_.onBackendLag(lagMs, now);
    flight_.acked(first, last, now);
  }
  std::vector<uint64_t> due(int64_t now) override {
    for (const auto& [seq, lane] : flight_.expire(now)) owed_.push_back(seq);
    std::sort(owed_.begin(), owed_.end());
    std::vector<uint64_t> out;
    while (int(flight_.size()) < window_.window()) {
      while (!owed_.empty() && !flight_.owes(owed_.front())) owed_.pop_front();  // acked meanwhile
      uint64_t seq;
      if (!owed_.empty()) {
        seq = owed_.front();
        owed_.pop_front();
      } else if (next_ <= backlog_) {
        seq = next_++;
      } else {
        break;
      }
      flight_.sent(seq, mdc::v1::LANE_STATUS, now);
      out.push_back(seq);
    }
    return out;
  }

 private:
  mdc::agent::SendWindow window_{256, 20000};
  mdc::agent::InFlight flight_{window_};
  uint64_t backlog_, next_ = 1;
  std::deque<uint64_t> owed_;
};

/** The version before: the whole window again after a timeout. */
class WholeWindowSender final : public Sender {
 public:
  explicit WholeWindowSender(int backlog) : backlog_(uint64_t(backlog)) {}
  void acked(uint64_t first, uint64_t last, uint32_t, int64_t now) override {
    for (auto it = inflight_.lower_bound(first); it != inflight_.end() && it->first <= last;) {
      const double sample = double(now - it->second);
      srtt_ = srtt_ <= 0 ? sample : 0.875 * srtt_ + 0.125 * sample;
      it = inflight_.erase(it);
    }
    done_.insert(first, last);
  }
  std::vector<uint64_t> due(int64_t now) override {
    const int64_t rto = srtt_ <= 0 ? 5000 : std::clamp<int64_t>(int64_t(4 * srtt_) + 1000, 2000, 20000);
    bool expired = false;
    for (const auto& [seq, at] : inflight_) expired = expired || now - at > rto;
    if (expired) {
      inflight_.clear();
      cursor_ = 1;  // every event not yet acked goes again
      srtt_ = std::min(srtt_ * 2, 20000.0);
    }
    std::vector<uint64_t> out;
    while (inflight_.size() < 256 && cursor_ <= backlog_) {
      const uint64_t seq = cursor_++;
      if (done_.has(seq) || inflight_.count(seq)) continue;
      inflight_[seq] = now;
      out.push_back(seq);
    }
    return out;
  }

 private:
  struct Done {
    std::vector<bool> bits;
    void insert(uint64_t first, uint64_t last) {
      if (bits.size() <= last) bits.resize(last + 1);
      for (uint64_t s = first; s <= last; ++s) bits[s] = true;
    }
    bool has(uint64_t s) const { return s < bits.size() && bits[s]; }
  } done_;
  uint64_t backlog_, cursor_ = 1;
  std::map<uint64_t, int64_t> inflight_;
  double srtt_ = 0;
};

struct DrainResult {
  std::string policy;
  bool drained = false;
  double drainS = 0, received = 0, appended = 0, duplicates = 0, busyS = 0, ownRate = 0;
  double receivedPerS = 0, storedPerS = 0, duplicatesPerStored = 0, lagMaxMs = 0, droppedByBroker = 0;
};

double stat(const QJsonObject& s, const char* key) { return double(s.value(key).toInteger()); }

/** cadctl stats; asked again while the stub is too busy to answer in cadctl's 30 s. */
QJsonObject stubStats(const CadStub& stub) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto r = stub.cadctl({"stats"});
    auto j = QJsonDocument::fromJson(QByteArray::fromStdString(r.output)).object();
    if (!j.isEmpty()) return j;
    std::fprintf(stderr, "  the stub did not answer cadctl stats (busy); asking again\n");
  }
  throw std::runtime_error("the stub did not answer cadctl stats for 10 minutes");
}

DrainResult drain(const Options& o, const std::string& policy, const TempDir& dir, const Mosquitto& broker,
             const std::vector<Device>& devices) {
  DrainResult r;
  r.policy = policy;
  const std::string name = "cad-" + policy;
  {
    auto s = EventStore::open(dir.file(name + ".db"));
    if (!s) throw std::runtime_error(s.error().message);
    for (const auto& d : devices) {
      ControlRequest c;
      c.set_agency(d.agency);
      c.mutable_device_add()->set_device(d.id);
      c.mutable_device_add()->set_unit(d.unit);
      c.set_actor("bench");
      if (!(*s)->execute(c, kShiftStartMs)) throw std::runtime_error("device_add " + d.id);
    }
  }
  CadStub stub(dir, broker.uri(), name);
  stub.env = {{"CAD_STUB_FAULT", "slow-commit:" + std::to_string(o.slowCommitUs)}};
  stub.start();
  if (!stub.waitReady()) throw std::runtime_error("cad-stub not ready:\n" + stub.log());

  std::vector<std::string> names;
  std::map<std::string, size_t> index;
  std::vector<std::vector<std::string>> payloads;
  for (const auto& d : devices) {
    index[d.id] = names.size();
    names.push_back(d.id);
    std::vector<std::string> p(size_t(o.perDevice) + 1);
    for (int s = 1; s <= o.perDevice; ++s)
      p[size_t(s)] = encode(statusEnv(d, uint64_t(s), kShiftStartMs + s * 1000,
                                      s % 2 ? mdc::v1::UNIT_STATUS_EN_ROUTE : mdc::v1::UNIT_STATUS_ON_SCENE));
    payloads.push_back(std::move(p));
  }
  WireFleet fleet(broker.uri(), "bench-" + policy, o.connections);
  if (!fleet.connect(names, std::chrono::seconds(60))) throw std::runtime_error("fleet did not connect");
  fleet.collectAcks();
  std::vector<std::unique_ptr<Sender>> senders;
  for (size_t i = 0; i < devices.size(); ++i)
    senders.push_back(policy == "window" ? std::unique_ptr<Sender>(new WindowSender(o.perDevice))
                                         : std::unique_ptr<Sender>(new WholeWindowSender(o.perDevice)));
  const size_t total = devices.size() * size_t(o.perDevice);
  const QJsonObject before = stubStats(stub);
  const auto t0 = Clock::now();
  auto lastReport = t0;
  while (secondsSince(t0) < o.limitS) {
    const int64_t now = nowMs();
    for (const auto& a : fleet.takeAcks())
      if (auto it = index.find(a.device); it != index.end()) senders[it->second]->acked(a.first, a.last, a.lagMs, now);
    if (fleet.ackedCount() >= total) {
      r.drained = true;
      break;
    }
    for (size_t i = 0; i < senders.size(); ++i)
      for (uint64_t seq : senders[i]->due(now)) fleet.publish(names[i], payloads[i][size_t(seq)]);
    if (secondsSince(lastReport) >= 5) {
      lastReport = Clock::now();
      std::fprintf(stderr, "  %s: %.0f s, %zu of %zu acknowledged\n", policy.c_str(), secondsSince(t0),
                   fleet.ackedCount(), total);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.drainS = secondsSince(t0);
  // What the stub still has to chew (resends of what it already stored) is
  // part of the cost: its figures are read once it has gone quiet.
  QJsonObject after = stubStats(stub);
  for (int i = 0; i < 600; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    QJsonObject again = stubStats(stub);
    const bool quiet = stat(again, "received") == stat(after, "received");
    after = again;
    if (quiet) break;
  }
  r.received = stat(after, "received") - stat(before, "received");
  r.appended = stat(after, "appended") - stat(before, "appended");
  r.duplicates = stat(after, "duplicates") - stat(before, "duplicates");
  r.busyS = (stat(after, "ingest_busy_ms") - stat(before, "ingest_busy_ms")) / 1000;
  r.ownRate = r.appended / std::max(r.busyS, 0.001);
  r.receivedPerS = r.received / r.drainS;
  r.storedPerS = r.appended / r.drainS;
  r.duplicatesPerStored = r.duplicates / std::max(r.appended, 1.0);
  r.lagMaxMs = stat(after, "ingest_lag_ms_max");
  r.droppedByBroker = stat(after, "broker_dropped");
  stub.stop();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "bench_backlog_drain: " << a << " needs a value\n" << kHelp;
        std::exit(2);
      }
      return argv[++i];
    };
    auto number = [&](int lo, int hi) {
      const std::string v = value();
      try {
        size_t used = 0;
        const int n = std::stoi(v, &used);
        if (used == v.size() && n >= lo && n <= hi) return n;
      } catch (const std::exception&) {
      }
      std::cerr << "bench_backlog_drain: " << a << " \"" << v << "\": not a number in " << lo << "-" << hi << "\n";
      std::exit(2);
    };
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return 0;
    } else if (a == "--devices") {
      o.devices = number(1, 4096);
    } else if (a == "--per-device") {
      o.perDevice = number(1, 100000);
    } else if (a == "--connections") {
      o.connections = number(1, 4096);
    } else if (a == "--slow-commit-us") {
      o.slowCommitUs = number(0, 1000000);
    } else if (a == "--limit-s") {
      o.limitS = number(1, 86400);
    } else if (a == "--policy") {
      const std::string p = value();
      if (p == "both") o.policies = {"whole", "window"};
      else if (p == "window" || p == "whole") o.policies = {p};
      else {
        std::cerr << "bench_backlog_drain: --policy \"" << p << "\": window, whole or both\n";
        return 2;
      }
    } else if (a == "--json") {
      o.json = value();
    } else {
      std::cerr << "bench_backlog_drain: unknown option \"" << a << "\"\n" << kHelp;
      return 2;
    }
  }
  try {
    TempDir dir;
    MosquittoOptions mo;
    mo.maxQueuedMessages = int(brokerQueuedMessages(o.devices));  // as cadctl broker-config writes it
    Mosquitto broker(dir, mo);
    std::vector<Device> devices;
    for (int i = 0; i < o.devices; ++i)
      devices.push_back(Device{"MDC-B" + std::to_string(i + 1), "B" + std::to_string(i + 1), "FD1", uint32_t(i)});
    std::printf("%d devices x %d statuses (%d events) into a stub at %d us per message more, %d connections\n",
                o.devices, o.perDevice, o.devices * o.perDevice, o.slowCommitUs, o.connections);
    std::vector<DrainResult> results;
    for (const auto& p : o.policies) {
      const DrainResult r = drain(o, p, dir, broker, devices);
      results.push_back(r);
      std::printf("%-6s %s in %.1f s: stored %.0f/s, received %.0f/s, duplicates %.3f per stored event (%.0f); "
                  "backend's own rate %.0f/s (busy %.1f s in all, the drain at %.2f of its rate); longest ingest lag %.0f ms; "
                  "broker dropped %.0f\n",
                  p.c_str(), r.drained ? "drained" : "NOT drained", r.drainS, r.storedPerS, r.receivedPerS,
                  r.duplicatesPerStored, r.duplicates, r.ownRate, r.busyS, r.storedPerS / std::max(r.ownRate, 1.0),
                  r.lagMaxMs, r.droppedByBroker);
    }
    if (!o.json.empty()) {
      QJsonObject j{{"devices", o.devices}, {"per_device", o.perDevice}, {"slow_commit_us", o.slowCommitUs},
                    {"connections", o.connections}};
      for (const auto& r : results)
        j[QString::fromStdString(r.policy)] =
            QJsonObject{{"drained", r.drained},          {"drain_s", r.drainS},
                        {"received", r.received},        {"stored", r.appended},
                        {"duplicates", r.duplicates},    {"stored_per_s", r.storedPerS},
                        {"received_per_s", r.receivedPerS}, {"duplicates_per_stored", r.duplicatesPerStored},
                        {"backend_own_rate", r.ownRate}, {"backend_busy_s", r.busyS},
                        {"ingest_lag_max_ms", r.lagMaxMs}, {"broker_dropped", r.droppedByBroker}};
      std::ofstream(o.json) << QJsonDocument(j).toJson().toStdString();
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_backlog_drain: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
