// bench_city: the city-scale deployment under a city's load, on this one
// machine. scripts/cluster.sh up --pg starts 3 RabbitMQ nodes, a PostgreSQL
// primary with a synchronous standby and 2 stub workers; the fleet is
// registered with `cadctl devices import`; then a light load generator holds
// one MQTT 3.1.1 connection per unit (12,000 by default, spread over the
// nodes) and, in the same run:
//   1. raw RabbitMQ: AVL-sized QoS 1 publishes at the AVL rate into a quorum
//      queue that an AMQP consumer (the workers' own consumer code) takes and
//      acknowledges: what the cluster carries with no store behind it;
//   2. the stub: every unit's AVL at the same rate for --seconds, and status
//      changes from a subset of units subscribed to their down topic, timed
//      to the broker's PUBACK, to the commit ack at the device and to the
//      board (the units table, polled);
//   3. both flooded: a fixed number of events as fast as they are taken.
// Prints the figures, the CPU and memory of every process, and writes JSON.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mdc/v1/mdc.pb.h"
#include "shared/wire/topics.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/city_probes.h"
#include "tests/bench/mqtt_load.h"
#include "tests/support/rabbit_cluster.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/stub/stub_wire.h"

using namespace cad;
using namespace cad::test;
using mdc::bench::MqttLoad;
using namespace mdc::bench::city;
using mdc::bench::percentile;
using mdc::bench::secondsSince;

namespace {

struct Options {
  int units = 12000;
  int avlRate = 2400;
  int seconds = 300;
  int statusUnits = 600;
  double statusRate = 10;
  int rawSeconds = 60;
  int flood = 60000;
  int heldRate = 400;
  int heldSeconds = 60;
  int drainLimit = 120;
  std::string rawQueue = "quorum";
  int window = 200;
  int maxInFlight = 8;
  std::string dir = "/tmp/mdc-bench-city";
  bool running = false;
  bool keep = false;
  std::string json;
};

const char* kHelp = R"(usage: bench_city [options]
Brings up the city-scale cluster (scripts/cluster.sh up --pg: 3 RabbitMQ nodes,
PostgreSQL primary + synchronous standby, 2 stub workers), registers the fleet,
connects one MQTT 3.1.1 connection per unit and measures, in the same run, raw
RabbitMQ QoS 1 and the stub at the AVL rate, then both flooded.
  --units N          units, each its own connection (default 12000)
  --avl-rate N       AVL reports/s across the fleet (default 2400: every unit every 5 s)
  --seconds N        the stub's sustained run (default 300)
  --status-units N   units that subscribe to their down topic (persistent
                     sessions) and change status (default 600)
  --status-rate R    status changes/s across them (default 10)
  --raw-seconds N    the raw RabbitMQ run at the AVL rate (default 60)
  --held-rate N      AVL/s of a first stub run at a rate it holds (default 400; 0: none)
  --held-seconds N   its length (default 60)
  --drain-limit S    after a stub run, wait at most S s for its backlog (default 120)
  --raw-queue TYPE   the raw queue's type: quorum (default, as the ingest's) or classic
  --flood N          events in each flood run (default 60000; 0: none); the stub's
                     only when its AVL-rate run was drained
  --window N         connection handshakes at a time (default 200)
  --dir DIR          the cluster's directory (default /tmp/mdc-bench-city)
  --running          use the cluster already up in DIR (units get new names)
  --keep             leave the cluster up afterwards
  --json FILE        write the figures as JSON
)";

/** What one run measured. */
struct Phase {
  std::string name;
  double seconds = 0;        ///< the timed window
  uint64_t offered = 0;      ///< reports due by the schedule
  uint64_t published = 0;    ///< reports written (a unit with --max-in-flight unacknowledged skips its turn)
  double takenPerS = 0;      ///< consumed (raw) or committed (stub) per second over the window
  double drainS = 0;         ///< after the window, until the last one was taken
  uint64_t backlog = 0;      ///< not taken within --drain-limit after the window
  std::vector<double> pubackMs, deliverMs;
  std::vector<double> statusPubackMs, statusAckMs, statusBoardMs;
  size_t statuses = 0;
  std::map<std::string, Usage> before, after;
  size_t lostConnections = 0;
};

