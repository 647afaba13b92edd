// bench_link: a vehicle on a cellular link. The agent runs in a network
// namespace whose link to this host is shaped by tc (tbf: the bandwidth and a
// cellular network's deep queue); a proxy on the host side adds the round
// trip and, on the LTE-edge profile, cuts the connection every 60 s. On each
// profile the agent drains an 8-hour AVL backlog (28,800 reports) plus
// statuses to the real mosquitto and cad-stub, while the responder presses a
// status now and then. Figures: the drain time next to the link's raw
// capacity for the same bytes, and the latency from each status press to its
// commit ack, next to the goal (three round trips plus the status's own
// transfer time). Needs root (ip netns, tc). Prints the figures and writes
// JSON (--json FILE).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include "agent/api_client.h"
#include "agent/store.h"
#include "shared/wire/clock.h"
#include "shared/wire/topics.h"
#include "mdc/v1/local.pb.h"
#include "tests/bench/bench_util.h"
#include "tests/support/delay_proxy.h"
#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/stub/stub_wire.h"

using namespace mdc;
using namespace mdc::test;
using Steady = std::chrono::steady_clock;
using mdc::bench::percentile;
using mdc::bench::secondsSince;

namespace {

const char* kHelp = R"(usage: bench_link [options]
  --profile NAME   lte-good, lte-edge or 3g; may be repeated (default: all three)
  --avl N          AVL reports in the backlog (default 28800: 8 h at 1 Hz)
  --statuses N     status changes in the backlog (default 100)
  --presses N      statuses pressed during each drain (default 20)
  --avl-batch N    the agent's link.avl_batch: backlog reports per message (default 64; 0: one per message)
  --json FILE      write the figures as JSON
Needs root: the agent runs in a network namespace shaped with tc (tbf).
)";

struct Profile {
  std::string name;
  int rateKbit;    ///< both directions
  int rttMs;       ///< round trip, half each way
  int cutEveryS;   ///< 0: never
};

const std::vector<Profile> kProfiles = {
    {"lte-good", 20000, 50, 0},
    {"lte-edge", 1000, 150, 60},
    {"3g", 384, 300, 0},
};

/** Runs a command; throws with its output when it fails. */
void must(const TempDir& dir, const std::vector<std::string>& argv) {
  auto r = run(argv, dir, std::chrono::seconds(20));
  if (r.exitCode != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("bench_link: \"" + cmd + "\" failed: " + r.output);
  }
}

/** A network namespace joined to this host by a veth pair, both ends shaped. */
class ShapedLink {
 public:
  static constexpr const char* kHostAddress = "10.213.7.1";
  static constexpr const char* kVehicleAddress = "10.213.7.2";

  explicit ShapedLink(const TempDir& dir) : dir_(dir) {
    removeStale();
    const std::string id = std::to_string(::getpid() % 100000);
    ns_ = "mdclink" + id;
    host_ = "mdh" + id;
    peer_ = "mdn" + id;
    must(dir_, {"ip", "netns", "add", ns_});
    must(dir_, {"ip", "link", "add", host_, "type", "veth", "peer", "name", peer_});
    must(dir_, {"ip", "link", "set", peer_, "netns", ns_});
    must(dir_, {"ip", "addr", "add", std::string(kHostAddress) + "/30", "dev", host_});
    must(dir_, {"ip", "link", "set", host_, "up"});
    inNs({"ip", "addr", "add", std::string(kVehicleAddress) + "/30", "dev", peer_});
    inNs({"ip", "link", "set", peer_, "up"});
    inNs({"ip", "link", "set", "lo", "up"});
  }
  ~ShapedLink() {
    (void)run({"ip", "netns", "del", ns_}, dir_);  // takes the veth pair with it
    (void)run({"ip", "link", "del", host_}, dir_);
  }

