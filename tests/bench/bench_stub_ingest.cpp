// bench_stub_ingest: the CAD stub's ingest through a real mosquitto, next to
// the limits measured in the same run.
//   1. raw SQLite: rows/s inserted in WAL, synchronous=FULL, batches of --batch-max
//   2. raw mosquitto: QoS 1 messages/s from the same publishers to one subscriber
//   3. cad-stub: committed events/s, each acknowledged by a commit ack
//   3b. an inserting consumer: the same client as the stub, each message
//      inserted into SQLite with the stub's commit policy (insert_consumer.cpp)
//   4. latency: status publish -> commit ack at the device -> visible in the board,
//      p50/p99, under a background AVL load (--load-rate per second)
// With --pin, the stub and the bare consumers run on core 0, the broker and
// the publishers on core 1: the stub's rate is that of one core.
// Prints the figures and writes them as JSON (--json FILE).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <sched.h>
#include <unistd.h>

#include "server-stub/store/event_store.h"
#include "shared/wire/clock.h"
#include "shared/infra/mqtt.h"
#include "shared/infra/sqlite.h"
#include "tests/integration/stub/wire_fleet.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/insert_consumer.h"
#include "tests/support/mosquitto.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"
#include "tests/unit/stub/stub_wire.h"

using namespace cad;
using cad::control::ControlRequest;
using namespace cad::test;
using namespace mdc::test;
using Clock = std::chrono::steady_clock;
using mdc::bench::percentile;
using mdc::bench::secondsSince;

namespace {

struct Options {
  int devices = 1000;
  int perDevice = 40;
  int connections = 1000;
  int batchMax = 2000;
  int batchMs = 2;
  int latencySamples = 300;
  int loadRate = 2400;
  std::string json;
  std::string db;  ///< the stub's store: "" a SQLite file in the run's directory, else a postgresql:// URI
  bool pin = false;
};

const char* kHelp = R"(usage: bench_stub_ingest [options]
  --devices N          simulated devices (default 1000)
  --per-device N       events each device publishes in the ingest run (default 40)
  --connections N      MQTT connections the devices share (default 1000: one each)
  --batch-max N        cad-stub --batch-max, also the raw SQLite batch (default 2000)
  --batch-ms MS        cad-stub --batch-ms (default 2)
  --latency-samples N  status changes timed one by one (default 300)
  --load-rate N        background AVL reports/s during the latency run (default 2400, NYC peak)
  --db URI             the stub's store on PostgreSQL (an empty database, e.g. scripts/pg.sh's
                       $MDC_PG_URI); default: a new SQLite file
  --pin                the stub and the bare consumers on core 0, the broker and publishers on core 1
  --json FILE          write the figures as JSON
)";

/** Every thread of process pid on one core (threads it starts later inherit it). */
void pinProcess(pid_t pid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
    ::sched_setaffinity(pid_t(std::stol(t.path().filename())), sizeof set, &set);
}

/** bench_stub_ingest --insert-consumer --broker URI --topic T --db FILE --count N --batch-max B --batch-ms MS */
int insertConsumerMain(int argc, char** argv) {
  mdc::bench::InsertConsumerOptions o;
  o.clientId = "bench-insert-consumer";
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--broker") o.brokerUri = v;
    else if (k == "--topic") o.topic = v;
    else if (k == "--db") o.dbPath = v;
    else if (k == "--count") o.count = size_t(std::stoul(v));
    else if (k == "--batch-max") o.batchMax = std::stoi(v);
    else if (k == "--batch-ms") o.batchMs = std::stoi(v);
    else {
      std::cerr << "bench_stub_ingest --insert-consumer: unknown option \"" << k << "\"\n";
      return 2;
    }
  }
  return mdc::bench::runInsertConsumer(o);
}

/** CPU seconds (user + system) this process has used so far. */
double selfCpuSeconds() { return processUsage(getpid()).cpuSeconds; }

/** CPU seconds every PostgreSQL server process on this machine has used so
 *  far (the primary's and a standby's: postmaster, backends, WAL sender and
 *  receiver, writers); a process gone since is not counted. */
double postgresCpuSeconds() {
  double sum = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(entry.path() / "comm");
    std::string command;
    if (std::getline(comm, command) && command == "postgres") sum += processUsage(pid_t(std::stol(name))).cpuSeconds;
  }
  return sum;
}

/** CPU milliseconds each process of a phase spent per 1,000 events. */
struct PhaseCpu {
  double broker = 0, consumer = 0, publishers = 0;
  /** From the CPU seconds each used during a phase of `events` events. */
  static PhaseCpu perThousand(double broker, double consumer, double publishers, size_t events) {
    const double k = 1000.0 * 1000.0 / double(events);
    return {broker * k, consumer * k, publishers * k};
  }
};