struct StatusProbe {
  size_t unit;
  uint64_t seq;
  int64_t at;
  Clock::time_point sent;
};

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string jsonMs(const std::vector<double>& v) {
  char b[128];
  std::snprintf(b, sizeof b, "{\"p50\": %.2f, \"p99\": %.2f, \"max\": %.2f, \"samples\": %zu}", percentile(v, 50),
                percentile(v, 99), percentile(v, 100), v.size());
  return b;
}

int run(const Options& o);

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "bench_city: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    auto number = [&](int min, int max) {
      std::string v = next();
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < min || n > max) {
        std::cerr << "bench_city: " << a << " \"" << v << "\": expected a whole number " << min << "-" << max << "\n";
        std::exit(2);
      }
      return int(n);
    };
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return 0;
    } else if (a == "--units") o.units = number(3, 60000);
    else if (a == "--avl-rate") o.avlRate = number(1, 100000);
    else if (a == "--seconds") o.seconds = number(5, 86400);
    else if (a == "--status-units") o.statusUnits = number(1, 60000);
    else if (a == "--status-rate") o.statusRate = number(0, 10000);
    else if (a == "--raw-seconds") o.rawSeconds = number(0, 86400);
    else if (a == "--flood") o.flood = number(0, 10000000);
    else if (a == "--held-rate") o.heldRate = number(0, 100000);
    else if (a == "--held-seconds") o.heldSeconds = number(5, 86400);
    else if (a == "--drain-limit") o.drainLimit = number(1, 86400);
    else if (a == "--window") o.window = number(1, 10000);
    else if (a == "--dir") o.dir = next();
    else if (a == "--raw-queue") {
      o.rawQueue = next();
      if (o.rawQueue != "quorum" && o.rawQueue != "classic") {
        std::cerr << "bench_city: --raw-queue \"" << o.rawQueue << "\": expected quorum or classic\n";
        return 2;
      }
    }
    else if (a == "--running") o.running = true;
    else if (a == "--keep") o.keep = true;
    else if (a == "--json") o.json = next();
    else {
      std::cerr << "bench_city: unknown option \"" << a << "\"\n" << kHelp;
      return 2;
    }
  }
  if (o.statusUnits > o.units) {
    std::cerr << "bench_city: --status-units " << o.statusUnits << " is more than --units " << o.units << "\n";
    return 2;
  }
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur < rlim_t(o.units) + 200) {
    nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, rlim_t(o.units) + 1000);
    setrlimit(RLIMIT_NOFILE, &nofile);
    getrlimit(RLIMIT_NOFILE, &nofile);
    if (nofile.rlim_cur < rlim_t(o.units) + 200) {
      std::cerr << "bench_city: --units " << o.units << " needs " << o.units + 200 << " open files; the limit is "
                << nofile.rlim_cur << " (ulimit -n)\n";
      return 2;
    }
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "bench_city: " << e.what() << "\n";
    return 3;
  }
}