  /** tbf on both ends: the rate, a 10 ms burst, and a queue of one second at
   *  that rate (cellular networks buffer deeply). */
  void shape(int rateKbit) {
    const long bytesPerS = long(rateKbit) * 1000 / 8;
    const std::string rate = std::to_string(rateKbit) + "kbit";
    const std::string burst = std::to_string(std::max<long>(3200, bytesPerS / 100));
    const std::string limit = std::to_string(std::max<long>(32000, bytesPerS));
    must(dir_, {"tc", "qdisc", "replace", "dev", host_, "root", "tbf", "rate", rate, "burst", burst, "limit", limit});
    inNs({"tc", "qdisc", "replace", "dev", peer_, "root", "tbf", "rate", rate, "burst", burst, "limit", limit});
  }
  std::vector<std::string> wrapper() const { return {"ip", "netns", "exec", ns_}; }

 private:
  /** Namespaces and links left by a run that was killed (named after its pid). */
  void removeStale() {
    std::istringstream list(run({"ip", "netns", "list"}, dir_).output);
    std::string line;
    while (std::getline(list, line)) {
      if (line.rfind("mdclink", 0) != 0) continue;
      const std::string id = line.substr(7, line.find_first_of(" (") - 7);
      if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) continue;
      if (::access(("/proc/" + id).c_str(), F_OK) == 0) continue;  // its run is still going
      (void)run({"ip", "netns", "del", "mdclink" + id}, dir_);
      (void)run({"ip", "link", "del", "mdh" + id}, dir_);
      std::cerr << "bench_link: removed mdclink" << id << ", left by a run that was stopped\n";
    }
  }
  void inNs(std::vector<std::string> argv) {
    auto w = wrapper();
    argv.insert(argv.begin(), w.begin(), w.end());
    must(dir_, argv);
  }
  const TempDir& dir_;
  std::string ns_, host_, peer_;
};

struct LinkRun {
  Profile profile;
  double reconnectS = 0, drainS = 0, rawS = 0;
  uint64_t upBytes = 0, downBytes = 0;
  uint64_t payloadBytes = 0;  ///< the envelopes alone (protobuf), backlog and presses
  int cuts = 0;
  std::vector<double> statusMs;
  int pressed = 0, undelivered = 0;
  double goalMs = 0;
  // The same backlog and presses through paho's own offline buffer.
  double pahoDrainS = 0;
  int pahoMessages = 0, pahoAcked = 0;
  bool pahoStalled = false;
  std::vector<double> pahoStatusMs;
};

/** Cuts the proxy's connections at `first`, then every `period` (0: never). */
class CutSchedule {
 public:
  CutSchedule(DelayProxy& proxy, int periodS)
      : proxy_(proxy), period_(periodS), next_(Steady::now() + std::chrono::seconds(periodS / 3)) {}
  void tick() {
    if (period_ > 0 && Steady::now() >= next_) {
      proxy_.cut();
      next_ += std::chrono::seconds(period_);
    }
  }

 private:
  DelayProxy& proxy_;
  int period_;
  Steady::time_point next_;
};

