// bench_liveness: how soon the dispatcher's board shows a vehicle that went
// silent with its connection open (frozen), what an idle vehicle costs on the
// wire per day (over TLS, as deployed), and what the beats of a city's idle
// fleet cost the broker and the stub.
//
//   1. --vehicles real agents on one broker and stub, idle; each round freezes
//      every vehicle at a random moment within one heartbeat (SIGSTOP) and
//      times freeze -> offline on the board (the store read as cadctl does),
//      then thaws them and waits until they are back online. Then a third as
//      many rounds with the stub's watch off: the broker's last will alone.
//   2. One real agent over TLS with a client certificate, idle for --idle-s:
//      what its TCP connection carried both ways (bytes and segments, from
//      the kernel, ss -ti), per day.
//   3. --units connections (the load generator, keepalive 5 s as the agents'),
//      idle for --load-s with pings only, then as long again beating every
//      --beat-s: the broker's and the stub's CPU for each.
//
// With --city DIR, step 1 only, on the city-scale deployment that
// `scripts/cluster.sh up --pg --edges N --dir DIR` runs: the vehicles over TLS
// on the edges (certificates of DIR/cad.ca), their beats heard by each edge's
// cad-edge-watch, the board read from the PostgreSQL store the workers write.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "server-stub/store/event_store.h"
#include "server-stub/store/read_models.h"
#include "shared/infra/pki.h"
#include "shared/wire/clock.h"
#include "shared/wire/topics.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/mqtt_load.h"
#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"
#include "tests/support/test_pki.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

namespace {

struct Options {
  int vehicles = 10, rounds = 10, idleS = 60, units = 12000, loadS = 20, beatS = 2;
  std::string json = "bench_liveness.json";
  std::string city;  ///< a cluster.sh --pg --edges directory: step 1 there only
};

void usage() {
  std::cout << "usage: bench_liveness [--vehicles N] [--rounds N] [--idle-s S] [--units N] [--load-s S] [--beat-s S]\n"
               "                      [--json FILE] [--city DIR]\n"
               "  --vehicles N   real agents frozen in each round (default 10)\n"
               "  --rounds N     rounds of freezing (default 10)\n"
               "  --idle-s S     how long the TLS agent idles for the wire cost (default 60)\n"
               "  --units N      load-generator connections for the beats' cost (default 12000; 0: skip)\n"
               "  --load-s S     each phase of the load (default 20)\n"
               "  --beat-s S     each connection's beat interval under load (default 2, the agent's)\n"
               "  --json FILE    where the figures go (default bench_liveness.json)\n"
               "  --city DIR     step 1 only, on the city of scripts/cluster.sh up --pg --edges N --dir DIR: the\n"
               "                 vehicles on the edges, the edges' liveness watches, the workers on PostgreSQL\n";
}

bool parse(int argc, char** argv, Options& o) {
  std::map<std::string, int*> ints{{"--vehicles", &o.vehicles}, {"--rounds", &o.rounds}, {"--idle-s", &o.idleS},
                                   {"--units", &o.units},       {"--load-s", &o.loadS},  {"--beat-s", &o.beatS}};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      usage();
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::cerr << "bench_liveness: " << a << " needs a value\n";
      return false;
    }
    const std::string v = argv[++i];
    if (a == "--json" || a == "--city") {
      (a == "--json" ? o.json : o.city) = v;
      continue;
    }
    auto it = ints.find(a);
    if (it == ints.end()) {
      std::cerr << "bench_liveness: unknown option " << a << "\n";
      return false;
    }
    if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos) {
      std::cerr << "bench_liveness: " << a << " \"" << v << "\": expected a whole number\n";
      return false;
    }
    *it->second = std::stoi(v);
  }
  if (o.vehicles < 1 || o.rounds < 1 || o.idleS < 1 || o.loadS < 1 || o.beatS < 1) {
    std::cerr << "bench_liveness: --vehicles, --rounds, --idle-s, --load-s and --beat-s must be at least 1\n";
    return false;
  }
  return true;
}

/** The units the board shows online now (the store read as cadctl reads it). */
std::set<std::string> onlineUnits(cad::EventStore& store) {
  std::set<std::string> out;
  for (const auto& u : cad::ReadModels(store).board({}))
    if (u.online) out.insert(u.unit);
  return out;
}

struct Detection {
  std::vector<double> ms;
  int missed = 0;  ///< not shown offline within 25 s
};