namespace {

double cores(const Phase& p, const std::string& name) {
  if (!p.before.count(name) || !p.after.count(name) || p.seconds <= 0) return 0;
  return (p.after.at(name).cpuSeconds - p.before.at(name).cpuSeconds) / p.seconds;
}

int run(const Options& o) {
  const std::string script = mdc::test::env("MDC_SOURCE_DIR") + "/scripts/cluster.sh";
  const std::string cluster = "MDC_BUILD_DIR='" + mdc::test::env("MDC_BINARY_DIR") + "' bash '" + script + "' ";
  // The cluster goes down at the end whatever happens, unless it was up
  // before or is to be kept.
  struct Down {
    std::string cmd;
    ~Down() {
      std::fflush(stdout);
      if (!cmd.empty() && std::system(cmd.c_str()) != 0) std::cerr << "bench_city: " << cmd << " failed\n";
    }
  } down;
  double clusterUpS = 0;
  if (!o.running) {
    if (std::ifstream(o.dir + "/cluster.env")) {
      const std::string quiet = cluster + "down --dir '" + o.dir + "' > /dev/null 2>&1";
      if (std::system(quiet.c_str()) != 0) std::cerr << "bench_city: the cluster left in " << o.dir << " did not stop\n";
    }
    std::printf("bench_city: starting the cluster in %s (scripts/cluster.sh up --pg)\n", o.dir.c_str());
    std::fflush(stdout);
    auto t0 = Clock::now();
    if (!o.keep) down.cmd = cluster + "down --dir '" + o.dir + "'";
    if (std::system((cluster + "up --pg --dir '" + o.dir + "'").c_str()) != 0)
      throw std::runtime_error("scripts/cluster.sh up --pg failed (its logs are in " + o.dir + ")");
    clusterUpS = secondsSince(t0);
  }
  mdc::test::RabbitCluster rabbit(o.dir);
  const std::string store = rabbit.setting("STORE");
  if (store.rfind("postgresql://", 0) != 0)
    throw std::runtime_error(o.dir + " runs no PostgreSQL store (STORE=" + store + "): use scripts/cluster.sh up --pg");
  const auto procs = processesOf(rabbit, o.dir);

  // The fleet: four agencies (four hash chains, so both workers write at
  // once). On a cluster that was up before, the units get names of their own.
  const char* agencies[] = {"PD1", "PD2", "FD1", "EMS1"};
  const unsigned runTag = o.running ? unsigned(wallMs() / 1000 % 100000) : 0;
  const std::string prefix = runTag ? "C" + std::to_string(runTag) + "-" : "CITY-";
  std::vector<Device> units;
  for (int i = 0; i < o.units; ++i) {
    char n[16];
    std::snprintf(n, sizeof n, "%05d", i);
    units.push_back(Device{prefix + n, (runTag ? "U" + std::to_string(runTag) + "-" : "U") + n, agencies[i % 4], uint32_t(i)});
  }
  double importS = 0;
  {
    const std::string csv = o.dir + "/bench-fleet.csv";
    std::ofstream f(csv);
    for (const auto& d : units) f << d.id << "," << d.unit << "," << d.agency << "\n";
    f.close();
    std::printf("bench_city: registering %d units (cadctl devices import)\n", o.units);
    std::fflush(stdout);
    auto t0 = Clock::now();
    const std::string cmd = "'" + mdc::test::env("MDC_BINARY_DIR") + "/server-stub/cadctl' --db '" + store +
                            "' --control '" + o.dir + "/cad.ctl' devices import '" + csv + "' > '" + o.dir +
                            "/bench-import.log' 2>&1";
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("cadctl devices import failed (its output: " + o.dir + "/bench-import.log)");
    importS = secondsSince(t0);
    std::printf("bench_city: registered in %.1f s (cadctl's output: %s/bench-import.log)\n", importS, o.dir.c_str());
  }

  // Which units change status: every k-th, spread over agencies and nodes.
  std::vector<size_t> statusUnits;
  std::vector<bool> isStatus(units.size(), false);
  for (int k = 0; k < o.statusUnits; ++k) {
    size_t u = size_t(k) * units.size() / size_t(o.statusUnits);
    statusUnits.push_back(u);
    isStatus[u] = true;
  }

  // What the load's callbacks fill (on this thread).
  Phase* phase = nullptr;
  std::set<std::pair<size_t, uint16_t>> statusPackets;  // (unit, packet id) of statuses awaiting PUBACK
  std::map<std::pair<size_t, uint64_t>, Clock::time_point> awaitingAck;  // (unit, seq) -> pressed
  MqttLoad::Handler handler;
  handler.puback = [&](size_t conn, uint16_t id, Clock::time_point sentAt) {
    if (!phase) return;
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - sentAt).count();
    if (statusPackets.erase({conn, id})) phase->statusPubackMs.push_back(ms);
    else phase->pubackMs.push_back(ms);
  };
  handler.message = [&](size_t conn, std::string_view, std::string_view payload) {
    mdc::v1::Downlink dl;
    if (!phase || !dl.ParseFromArray(payload.data(), int(payload.size())) || !dl.has_commit_ack()) return;
    const auto now = Clock::now();
    for (const auto& r : dl.commit_ack().committed())
      for (auto it = awaitingAck.lower_bound({conn, r.first()}); it != awaitingAck.end() && it->first.first == conn &&
                                                                 it->first.second <= r.last();)
      {
        phase->statusAckMs.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
        it = awaitingAck.erase(it);
      }
  };
  MqttLoad load(handler, 60);
  int ports[4] = {0, 0, 0, 0};
  for (int n = 1; n <= 3; ++n) {
    const std::string uri = rabbit.mqttUri(n);
    ports[n] = std::stoi(uri.substr(uri.rfind(':') + 1));
  }
  for (size_t i = 0; i < units.size(); ++i)
    load.add(uint16_t(ports[i % 3 + 1]), units[i].id, !isStatus[i], isStatus[i] ? mdc::topics::down(units[i].id) : "");
  std::printf("bench_city: connecting %zu units over MQTT 3.1.1 (%zu with persistent sessions subscribed to their "
              "down topic), %d handshakes at a time\n",
              units.size(), statusUnits.size(), o.window);
  std::fflush(stdout);
  auto c0 = Clock::now();
  const size_t connected = load.connectAll(o.window, std::chrono::seconds(600), [&](size_t n) {
    std::printf("  %zu connected (%.0f s)\n", n, secondsSince(c0));
    std::fflush(stdout);
  });
  const double connectS = secondsSince(c0);
  std::printf("bench_city: %zu of %zu connected in %.1f s (%.0f/s); %zu handshakes refused or timed out, tried again\n",
              connected, units.size(), connectS, double(connected) / connectS, load.stats().refused);
  if (connected < units.size()) throw std::runtime_error("not every unit connected");
  const auto connectedUsage = usageOf(procs);