/** The backlog as paho_offline_buffer reads it: kind byte, big-endian length, payload. */
void writePayloads(const std::string& path, const cad::test::Device& d, int avl, int statuses, int presses) {
  std::ofstream f(path, std::ios::binary);
  const int64_t now = int64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
  uint64_t seq = 0;
  auto put = [&](char kind, const std::string& bytes) {
    const uint32_t n = uint32_t(bytes.size());
    const char head[5] = {kind, char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
    f.write(head, 5);
    f.write(bytes.data(), std::streamsize(bytes.size()));
  };
  for (int i = 0; i < statuses; ++i)
    put('B', cad::test::encode(cad::test::statusEnv(d, ++seq, now - 8 * 3600 * 1000 + i * 1000, v1::UNIT_STATUS_EN_ROUTE)));
  for (int i = 0; i < avl; ++i)
    put('B', cad::test::encode(cad::test::avlEnv(d, ++seq, now - int64_t(avl - i) * 1000, 40.7 + i * 1e-6, -74.0, true)));
  for (int i = 0; i < presses; ++i)
    put('S', cad::test::encode(cad::test::statusEnv(d, ++seq, now + i, v1::UNIT_STATUS_ON_SCENE)));
}

LinkRun runProfile(const TempDir& dir, ShapedLink& link, Mosquitto& broker, CadStub& stub, const Profile& p, int index,
                   int avl, int statuses, int presses, int avlBatch) {
  LinkRun r;
  r.profile = p;
  link.shape(p.rateKbit);
  DelayProxy proxy(ShapedLink::kHostAddress, broker.port(), p.rttMs / 2);
  const std::string device = "MDC-LINK-" + std::to_string(index), unit = "L" + std::to_string(index);
  stub.addDevice(device, unit, "FD1");
  AgentProcess agent(dir, device, unit, "FD1", proxy.uri(), {"--set", "link.avl_batch=" + std::to_string(avlBatch)});
  agent.wrapper = link.wrapper();
  std::cerr << "bench_link: " << p.name << ": backlog of " << avl << " AVL + " << statuses << " statuses...\n";
  prefillOutbox(agent.storePath(), device, unit, "FD1", statuses, avl);
  double statusPayload = 0;
  {
    auto store = agent::Store::open(agent.storePath(), {int64_t(1) << 32, 500}, SystemClock::instance());
    if (!store) throw std::runtime_error(store.error().message);
    for (v1::Lane lane : {v1::LANE_STATUS, v1::LANE_AVL})
      for (const auto& row : (*store)->pending(lane, 0, avl + statuses)) {
        r.payloadBytes += row.payload.size();
        if (lane == v1::LANE_STATUS) statusPayload = double(row.payload.size());
      }
  }
  const auto started = Steady::now();
  agent.start();
  while (agent.state().link() != v1::LINK_STATE_ONLINE) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (secondsSince(started) > 60) throw std::runtime_error("bench_link: the agent did not connect:\n" + agent.log());
  }
  r.reconnectS = secondsSince(started);
  const int64_t t0Wall = int64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  // Presses spread over the drain this link should take at its raw rate.
  const double statusBytes = 160;
  const double bytesPerReport = avlBatch > 0 ? 90.0 : 160.0;  // on the wire, measured
  const double expectedS = double(avl + statuses) * bytesPerReport * 8.0 / (p.rateKbit * 1000.0);
  const double every = std::clamp(expectedS / (presses + 1), 0.1, 5.0);
  r.goalMs = 3.0 * p.rttMs + statusBytes * 8.0 / (p.rateKbit * 1000.0) * 1000.0;
  auto api = agent.client();
  const auto t0 = Steady::now();
  auto nextPress = t0 + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(every));
  CutSchedule cuts(proxy, p.cutEveryS);
  long long depth = avl + statuses;
  const long long start = depth;
  int lastReport = -1;
  while (depth > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto now = Steady::now();
    if (r.pressed < presses && now >= nextPress && depth > start / 20) {
      v1::ApiRequest q;
      q.mutable_set_status()->set_status(r.pressed % 2 ? v1::UNIT_STATUS_ON_SCENE : v1::UNIT_STATUS_EN_ROUTE);
      auto reply = api->call(q);
      if (!reply) throw std::runtime_error("bench_link: status press: " + reply.error().message);
      ++r.pressed;
      nextPress += std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(every));
    }
    cuts.tick();
    depth = agent.outboxDepth();
    const int pct = int(100 * (start - depth) / std::max<long long>(start, 1));
    if (pct / 10 != lastReport) {
      lastReport = pct / 10;
      std::cerr << "bench_link: " << p.name << ": " << pct << " % sent (" << int(secondsSince(t0)) << " s)\n";
    }
    if (secondsSince(t0) > 1800) throw std::runtime_error("bench_link: drain timed out on " + p.name);
  }
  r.drainS = secondsSince(t0);
  r.cuts = proxy.cuts();
  r.upBytes = proxy.bytesToTarget();
  r.downBytes = proxy.bytesFromTarget();
  r.rawS = double(r.upBytes) * 8.0 / (p.rateKbit * 1000.0);
  r.payloadBytes += uint64_t(double(r.pressed) * statusPayload);
  const v1::AgentState after = agent.state();
  for (const auto& a : after.recent_actions())
    if (a.kind() == "status" && a.queued_at_ms() >= t0Wall) {
      if (a.delivery() == v1::DELIVERY_DELIVERED) r.statusMs.push_back(double(a.delivered_at_ms() - a.queued_at_ms()));
      else ++r.undelivered;
    }
  agent.stop();

  // The same through paho's offline buffer, on the same link.
  const cad::test::Device pd{"MDC-PAHO-" + std::to_string(index), "P" + std::to_string(index), "FD1", uint32_t(index)};
  stub.addDevice(pd.id, pd.unit, "FD1");
  const std::string payloads = dir.file("paho-" + p.name + ".bin");
  writePayloads(payloads, pd, avl, statuses, presses);
  std::vector<std::string> argv = link.wrapper();
  for (std::string a : {program("tests/bench/paho_offline_buffer"), std::string("--uri"), proxy.uri(),
                        std::string("--client-id"), pd.id, std::string("--topic"), topics::up(pd.id),
                        std::string("--payloads"), payloads, std::string("--persist"), dir.file("paho-" + p.name),
                        std::string("--every"), std::to_string(every)})
    argv.push_back(a);
  std::cerr << "bench_link: " << p.name << ": the same backlog through paho's offline buffer...\n";
  CommandResult paho;
  std::atomic<bool> done{false};
  std::thread runner([&] {
    paho = run(argv, dir, std::chrono::seconds(1800));
    done = true;
  });
  CutSchedule pahoCuts(proxy, p.cutEveryS);
  while (!done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    pahoCuts.tick();
  }
  runner.join();
  const std::string out = paho.output.substr(std::min(paho.output.rfind("{\""), paho.output.size()));
  const QJsonObject j = QJsonDocument::fromJson(QByteArray::fromStdString(out)).object();
  if (j.isEmpty())
    throw std::runtime_error("bench_link: paho_offline_buffer failed on " + p.name + ":\n" + paho.output);
  r.pahoDrainS = j["drain_s"].toDouble();
  r.pahoMessages = j["messages"].toInt();
  r.pahoAcked = j["acknowledged"].toInt();
  r.pahoStalled = j["stalled"].toBool();
  for (const auto& v : j["status_ms"].toArray()) r.pahoStatusMs.push_back(v.toDouble());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Profile> profiles;
  int avl = 28800, statuses = 100, presses = 20, avlBatch = 64;
  std::string json;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return 0;
    }
    if (i + 1 >= argc) {
      std::cerr << "bench_link: " << a << " needs a value\n" << kHelp;
      return 2;
    }
    std::string v = argv[++i];
    if (a == "--profile") {
      auto it = std::find_if(kProfiles.begin(), kProfiles.end(), [&](const Profile& p) { return p.name == v; });
      if (it == kProfiles.end()) {
        std::cerr << "bench_link: --profile \"" << v << "\" is not one of lte-good, lte-edge, 3g\n";
        return 2;
      }
      profiles.push_back(*it);
    } else if (a == "--avl") avl = std::stoi(v);
    else if (a == "--statuses") statuses = std::stoi(v);
    else if (a == "--presses") presses = std::stoi(v);
    else if (a == "--avl-batch")
      avlBatch = std::stoi(v);
    else if (a == "--json") json = v;
    else {
      std::cerr << "bench_link: unknown option \"" << a << "\"\n" << kHelp;
      return 2;
    }
  }
  if (avl < 0 || statuses < 0 || presses < 0 || presses > 40 || avlBatch < 0 || avlBatch > 128) {
    std::cerr << "bench_link: --avl >= 0, --statuses >= 0, --presses 0..40 (the agent reports its newest 50 actions), "
                 "--avl-batch 0..128\n";
    return 2;
  }
  if (profiles.empty()) profiles = kProfiles;
  if (::geteuid() != 0) {
    std::cerr << "bench_link: needs root, for a network namespace and tc (run it as root)\n";
    return 2;
  }
  try {
    TempDir dir("bench-link");
    ShapedLink link(dir);
    Mosquitto broker(dir);
    CadStub stub(dir, broker.uri());
    stub.start();
    if (!stub.waitReady()) throw std::runtime_error("bench_link: cad-stub not ready:\n" + stub.log());
    std::vector<LinkRun> results;
    int index = 0;
    for (const auto& p : profiles)
      results.push_back(runProfile(dir, link, broker, stub, p, ++index, avl, statuses, presses, avlBatch));

    std::printf("\n%d AVL + %d statuses backlogged; %d statuses pressed during each drain; backlog %s\n", avl, statuses,
                presses,
                avlBatch > 0 ? ("in batches of up to " + std::to_string(avlBatch) + " reports").c_str()
                             : "one report per message");
    std::printf("%-9s %10s %7s %9s %10s %7s %9s %9s %11s %11s %9s %5s   %s\n", "profile", "rate", "rtt", "drain s",
                "raw link s", "ratio", "payload", "B/report", "status p50", "status p99", "goal ms", "cuts",
                "paho offline buffer: drain s, status p50, p99");
    for (const auto& r : results) {
      const double perReport = double(r.upBytes) / double(avl + statuses + r.pressed);
      const double payloadS = double(r.payloadBytes) * 8.0 / (r.profile.rateKbit * 1000.0);
      std::printf("%-9s %7d kb %4d ms %9.1f %10.1f %7.2f %9.2f %9.0f %8.0f ms %8.0f ms %9.0f %5d%s\n",
                  r.profile.name.c_str(), r.profile.rateKbit, r.profile.rttMs, r.drainS, r.rawS, r.drainS / r.rawS,
                  r.drainS / payloadS, perReport,
                  percentile(r.statusMs, 50), percentile(r.statusMs, 99), r.goalMs, r.cuts,
                  (r.undelivered ? " (" + std::to_string(r.undelivered) + " statuses undelivered)" : std::string())
                      .c_str());
      std::printf("%-9s %106s %.1f s, %.0f ms, %.0f ms (%zu statuses)%s\n", "", "", r.pahoDrainS,
                  percentile(r.pahoStatusMs, 50), percentile(r.pahoStatusMs, 99), r.pahoStatusMs.size(),
                  r.pahoStalled ? (": STALLED with " + std::to_string(r.pahoMessages - r.pahoAcked) +
                                   " messages never acknowledged")
                                      .c_str()
                                : "");
    }
    std::printf("raw link s: the bytes the agent sent (MQTT framing included) at the link's rate, no round trips;\n"
                "ratio: drain / raw link s; payload: drain / the envelopes' own bytes at the link's rate\n"
                "goal: three round trips plus the status's own transfer time\n"
                "status: press to the backend's commit ack (agent); publish call to the broker's PUBACK (paho)\n"
                "cuts: the connection is cut 1/3 of the period into the drain, then every period\n");
    if (!json.empty()) {
      std::ofstream j(json);
      j << "{\n  \"avl\": " << avl << ",\n  \"statuses\": " << statuses << ",\n  \"avl_batch\": " << avlBatch
        << ",\n  \"profiles\": [";
      for (size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        j << (i ? "," : "") << "\n    {\"name\": \"" << r.profile.name << "\", \"rate_kbit\": " << r.profile.rateKbit
          << ", \"rtt_ms\": " << r.profile.rttMs << ", \"cut_every_s\": " << r.profile.cutEveryS
          << ", \"reconnect_s\": " << r.reconnectS << ", \"drain_s\": " << r.drainS << ", \"raw_link_s\": " << r.rawS
          << ", \"up_bytes\": " << r.upBytes << ", \"payload_bytes\": " << r.payloadBytes << ", \"down_bytes\": " << r.downBytes << ", \"cuts\": " << r.cuts
          << ", \"statuses_pressed\": " << r.pressed << ", \"statuses_undelivered\": " << r.undelivered
          << ", \"status_to_ack_ms\": {\"p50\": " << percentile(r.statusMs, 50)
          << ", \"p99\": " << percentile(r.statusMs, 99) << ", \"max\": " << percentile(r.statusMs, 100)
          << ", \"samples\": " << r.statusMs.size() << "}, \"goal_ms\": " << r.goalMs
          << ", \"paho_offline_buffer\": {\"drain_s\": " << r.pahoDrainS << ", \"messages\": " << r.pahoMessages
          << ", \"acknowledged\": " << r.pahoAcked << ", \"stalled\": " << (r.pahoStalled ? "true" : "false") << ", \"status_to_puback_ms\": {\"p50\": "
          << percentile(r.pahoStatusMs, 50) << ", \"p99\": " << percentile(r.pahoStatusMs, 99)
          << ", \"samples\": " << r.pahoStatusMs.size() << "}}}";
      }
      j << "\n  ]\n}\n";
      std::printf("wrote %s\n", json.c_str());
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 3;
  }
  return 0;
}