/** rounds of freezing agents (serving units) while the board is read from db. */
Detection timeFreezes(const std::vector<AgentProcess*>& agents, const std::vector<std::string>& units,
                      const std::string& db, int rounds) {
  auto store = cad::EventStore::open(db, true);
  if (!store) throw std::runtime_error(store.error().message);
  auto allOnline = [&] {
    const auto online = onlineUnits(**store);
    for (const auto& u : units)
      if (!online.count(u)) return false;
    return true;
  };
  if (!waitUntil(allOnline, 60s)) throw std::runtime_error("the vehicles did not all come online");
  std::mt19937 rng(20261207);
  Detection d;
  for (int r = 0; r < rounds; ++r) {
    std::this_thread::sleep_for(3s);  // idle: beats only
    // Each frozen at its own moment within one heartbeat, so the freezes
    // fall evenly over the time since its last beat.
    std::vector<std::pair<double, size_t>> plan;
    std::uniform_real_distribution<double> at(0, 2500);
    for (size_t i = 0; i < agents.size(); ++i) plan.push_back({at(rng), i});
    std::sort(plan.begin(), plan.end());
    const auto t0 = Steady::now();
    std::vector<Steady::time_point> frozenAt(agents.size());
    std::vector<bool> shown(agents.size(), false);
    size_t next = 0, left = agents.size();
    while (left > 0 && Steady::now() - t0 < 25s) {
      const double now = std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
      while (next < plan.size() && plan[next].first <= now) {
        ::kill(agents[plan[next].second]->pid(), SIGSTOP);
        frozenAt[plan[next].second] = Steady::now();
        ++next;
      }
      const auto online = onlineUnits(**store);
      for (size_t i = 0; i < next; ++i)
        if (!shown[i] && !online.count(units[plan[i].second])) {
          const size_t a = plan[i].second;
          shown[i] = true;
          --left;
          d.ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - frozenAt[a]).count());
        }
      std::this_thread::sleep_for(20ms);
    }
    d.missed += int(left);
    for (auto* a : agents) ::kill(a->pid(), SIGCONT);
    if (!waitUntil(allOnline, 60s)) throw std::runtime_error("the vehicles did not all come back online");
    std::printf("round %d of %d: %zu frozen vehicles timed\n", r + 1, rounds, d.ms.size());
    std::fflush(stdout);
  }
  return d;
}

/** rounds of freezing with one broker and a stub run with stubArgs. */
Detection freezeRounds(const Options& o, int rounds, std::vector<std::string> stubArgs) {
  BackendStack stack({}, {.args = std::move(stubArgs)});
  std::vector<AgentProcess*> agents;
  std::vector<std::string> units;
  for (int i = 0; i < o.vehicles; ++i) {
    char dev[32], unit[32];
    std::snprintf(dev, sizeof dev, "MDC-LV%03d", i);
    std::snprintf(unit, sizeof unit, "LV%03d", i);
    agents.push_back(&stack.addVehicle(dev, unit, "FD1"));
    units.push_back(unit);
    agents.back()->start();
  }
  return timeFreezes(agents, units, stack.stub.dbPath(), rounds);
}

/** KEY=VALUE lines of a cluster.sh directory's cluster.env (quotes removed). */
std::map<std::string, std::string> clusterEnv(const std::string& dir) {
  std::ifstream in(dir + "/cluster.env");
  if (!in) throw std::runtime_error(dir + "/cluster.env: not found (scripts/cluster.sh up --pg --edges N --dir " + dir + ")");
  std::map<std::string, std::string> env;
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string v = line.substr(eq + 1);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    env[line.substr(0, eq)] = v;
  }
  for (const char* key : {"STORE", "MDC_EDGES"})
    if (env[key].empty()) throw std::runtime_error(dir + "/cluster.env has no " + key + " (up --pg --edges N)");
  return env;
}