  std::vector<uint64_t> nextSeq(units.size(), 1);
  std::vector<int> statusOf(units.size(), 0);
  size_t cursor = 0, statusCursor = 0;
  BoardPoller board(store);

  auto eventId = [&](size_t u, uint64_t seq) {
    char b[40];
    std::snprintf(b, sizeof b, "019b78ad-%04x-7%03x-8%03x-%012llx", runTag & 0xffff, unsigned(u >> 12) & 0xfff,
                  unsigned(u) & 0xfff, static_cast<unsigned long long>(seq));
    return std::string(b);
  };
  // One AVL report of unit u: to the raw queue's topic (timestamped) or as the unit's event.
  auto publishAvl = [&](size_t u, bool raw, double t) {
    const Device& d = units[u];
    const double a = double(u) * 0.618;
    const double lat = 40.55 + 0.3 * (a - std::floor(a)) + t * 1e-6, lon = -74.2 + 0.45 * double(u) / double(units.size());
    if (raw) {
      std::string body(8, '\0');
      const int64_t ns = Clock::now().time_since_epoch().count();
      std::memcpy(body.data(), &ns, 8);
      body += encode(avlEnv(d, 1, wallMs(), lat, lon));
      return load.publish(u, "bench/raw/" + o.rawQueue + "/" + d.id, body) != 0;
    }
    v1::Envelope e = avlEnv(d, nextSeq[u], wallMs(), lat, lon);
    e.set_event_id(eventId(u, nextSeq[u]));
    if (!load.publish(u, mdc::topics::up(d.id), encode(e))) return false;
    ++nextSeq[u];
    return true;
  };
  auto publishStatus = [&](Phase& p) {
    const size_t u = statusUnits[statusCursor++ % statusUnits.size()];
    if (!load.up(u)) return;
    const Device& d = units[u];
    const int64_t at = wallMs();
    statusOf[u] = (statusOf[u] + 1) % 3;
    const v1::UnitStatus st = statusOf[u] == 0   ? v1::UNIT_STATUS_AVAILABLE
                              : statusOf[u] == 1 ? v1::UNIT_STATUS_EN_ROUTE
                                                 : v1::UNIT_STATUS_ON_SCENE;
    v1::Envelope e = statusEnv(d, nextSeq[u], at, st);
    e.set_event_id(eventId(u, nextSeq[u]));
    const auto pressed = Clock::now();
    const uint16_t id = load.publish(u, mdc::topics::up(d.id), encode(e));
    if (!id) return;
    statusPackets.insert({u, id});
    awaitingAck[{u, nextSeq[u]}] = pressed;
    board.add(BoardProbe{d.unit, at, pressed});
    ++nextSeq[u];
    ++p.statuses;
  };
  // Keeps the connections served while something slow runs elsewhere.
  auto pollUntil = [&](auto ready) {
    while (!ready()) load.poll(5);
  };
  auto countNow = [&]() {
    auto f = std::async(std::launch::async, countEvents, store);
    pollUntil([&] { return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready; });
    return f.get();
  };