std::string deviceName(int i) {
  char b[24];
  std::snprintf(b, sizeof b, "BENCH-%04d", i);
  return b;
}

template <class Pred>
bool waitFor(Pred p, double seconds) {
  auto t0 = Clock::now();
  while (!p()) {
    if (secondsSince(t0) > seconds) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--insert-consumer") return insertConsumerMain(argc, argv);
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return 0;
    } else if (a == "--devices") o.devices = std::stoi(next());
    else if (a == "--per-device") o.perDevice = std::stoi(next());
    else if (a == "--connections") o.connections = std::stoi(next());
    else if (a == "--batch-max") o.batchMax = std::stoi(next());
    else if (a == "--batch-ms") o.batchMs = std::stoi(next());
    else if (a == "--latency-samples") o.latencySamples = std::stoi(next());
    else if (a == "--load-rate") o.loadRate = std::stoi(next());
    else if (a == "--json") o.json = next();
    else if (a == "--db") o.db = next();
    else if (a == "--pin") o.pin = true;
    else {
      std::cerr << "bench_stub_ingest: unknown option \"" << a << "\"\n" << kHelp;
      return 2;
    }
  }
  if (o.devices < 2 || o.devices > 4000 || o.perDevice < 1 || o.connections < 1) {
    std::cerr << "bench_stub_ingest: --devices 2..4000, --per-device >= 1, --connections >= 1\n";
    return 2;
  }
  o.connections = std::min(o.connections, o.devices);
  const size_t total = size_t(o.devices) * size_t(o.perDevice);

  TempDir dir("bench-stub");
  MosquittoOptions mo;
  mo.maxQueuedMessages = 1000000;
  Mosquitto broker(dir, mo);
  if (o.pin && ::sysconf(_SC_NPROCESSORS_ONLN) < 2) {
    std::cerr << "bench_stub_ingest: --pin needs two cores\n";
    return 2;
  }
  if (o.pin) {
    pinProcess(broker.pid(), 1);
    pinProcess(::getpid(), 1);  // the publishers' threads start later, on core 1 too
  }

  std::vector<Device> devices;
  std::vector<std::string> names;
  for (int i = 0; i < o.devices; ++i) {
    devices.push_back(Device{deviceName(i), "U" + std::to_string(i), i % 4 ? "FD1" : "PD1", uint32_t(i)});
    names.push_back(devices.back().id);
  }
  // One device's events, round-robin over devices; one status per ten reports.
  std::vector<std::pair<int, std::string>> events;
  events.reserve(total);
  for (int k = 1; k <= o.perDevice; ++k)
    for (int d = 0; d < o.devices; ++d) {
      int64_t at = kShiftStartMs + int64_t(k) * 1000;
      events.emplace_back(d, encode(k % 10 == 0 ? statusEnv(devices[size_t(d)], uint64_t(k), at, v1::UNIT_STATUS_EN_ROUTE)
                                                : avlEnv(devices[size_t(d)], uint64_t(k), at, 40.7 + k * 1e-4, -74.0)));
    }
  size_t payloadBytes = 0;
  for (const auto& e : events) payloadBytes += e.second.size();
  std::printf("bench_stub_ingest: %d devices over %d connections, %zu events (%.0f bytes each on average)\n",
              o.devices, o.connections, total, double(payloadBytes) / double(total));

  // 1. Raw SQLite: the same number of rows of the same size, batched, fsynced.
  double sqliteRate = 0;
  {
    mdc::sql::SqliteDb db(dir.file("raw.db"));
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("PRAGMA synchronous=FULL");
    db.exec("CREATE TABLE t(pos INTEGER PRIMARY KEY, event_id TEXT UNIQUE, device_id TEXT, seq INTEGER, payload BLOB, "
            "hash BLOB, UNIQUE(device_id, seq))");
    auto t0 = Clock::now();
    size_t i = 0;
    while (i < total) {
      mdc::sql::Transaction tx(db);
      auto st = db.prepare("INSERT INTO t(event_id, device_id, seq, payload, hash) VALUES(?,?,?,?,?)");
      for (size_t n = 0; n < size_t(o.batchMax) && i < total; ++n, ++i) {
        const auto& d = devices[size_t(events[i].first)];
        st.bind(1, eventIdFor(d.index, i)).bind(2, d.id).bind(3, int64_t(i)).bindBlob(4, events[i].second)
            .bindBlob(5, sha256(events[i].second));
        st.run();
        st.reset();
      }
      tx.commit();
    }
    sqliteRate = double(total) / secondsSince(t0);
    std::printf("raw SQLite (WAL, synchronous=FULL, %d rows per commit): %.0f rows/s\n", o.batchMax, sqliteRate);
  }

  // 2. Raw mosquitto: the same publishers, QoS 1, to one subscriber in its own
  // process (as the stub is): mosquitto_sub, which acknowledges each message
  // and only prints its topic. Its exit after the last one stops the clock.
  double rawRate = 0;
  PhaseCpu rawCpu, stubCpu;
  {
    const std::string subLog = dir.file("raw-sub.log");
    mdc::test::Process sub({"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(broker.port()), "-q", "1", "-i",
                            "bench-raw-sub", "-t", "bench/raw/#", "-C", std::to_string(total + 1), "-F", "%t"},
                           subLog);
    if (o.pin) pinProcess(sub.pid(), 0);
    WireFleet pubs(broker.uri(), "bench-raw", o.connections);
    if (!pubs.connect(names, std::chrono::seconds(60))) {
      std::cerr << "raw publishers did not connect\n";
      return 3;
    }
    // Subscribed once a warm-up message comes through (one published before
    // the subscription exists is dropped by the broker, not delivered later).
    bool ready = false;
    for (int i = 0; i < 50 && !ready; ++i) {
      pubs.publishTopic(0, "bench/raw/warmup", "x");
      ready = waitFor([&] { return sub.log().find("warmup") != std::string::npos; }, 1.0);
    }
    if (!ready) {
      std::cerr << "raw: mosquitto_sub did not subscribe\n" << sub.log();
      return 3;
    }
    const double b0 = processUsage(broker.pid()).cpuSeconds, s0 = processUsage(sub.pid()).cpuSeconds,
                 p0 = selfCpuSeconds();
    auto t0 = Clock::now();
    for (const auto& [d, bytes] : events) pubs.publishTopic(size_t(d) % size_t(o.connections), "bench/raw/" + names[size_t(d)], bytes);
    // mosquitto_sub exits after the last message; until it is reaped, its
    // /proc entry (a zombie's) still holds the CPU it used.
    waitFor([&] { return processUsage(sub.pid()).state == 'Z'; }, 300);
    const double consumer = processUsage(sub.pid()).cpuSeconds - s0;
    auto code = sub.wait(std::chrono::seconds(300));
    rawCpu = PhaseCpu::perThousand(processUsage(broker.pid()).cpuSeconds - b0, consumer, selfCpuSeconds() - p0, total);
    if (!code || *code != 0) std::cerr << "raw: mosquitto_sub did not receive all " << total << " messages\n";
    rawRate = double(total) / secondsSince(t0);
    std::printf("raw mosquitto QoS 1, %d publishers -> 1 subscriber (mosquitto_sub): %.0f messages/s\n", o.connections,
                rawRate);
  }

  // 3b. The inserting consumer on the stub's core: what the stub's ingest
  // costs at the least (receive, insert, commit with the stub's policy).
  double insertRate = 0, insertCpuMs = 0;
  {
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    mdc::test::Process consumer({self, "--insert-consumer", "--broker", broker.uri(), "--topic", "bench/ins/#", "--db",
                                 dir.file("insert.db"), "--count", std::to_string(total), "--batch-max",
                                 std::to_string(o.batchMax), "--batch-ms", std::to_string(o.batchMs)},
                                dir.file("insert-consumer.log"));
    if (o.pin) pinProcess(consumer.pid(), 0);
    if (!waitFor([&] { return consumer.log().find("ready") != std::string::npos || !consumer.alive(); }, 30) ||
        !consumer.alive()) {
      std::cerr << "inserting consumer did not start:\n" << consumer.log();
      return 3;
    }
    WireFleet pubs(broker.uri(), "bench-ins", o.connections);
    if (!pubs.connect(names, std::chrono::seconds(60))) return 3;
    const double c0 = processUsage(consumer.pid()).cpuSeconds;
    auto t0 = Clock::now();
    for (const auto& [d, bytes] : events) pubs.publishTopic(size_t(d) % size_t(o.connections), "bench/ins/" + names[size_t(d)], bytes);
    waitFor([&] { return processUsage(consumer.pid()).state == 'Z'; }, 300);
    insertCpuMs = (processUsage(consumer.pid()).cpuSeconds - c0) * 1000.0 * 1000.0 / double(total);
    insertRate = double(total) / secondsSince(t0);
    auto code = consumer.wait(std::chrono::seconds(10));
    if (!code || *code != 0) std::cerr << "inserting consumer failed:\n" << consumer.log();
    std::printf("inserting consumer (paho QoS 1, SQLite WAL synchronous=FULL, the stub's commit policy): %.0f "
                "messages/s, %.0f ms CPU per 1,000\n",
                insertRate, insertCpuMs);
  }

  // 3. The stub: committed and acknowledged events/s.
  {
    auto s = EventStore::open(o.db.empty() ? dir.file("cad.db") : o.db);
    if (!s) {
      std::cerr << s.error().message << "\n";
      return 3;
    }
    for (const auto& d : devices) {
      ControlRequest c;
      c.set_agency(d.agency);
      c.mutable_device_add()->set_device(d.id);
      c.mutable_device_add()->set_unit(d.unit);
      c.set_actor("bench");
      if (!(*s)->execute(c, kShiftStartMs)) return 3;
    }
  }
  CadStub stub(dir, broker.uri(), "cad",
               {"--batch-max", std::to_string(o.batchMax), "--batch-ms", std::to_string(o.batchMs)});
  if (!o.db.empty()) stub.setStore(o.db);
  stub.start();
  if (o.pin) pinProcess(stub.pid(), 0);
  if (!stub.waitReady()) {
    std::cerr << "cad-stub not ready:\n" << stub.log();
    return 3;
  }
  double stubRate = 0, postgresMsPerThousand = 0;
  std::string stubStats;
  {
    WireFleet fleet(broker.uri(), "bench-dev", o.connections);
    if (!fleet.connect(names, std::chrono::seconds(60))) return 3;
    const double b0 = processUsage(broker.pid()).cpuSeconds, s0 = processUsage(stub.pid()).cpuSeconds,
                 p0 = selfCpuSeconds(), pg0 = o.db.empty() ? 0 : postgresCpuSeconds();
    auto t0 = Clock::now();
    for (const auto& [d, bytes] : events) fleet.publish(names[size_t(d)], bytes);
    double publishS = secondsSince(t0);
    if (!fleet.waitAcked(total, std::chrono::seconds(600))) std::cerr << "stub: only " << fleet.ackedCount() << " acked\n";
    double s = secondsSince(t0);
    stubCpu = PhaseCpu::perThousand(processUsage(broker.pid()).cpuSeconds - b0,
                                    processUsage(stub.pid()).cpuSeconds - s0, selfCpuSeconds() - p0, total);
    stubRate = double(fleet.ackedCount()) / s;
    if (!o.db.empty()) postgresMsPerThousand = (postgresCpuSeconds() - pg0) * 1000.0 * 1000.0 / double(total);
    stubStats = stub.cadctl({"stats"}).output;
    std::printf("cad-stub: %zu events committed and acked in %.2f s (published in %.2f s): %.0f events/s\n",
                fleet.ackedCount(), s, publishS, stubRate);
  }

  // 4. Latency under load.
  std::vector<double> ackMs, boardMs;
  {
    WireFleet load(broker.uri(), "bench-load", std::min(o.connections, 100));
    std::vector<std::string> loadNames(names.begin() + 1, names.end());
    if (!load.connect(loadNames, std::chrono::seconds(60))) return 3;
    WireFleet probe(broker.uri(), "bench-probe", 1);
    if (!probe.connect({names[0]})) return 3;
    std::atomic<bool> stop{false};
    std::atomic<size_t> loadSent{0};
    std::thread loader([&] {
      uint64_t k = uint64_t(o.perDevice) + 1;
      size_t d = 1;
      auto tick = Clock::now();
      while (!stop) {
        tick += std::chrono::milliseconds(10);
        int n = o.loadRate / 100;
        for (int i = 0; i < n; ++i) {
          const auto& dev = devices[d];
          load.publish(dev.id, encode(avlEnv(dev, k, kShiftStartMs + int64_t(k) * 1000, 40.7, -74.0)));
          ++loadSent;
          if (++d == devices.size()) {
            d = 1;
            ++k;
          }
        }
        std::this_thread::sleep_until(tick);
      }
    });
    auto board = EventStore::open(stub.dbPath(), true);
    if (!board) return 3;
    auto q = (*board)->db().prepare("SELECT status_at_ms FROM units WHERE unit_id=?");
    const Device& dev = devices[0];
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // load under way
    for (int i = 0; i < o.latencySamples; ++i) {
      uint64_t seq = uint64_t(o.perDevice) + 1 + uint64_t(i);
      int64_t at = kShiftStartMs + 10'000'000 + i;
      std::string bytes = encode(statusEnv(dev, seq, at, i % 2 ? v1::UNIT_STATUS_ON_SCENE : v1::UNIT_STATUS_EN_ROUTE));
      auto t0 = Clock::now();
      probe.publish(dev.id, bytes);
      bool seen = false;
      double boardAt = -1;
      while (secondsSince(t0) < 10) {
        if (!seen) {
          q.bind(1, dev.unit);
          if (q.step() && q.i64(0) == at) {
            seen = true;
            boardAt = secondsSince(t0) * 1000;
          }
          q.reset();
        }
        if (seen && probe.ackTime(dev.id, seq)) break;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
      auto ackT = probe.ackTime(dev.id, seq);
      if (ackT) ackMs.push_back(std::chrono::duration<double, std::milli>(*ackT - t0).count());
      if (seen) boardMs.push_back(boardAt);
    }
    stop = true;
    loader.join();
    std::printf("latency under %d AVL/s (%zu load events): status -> commit ack p50 %.2f ms p99 %.2f ms; "
                "-> visible in board p50 %.2f ms p99 %.2f ms (%zu/%d samples)\n",
                o.loadRate, loadSent.load(), percentile(ackMs, 50), percentile(ackMs, 99), percentile(boardMs, 50),
                percentile(boardMs, 99), ackMs.size(), o.latencySamples);
  }
  stub.stop();

  std::printf("\nCPU per 1,000 events (ms)   broker  consumer  publishers+acks\n"
              "  raw (mosquitto_sub)       %6.0f  %8.0f  %15.0f\n  cad-stub                  %6.0f  %8.0f  %15.0f\n",
              rawCpu.broker, rawCpu.consumer, rawCpu.publishers, stubCpu.broker, stubCpu.consumer, stubCpu.publishers);
  if (!o.db.empty())
    std::printf("  PostgreSQL servers (every postgres process on this machine): %.0f ms per 1,000 events\n",
                postgresMsPerThousand);
  std::printf("\nsummary%s: stub %.0f events/s = %.0f%% of the inserting consumer (%.0f msg/s, goal 70%%), %.0f%% of raw "
              "mosquitto (%.0f msg/s), %.0f%% of raw SQLite (%.0f rows/s)\n",
              o.pin ? " (stub and consumers on core 0, broker and publishers on core 1)" : "", stubRate,
              100 * stubRate / insertRate, insertRate, 100 * stubRate / rawRate, rawRate, 100 * stubRate / sqliteRate,
              sqliteRate);
  if (!o.json.empty()) {
    std::ofstream j(o.json);
    char buf[4096];
    std::snprintf(buf, sizeof buf,
                  "{\n  \"store\": \"%s\",\n  \"devices\": %d,\n  \"connections\": %d,\n  \"events\": %zu,\n  \"batch_max\": %d,\n"
                  "  \"batch_ms\": %d,\n  \"raw_sqlite_rows_per_s\": %.0f,\n  \"raw_mosquitto_qos1_msgs_per_s\": %.0f,\n"
                  "  \"stub_committed_acked_events_per_s\": %.0f,\n  \"latency_load_avl_per_s\": %d,\n"
                  "  \"status_to_ack_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"samples\": %zu},\n"
                  "  \"status_to_board_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"samples\": %zu},\n"
                  "  \"cpu_ms_per_1000_events\": {\"raw\": {\"broker\": %.1f, \"consumer\": %.1f, \"publishers\": %.1f}, "
                  "\"stub\": {\"broker\": %.1f, \"consumer\": %.1f, \"publishers\": %.1f}, \"postgresql_servers\": %.1f},\n"
                  "  \"pinned\": %s,\n  \"insert_consumer_msgs_per_s\": %.0f,\n"
                  "  \"insert_consumer_cpu_ms_per_1000\": %.1f,\n  \"stub_vs_insert_consumer_pct\": %.1f,\n"
                  "  \"stub_stats\": ",
                  o.db.empty() ? "sqlite" : "postgresql", o.devices, o.connections, total, o.batchMax, o.batchMs, sqliteRate, rawRate, stubRate, o.loadRate,
                  percentile(ackMs, 50), percentile(ackMs, 99), ackMs.size(), percentile(boardMs, 50),
                  percentile(boardMs, 99), boardMs.size(), rawCpu.broker, rawCpu.consumer, rawCpu.publishers,
                  stubCpu.broker, stubCpu.consumer, stubCpu.publishers, postgresMsPerThousand, o.pin ? "true" : "false",
                  insertRate, insertCpuMs, 100 * stubRate / insertRate);
    std::string stats = stubStats.empty() ? "null" : stubStats;
    while (!stats.empty() && (stats.back() == '\n' || stats.back() == ' ')) stats.pop_back();
    j << buf << stats << "\n}\n";
    std::printf("wrote %s\n", o.json.c_str());
  }
  return 0;
}