/** rounds of freezing on the city in dir: agents over TLS on its edges. */
Detection cityFreezeRounds(const Options& o, const std::string& cityDir) {
  auto env = clusterEnv(cityDir);
  auto ca = pki::FleetCa::open(cityDir + "/cad.ca");
  if (!ca) throw std::runtime_error(ca.error().message);
  TempDir dir("bench-liveness-city");
  const std::string run = std::to_string(mdc::SystemClock::instance().nowMs() % 100000000);
  std::vector<std::unique_ptr<AgentProcess>> owned;
  std::vector<AgentProcess*> agents;
  std::vector<std::string> units;
  for (int i = 0; i < o.vehicles; ++i) {
    const std::string device = "LVC-" + run + "-" + std::to_string(i), unit = "C" + run + "-" + std::to_string(i);
    auto added = mdc::test::run({program("server-stub/cadctl"), "--db", env["STORE"], "--control", cityDir + "/cad.ctl", "--agency", "FD1", "--as", "fleet",
                      "devices", "add", device, "--unit", unit},
                     dir);
    if (added.exitCode != 0) throw std::runtime_error("cadctl devices add " + device + ": " + added.output);
    pki::SignOptions so;
    so.validDays = 2;
    if (auto c = ca->issue(device, dir.file(device + ".pem"), dir.file(device + ".key"), so); !c)
      throw std::runtime_error(c.error().message);
    owned.push_back(std::make_unique<AgentProcess>(
        dir, device, unit, "FD1", env["MDC_EDGES"],
        std::vector<std::string>{"--set", "tls.ca=" + cityDir + "/cad.ca/ca.pem", "--set",
                                 "tls.cert=" + dir.file(device + ".pem"), "--set", "tls.key=" + dir.file(device + ".key")}));
    owned.back()->start();
    agents.push_back(owned.back().get());
    units.push_back(unit);
  }
  return timeFreezes(agents, units, env["STORE"], o.vehicles > 0 ? o.rounds : 0);
}

struct Wire {
  double seconds = 0;
  long long bytesUp = 0, bytesDown = 0, segsUp = 0, segsDown = 0;
};

/** The agent's side of its TCP connections to port: bytes and segments, from ss -ti. */
Wire socketCounters(pid_t agent, uint16_t port, const TempDir& dir) {
  auto r = run({"ss", "-tinpH", "state", "established", "( dport = :" + std::to_string(port) + " )"}, dir, 10s);
  Wire w;
  std::istringstream lines(r.output);
  std::string line, block;
  // ss prints each socket on two lines: the addresses and process, then its counters.
  std::vector<std::string> sockets;
  while (std::getline(lines, line)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '\t' && !block.empty()) {
      sockets.push_back(block);
      block.clear();
    }
    block += line + " ";
  }
  if (!block.empty()) sockets.push_back(block);
  const std::string mine = "pid=" + std::to_string(agent) + ",";
  auto field = [](const std::string& s, const char* name) {
    std::smatch m;
    return std::regex_search(s, m, std::regex(std::string(name) + ":([0-9]+)")) ? std::stoll(m[1]) : 0LL;
  };
  for (const auto& s : sockets)
    if (s.find(mine) != std::string::npos) {
      w.bytesUp += field(s, "bytes_acked");
      w.bytesDown += field(s, "bytes_received");
      w.segsUp += field(s, "segs_out");
      w.segsDown += field(s, "segs_in");
    }
  return w;
}

Wire idleWire(const Options& o) {
  TempDir pkiDir;
  TestPki pki(pkiDir.path());
  auto opts = Mosquitto::tlsOptions(pki);
  opts.acl = "pattern readwrite cad/v1/dev/%u/#\nuser cad-stub\ntopic readwrite cad/v1/#\n";
  auto stubCert = pki.clientCert("cad-stub");
  auto cert = pki.clientCert("MDC-WIRE");
  VehicleStack v("MDC-WIRE", "W1", "FD1", opts,
                 {"--set", "tls.ca=" + pki.caFile(), "--set", "tls.cert=" + cert.certFile, "--set",
                  "tls.key=" + cert.keyFile},
                 {.args = {"--client-id", "cad-stub", "--tls-ca", pki.caFile(), "--tls-cert", stubCert.certFile,
                           "--tls-key", stubCert.keyFile}});
  v.startAgentOnline();
  std::this_thread::sleep_for(5s);  // past the connect and the first presence
  const Wire a = socketCounters(v.agent.pid(), v.broker.port(), v.dir);
  const auto t0 = Steady::now();
  for (int s = 0; s < o.idleS; ++s) {
    std::this_thread::sleep_for(1s);
    if ((s + 1) % 10 == 0) std::printf("idle over TLS: %d of %d s\n", s + 1, o.idleS), std::fflush(stdout);
  }
  const Wire b = socketCounters(v.agent.pid(), v.broker.port(), v.dir);
  Wire w;
  w.seconds = bench::secondsSince(t0);
  w.bytesUp = b.bytesUp - a.bytesUp;
  w.bytesDown = b.bytesDown - a.bytesDown;
  w.segsUp = b.segsUp - a.segsUp;
  w.segsDown = b.segsDown - a.segsDown;
  if (b.segsUp == 0) throw std::runtime_error("ss showed no connection of the agent to the broker");
  return w;
}