  // Publishes at the AVL rate for `seconds` (and statuses when asked): each
  // unit in turn, skipping its turn while it has --max-in-flight reports
  // unacknowledged by the broker. A line every 10 s.
  auto sustain = [&](Phase& p, int rate, double seconds, bool raw, bool statuses,
                     const std::function<std::string()>& line) {
    auto t0 = Clock::now(), lastLine = t0;
    uint64_t statusesDue = 0;
    for (;;) {
      const double el = secondsSince(t0);
      if (el >= seconds) break;
      for (const uint64_t due = uint64_t(el * rate); p.offered < due; ++p.offered) {
        const size_t u = cursor++ % units.size();
        if (load.inFlight(u) >= size_t(o.maxInFlight)) continue;
        if (publishAvl(u, raw, el)) ++p.published;
      }
      if (statuses)
        for (const uint64_t due = uint64_t(el * o.statusRate); statusesDue < due; ++statusesDue) publishStatus(p);
      load.poll(1);
      if (secondsSince(lastLine) >= 10) {
        lastLine = Clock::now();
        std::printf("  %s %3.0f s: %llu published (%llu skipped: in flight), broker PUBACK p99 %.1f ms%s\n",
                    p.name.c_str(), el, static_cast<unsigned long long>(p.published),
                    static_cast<unsigned long long>(p.offered - p.published), percentile(p.pubackMs, 99),
                    line ? line().c_str() : "");
        std::fflush(stdout);
      }
    }
  };
  // Publishes n reports as fast as the broker takes them.
  auto flood = [&](Phase& p, uint64_t n, bool raw) {
    auto t0 = Clock::now(), lastLine = t0;
    while (p.published < n) {
      for (int k = 0; k < 512 && p.published < n; ++k) {
        const size_t u = cursor++ % units.size();
        if (load.inFlight(u) >= size_t(o.maxInFlight)) continue;
        if (publishAvl(u, raw, secondsSince(t0))) ++p.published;
      }
      load.poll(0);
      if (secondsSince(lastLine) >= 10) {
        lastLine = Clock::now();
        std::printf("  %s: %llu of %llu published\n", p.name.c_str(), static_cast<unsigned long long>(p.published),
                    static_cast<unsigned long long>(n));
        std::fflush(stdout);
      }
    }
    p.offered = n;
  };

  // 0. What holding the connections costs with nothing sent (pings only).
  Phase idle;
  idle.name = "idle";
  {
    std::printf("bench_city: %zu connections held idle for 20 s\n", units.size());
    std::fflush(stdout);
    idle.before = usageOf(procs);
    auto t0 = Clock::now();
    pollUntil([&] { return secondsSince(t0) >= 20; });
    idle.seconds = secondsSince(t0);
    idle.after = usageOf(procs);
  }

  // 1. Raw RabbitMQ at the AVL rate, then flooded.
  RawConsumer raw(rabbit, o.rawQueue);
  pollUntil([&] { return raw.up(); });
  Phase rawSustained, rawFlood, stubSustained, stubFlood;
  rawSustained.name = "raw";
  if (o.rawSeconds > 0) {
    std::printf("bench_city: raw RabbitMQ, %d AVL-sized QoS 1 publishes/s for %d s into %s queue bench.raw.%s\n",
                o.avlRate, o.rawSeconds, o.rawQueue.c_str(), o.rawQueue.c_str());
    phase = &rawSustained;
    rawSustained.before = usageOf(procs);
    const uint64_t taken0 = raw.taken();
    auto t0 = Clock::now();
    sustain(rawSustained, o.avlRate, o.rawSeconds, true, false,
            [&] { return ", consumed " + std::to_string(raw.taken() - taken0); });
    rawSustained.seconds = secondsSince(t0);
    rawSustained.after = usageOf(procs);
    rawSustained.takenPerS = double(raw.taken() - taken0) / rawSustained.seconds;
    auto d0 = Clock::now();
    pollUntil([&] { return raw.taken() - taken0 >= rawSustained.published || secondsSince(d0) > 300; });
    rawSustained.drainS = secondsSince(d0);
    rawSustained.deliverMs = raw.take();
  }
  if (o.flood > 0) {
    rawFlood.name = "raw flood";
    std::printf("bench_city: raw RabbitMQ flooded with %d publishes\n", o.flood);
    phase = &rawFlood;
    rawFlood.before = usageOf(procs);
    const uint64_t taken0 = raw.taken();
    auto t0 = Clock::now();
    flood(rawFlood, uint64_t(o.flood), true);
    pollUntil([&] { return raw.taken() - taken0 >= rawFlood.published || secondsSince(t0) > 600; });
    rawFlood.seconds = secondsSince(t0);
    rawFlood.after = usageOf(procs);
    rawFlood.takenPerS = double(raw.taken() - taken0) / rawFlood.seconds;
    rawFlood.deliverMs = raw.take();
  }

  // 2. The stub: first at a rate it holds (--held-rate), then at the AVL
  // rate, each with status changes. What is not committed within
  // --drain-limit after the window stays in the queue (reported).
  auto runStub = [&](Phase& p, int rate, int seconds) {
    std::printf("bench_city: the stub, %d AVL/s from %zu units and %.0f status changes/s for %d s\n", rate,
                units.size(), o.statusRate, seconds);
    std::fflush(stdout);
    const int64_t count0 = countNow();
    phase = &p;
    p.before = usageOf(procs);
    auto s0 = Clock::now();
    std::vector<double> boardMs;
    sustain(p, rate, seconds, false, true, [&] {
      auto more = board.take();
      boardMs.insert(boardMs.end(), more.begin(), more.end());
      char b[200];
      std::snprintf(b, sizeof b, "; status -> commit ack p99 %.1f ms, -> board p99 %.1f ms (%zu statuses)",
                    percentile(p.statusAckMs, 99), percentile(boardMs, 99), p.statuses);
      return std::string(b);
    });
    p.after = usageOf(procs);
    p.seconds = secondsSince(s0);
    const int64_t count1 = countNow();
    p.takenPerS = double(count1 - count0) / p.seconds;
    const uint64_t expected = p.published + p.statuses;
    std::printf("bench_city: %lld of %llu committed by the end of the window; draining (at most %d s)\n",
                static_cast<long long>(count1 - count0), static_cast<unsigned long long>(expected), o.drainLimit);
    std::fflush(stdout);
    auto d0 = Clock::now();
    int64_t countD = count1;
    while (uint64_t(countD - count0) < expected && secondsSince(d0) < o.drainLimit) {
      auto w = Clock::now();
      pollUntil([&] { return secondsSince(w) >= 1.0; });
      countD = countNow();
    }
    p.drainS = secondsSince(d0);
    p.backlog = expected - uint64_t(countD - count0);
    pollUntil([&] { return board.pending() == 0 || secondsSince(d0) > p.drainS + 5; });
    auto more = board.take();
    boardMs.insert(boardMs.end(), more.begin(), more.end());
    p.statusBoardMs = boardMs;
    board.clear();
    awaitingAck.clear();
    statusPackets.clear();
    return p.backlog == 0;
  };
  Phase stubHeld;
  stubHeld.name = "stub held";
  bool heldCommitted = true;
  if (o.heldRate > 0) heldCommitted = runStub(stubHeld, o.heldRate, o.heldSeconds);
  stubSustained.name = "stub";
  const bool allCommitted = runStub(stubSustained, o.avlRate, o.seconds);