struct LoadCost {
  size_t connected = 0;
  double seconds = 0, beatsPerS = 0;
  double brokerIdleCores = 0, stubIdleCores = 0, brokerBeatCores = 0, stubBeatCores = 0;
  uint64_t stubBeatsHeard = 0;
};

LoadCost beatLoad(const Options& o) {
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur < rlim_t(o.units) + 500) {
    nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, rlim_t(o.units) + 1000);
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  MosquittoOptions bo;
  bo.extraConfig = "max_connections -1\n";
  BackendStack stack(bo);
  bench::MqttLoad load({}, 5);
  for (int i = 0; i < o.units; ++i) load.add(stack.broker.port(), "MDC-B" + std::to_string(i), true);
  const size_t up = load.connectAll(200, std::chrono::seconds(300), [&](size_t n) {
    std::printf("connected %zu of %d\n", n, o.units);
    std::fflush(stdout);
  });
  LoadCost c;
  c.connected = up;
  auto phase = [&](bool beats, double& broker, double& stub) {
    const auto b0 = processUsage(stack.broker.pid()).cpuSeconds, s0 = processUsage(stack.stub.pid()).cpuSeconds;
    const auto t0 = Steady::now();
    const double perMs = double(o.units) / (o.beatS * 1000.0);
    double owed = 0;
    size_t cursor = 0;
    auto last = t0;
    while (Steady::now() - t0 < std::chrono::seconds(o.loadS)) {
      const auto now = Steady::now();
      if (beats) {
        owed += perMs * std::chrono::duration<double, std::milli>(now - last).count();
        for (; owed >= 1; owed -= 1, cursor = (cursor + 1) % size_t(o.units))
          load.beat(cursor, topics::beat("MDC-B" + std::to_string(cursor)));
      }
      last = now;
      load.poll(5);
    }
    const double secs = bench::secondsSince(t0);
    broker = (processUsage(stack.broker.pid()).cpuSeconds - b0) / secs;
    stub = (processUsage(stack.stub.pid()).cpuSeconds - s0) / secs;
    return secs;
  };
  std::printf("idle, pings only: %d s\n", o.loadS);
  std::fflush(stdout);
  phase(false, c.brokerIdleCores, c.stubIdleCores);
  std::printf("beating every %d s: %d s\n", o.beatS, o.loadS);
  std::fflush(stdout);
  const uint64_t before = load.stats().beats;
  c.seconds = phase(true, c.brokerBeatCores, c.stubBeatCores);
  c.beatsPerS = double(load.stats().beats - before) / c.seconds;
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    usage();
    return 2;
  }
  try {
    if (!o.city.empty()) {
      std::printf("1. %d vehicles on the edges of the city in %s, frozen in each of %d rounds\n", o.vehicles,
                  o.city.c_str(), o.rounds);
      const Detection d = cityFreezeRounds(o, o.city);
      const double p50 = bench::percentile(d.ms, 50), p99 = bench::percentile(d.ms, 99),
                   max = bench::percentile(d.ms, 100);
      std::printf("city: frozen -> offline on the board: p50 %.0f ms, p99 %.0f ms, max %.0f ms over %zu (goal: p99 "
                  "under 5000 ms); not shown within 25 s: %d\n",
                  p50, p99, max, d.ms.size(), d.missed);
      std::ofstream j(o.json);
      j << "{\n  \"city\": \"" << o.city << "\",\n  \"vehicles\": " << o.vehicles << ",\n  \"rounds\": " << o.rounds
        << ",\n  \"frozen_to_offline_ms\": {\"samples\": " << d.ms.size() << ", \"p50\": " << p50 << ", \"p99\": "
        << p99 << ", \"max\": " << max << ", \"missed\": " << d.missed << "}\n}\n";
      std::printf("wrote %s\n", o.json.c_str());
      return d.missed == 0 && p99 < 5000 ? 0 : 1;
    }
    std::printf("1. %d vehicles frozen in each of %d rounds\n", o.vehicles, o.rounds);
    const Detection d = freezeRounds(o, o.rounds, {});
    const double p50 = bench::percentile(d.ms, 50), p99 = bench::percentile(d.ms, 99),
                 max = bench::percentile(d.ms, 100);
    std::printf("frozen -> offline on the board: p50 %.0f ms, p99 %.0f ms, max %.0f ms over %zu (goal: p99 under "
                "5000 ms); not shown within 25 s: %d\n",
                p50, p99, max, d.ms.size(), d.missed);
    const int willRounds = std::max(1, o.rounds / 3);
    std::printf("1b. the same with the stub's watch off (--silent-after-ms 0): the broker's last will alone, %d "
                "rounds\n", willRounds);
    const Detection will = freezeRounds(o, willRounds, {"--silent-after-ms", "0"});
    std::printf("frozen -> offline by the last will: p50 %.0f ms, p99 %.0f ms, max %.0f ms over %zu; not shown within "
                "25 s: %d\n",
                bench::percentile(will.ms, 50), bench::percentile(will.ms, 99), bench::percentile(will.ms, 100),
                will.ms.size(), will.missed);
    std::printf("2. one idle vehicle over TLS for %d s\n", o.idleS);
    const Wire w = idleWire(o);
    // On the wire each segment also carries its IPv4 and TCP headers with
    // timestamps: 52 bytes.
    const double perDay = 86400.0 / w.seconds;
    const double tcpBytesDay = double(w.bytesUp + w.bytesDown) * perDay;
    const double wireBytesDay = (double(w.bytesUp + w.bytesDown) + 52.0 * double(w.segsUp + w.segsDown)) * perDay;
    std::printf("idle vehicle: up %lld B in %lld segments, down %lld B in %lld segments over %.1f s; per day %.2f MB "
                "of TLS payload, %.2f MB on the wire with IP and TCP headers\n",
                w.bytesUp, w.segsUp, w.bytesDown, w.segsDown, w.seconds, tcpBytesDay / 1e6, wireBytesDay / 1e6);
    LoadCost c;
    if (o.units > 0) {
      std::printf("3. %d connections, keepalive 5 s\n", o.units);
      c = beatLoad(o);
      std::printf("%zu connected; idle (pings only): broker %.3f cores, stub %.3f; beating (%.0f beats/s): broker "
                  "%.3f cores, stub %.3f\n",
                  c.connected, c.brokerIdleCores, c.stubIdleCores, c.beatsPerS, c.brokerBeatCores, c.stubBeatCores);
    }
    std::ofstream j(o.json);
    j << "{\n  \"vehicles\": " << o.vehicles << ",\n  \"rounds\": " << o.rounds
      << ",\n  \"frozen_to_offline_ms\": {\"samples\": " << d.ms.size() << ", \"p50\": " << p50 << ", \"p99\": " << p99
      << ", \"max\": " << max << ", \"missed\": " << d.missed << "},\n  \"frozen_to_offline_by_will_ms\": {\"samples\": "
      << will.ms.size() << ", \"p50\": " << bench::percentile(will.ms, 50) << ", \"p99\": "
      << bench::percentile(will.ms, 99) << ", \"max\": " << bench::percentile(will.ms, 100)
      << ", \"missed\": " << will.missed << "},\n  \"idle_vehicle\": {\"seconds\": " << w.seconds
      << ", \"bytes_up\": " << w.bytesUp << ", \"bytes_down\": " << w.bytesDown << ", \"segments_up\": " << w.segsUp
      << ", \"segments_down\": " << w.segsDown << ", \"tls_payload_bytes_per_day\": " << tcpBytesDay
      << ", \"wire_bytes_per_day\": " << wireBytesDay << "},\n  \"beats\": {\"units\": " << o.units
      << ", \"connected\": " << c.connected << ", \"beats_per_s\": " << c.beatsPerS
      << ", \"broker_idle_cores\": " << c.brokerIdleCores << ", \"stub_idle_cores\": " << c.stubIdleCores
      << ", \"broker_beating_cores\": " << c.brokerBeatCores << ", \"stub_beating_cores\": " << c.stubBeatCores
      << "}\n}\n";
    std::printf("wrote %s\n", o.json.c_str());
    return d.missed == 0 && p99 < 5000 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "bench_liveness: " << e.what() << "\n";
    return 1;
  }
}