  // 3. The stub flooded.
  bool floodCommitted = true;
  if (o.flood > 0 && allCommitted) {
    stubFlood.name = "stub flood";
    std::printf("bench_city: the stub flooded with %d AVL reports\n", o.flood);
    const int64_t f0 = countNow();
    phase = &stubFlood;
    stubFlood.before = usageOf(procs);
    auto t0 = Clock::now();
    flood(stubFlood, uint64_t(o.flood), false);
    int64_t f1 = f0;
    while (uint64_t(f1 - f0) < stubFlood.published && secondsSince(t0) < 900) {
      auto w = Clock::now();
      pollUntil([&] { return secondsSince(w) >= 0.5; });
      f1 = countNow();
    }
    stubFlood.seconds = secondsSince(t0);
    stubFlood.after = usageOf(procs);
    stubFlood.takenPerS = double(f1 - f0) / stubFlood.seconds;
    floodCommitted = uint64_t(f1 - f0) == stubFlood.published;
  }
  phase = nullptr;
  const auto endUsage = usageOf(procs);
  const std::string stats1 = cadctlStats(store, o.dir + "/cad.ctl"), stats2 = cadctlStats(store, o.dir + "/cad-2.ctl");

  // The report: a column per run.
  const std::vector<const Phase*> runs{&rawSustained, &stubHeld, &stubSustained};
  auto row = [&](const char* label, const std::function<std::string(const Phase&)>& cell) {
    std::printf("%-30s", label);
    for (const Phase* p : runs) std::printf(" %16s", cell(*p).c_str());
    std::printf("\n");
  };
  auto num = [](double v, const char* f = "%.0f") {
    char b[32];
    std::snprintf(b, sizeof b, f, v);
    return std::string(b);
  };
  auto ms = [&](const std::vector<double>& v, double q) {
    return v.empty() ? std::string("-") : num(percentile(v, q), "%.1f ms");
  };
  std::printf("\n%-30s %16s %16s %16s\n", "", "raw RabbitMQ", "stub, held rate", "stub, AVL rate");
  row("AVL offered/s", [&](const Phase& p) { return p.seconds > 0 ? num(double(p.offered) / p.seconds) : "-"; });
  row("taken/s over the window", [&](const Phase& p) { return num(p.takenPerS); });
  row("drain after the window", [&](const Phase& p) { return num(p.drainS, "%.1f s"); });
  row("left in the queue", [&](const Phase& p) { return num(double(p.backlog)); });
  row("turns skipped (8 in flight)", [&](const Phase& p) { return num(double(p.offered - p.published)); });
  row("AVL -> broker PUBACK p50", [&](const Phase& p) { return ms(p.pubackMs, 50); });
  row("AVL -> broker PUBACK p99", [&](const Phase& p) { return ms(p.pubackMs, 99); });
  row("raw publish -> consumer p50", [&](const Phase& p) { return ms(p.deliverMs, 50); });
  row("raw publish -> consumer p99", [&](const Phase& p) { return ms(p.deliverMs, 99); });
  row("status -> commit ack p50", [&](const Phase& p) { return ms(p.statusAckMs, 50); });
  row("status -> commit ack p99", [&](const Phase& p) { return ms(p.statusAckMs, 99); });
  row("status -> board p50", [&](const Phase& p) { return ms(p.statusBoardMs, 50); });
  row("status -> board p99", [&](const Phase& p) { return ms(p.statusBoardMs, 99); });
  row("statuses (on the board)", [&](const Phase& p) {
    return p.statuses ? num(double(p.statuses)) + " (" + num(double(p.statusBoardMs.size())) + ")" : std::string("-");
  });
  if (o.flood > 0)
    std::printf("%-30s %16.0f %16s %16s\n", "flooded: taken/s", rawFlood.takenPerS, "",
                stubFlood.published ? num(stubFlood.takenPerS).c_str() : "not run");
  std::printf("\n%-16s %9s %9s %9s %9s %9s %11s %11s\n", "process", "idle CPU", "raw CPU", "held CPU", "stub CPU",
              "flood CPU", "PSS conn.", "PSS end");
  for (const auto& [name, pid] : procs)
    std::printf("%-16s %8.2fc %8.2fc %8.2fc %8.2fc %8.2fc %8.0f MB %8.0f MB\n", name.c_str(), cores(idle, name),
                cores(rawSustained, name),
                cores(stubHeld, name), cores(stubSustained, name), cores(stubFlood, name),
                double(connectedUsage.at(name).pssKb) / 1024, double(endUsage.at(name).pssKb) / 1024);
  std::printf("(CPU in cores: 1.00c is one core busy, of %ld; machine: all of it, the kernel included. PSS: a process's own memory plus its share of what it shares; "
              "a PostgreSQL server counts with its backends)\n",
              sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("\nsummary: %d units connected in %.1f s. At %d AVL/s the stub %s (committed %.0f/s, %s), status -> "
              "board p99 %s (goal under 200 ms); raw RabbitMQ took %.0f/s at the same rate, publish -> consumer "
              "p99 %s. At %d AVL/s: committed %.0f/s, status -> board p99 %s.\n",
              o.units, connectS, o.avlRate, stubSustained.takenPerS >= 0.98 * o.avlRate ? "held" : "did not hold",
              stubSustained.takenPerS,
              allCommitted ? "every event committed" : (num(double(stubSustained.backlog)) + " left in the queue").c_str(),
              ms(stubSustained.statusBoardMs, 99).c_str(), rawSustained.takenPerS, ms(rawSustained.deliverMs, 99).c_str(),
              o.heldRate, stubHeld.takenPerS, ms(stubHeld.statusBoardMs, 99).c_str());
  if (load.stats().lost) std::printf("connections lost during the run: %zu\n", load.stats().lost);

  if (!o.json.empty()) {
    std::ofstream j(o.json);
    j << "{\n  \"raw_queue\": \"" << o.rawQueue << "\",\n  \"units\": " << o.units << ",\n  \"status_units\": " << o.statusUnits << ",\n  \"avl_rate\": " << o.avlRate
      << ",\n  \"held_rate\": " << o.heldRate << ",\n  \"status_rate\": " << o.statusRate
      << ",\n  \"cluster_up_s\": " << clusterUpS << ",\n  \"register_s\": " << importS
      << ",\n  \"connect_s\": " << connectS << ",\n  \"handshakes_refused\": " << load.stats().refused << ",\n  \"connections_lost\": " << load.stats().lost << ",\n";
    auto phaseJson = [&](const char* key, const Phase& p) {
      j << "  \"" << key << "\": {\"seconds\": " << p.seconds << ", \"offered\": " << p.offered
        << ", \"published\": " << p.published << ", \"statuses\": " << p.statuses << ", \"taken_per_s\": " << p.takenPerS
        << ", \"drain_s\": " << p.drainS << ", \"left_in_queue\": " << p.backlog
        << ", \"puback_ms\": " << jsonMs(p.pubackMs) << ", \"deliver_ms\": " << jsonMs(p.deliverMs)
        << ", \"status_puback_ms\": " << jsonMs(p.statusPubackMs)
        << ", \"status_commit_ack_ms\": " << jsonMs(p.statusAckMs) << ", \"status_board_ms\": " << jsonMs(p.statusBoardMs)
        << ", \"cpu_cores\": {";
      bool first = true;
      for (const auto& [name, pid] : procs) {
        j << (first ? "" : ", ") << "\"" << name << "\": " << cores(p, name);
        first = false;
      }
      j << "}},\n";
    };
    phaseJson("idle", idle);
    phaseJson("raw", rawSustained);
    phaseJson("raw_flood", rawFlood);
    phaseJson("stub_held", stubHeld);
    phaseJson("stub", stubSustained);
    phaseJson("stub_flood", stubFlood);
    j << "  \"stub_all_committed\": " << (allCommitted && heldCommitted ? "true" : "false")
      << ",\n  \"stub_flood_all_committed\": " << (floodCommitted ? "true" : "false") << ",\n  \"pss_mb\": {";
    bool first = true;
    for (const auto& [name, pid] : procs) {
      j << (first ? "" : ", ") << "\"" << name << "\": {\"connected\": " << double(connectedUsage.at(name).pssKb) / 1024
        << ", \"end\": " << double(endUsage.at(name).pssKb) / 1024 << "}";
      first = false;
    }
    j << "},\n  \"worker_1_stats\": " << stats1 << ",\n  \"worker_2_stats\": " << stats2 << "\n}\n";
    std::printf("wrote %s\n", o.json.c_str());
  }
  // Success means every event offered was committed: the load itself is measured, not judged.
  return heldCommitted && floodCommitted ? 0 : 1;
}

}  // namespace
