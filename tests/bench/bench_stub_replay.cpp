// bench_stub_replay: builds a log of --events events (1,000 devices: AVL,
// statuses, self-initiated CFS, dispatcher commands) with EventStore::ingest
// directly, then times cadctl's three whole-log operations: verify (hash
// chain), replay --into (rebuild every read model) and digest, next to the
// floor measured in the same run: a raw SQLite copy of the same rows.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "server-stub/store/event_store.h"
#include "shared/infra/sqlite.h"
#include "tests/bench/bench_util.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/stub/stub_wire.h"

using namespace cad;
using cad::control::ControlRequest;
using namespace cad::test;
using Clock = std::chrono::steady_clock;
using mdc::bench::secondsSince;

namespace {
const char* kHelp = R"(usage: bench_stub_replay [--events N] [--devices N] [--batch N] [--json FILE]
  --events N    events in the log (default 1000000)
  --devices N   devices producing them (default 1000)
  --batch N     events per ingest transaction while building (default 5000)
  --json FILE   write the figures as JSON
)";
}  // namespace

int main(int argc, char** argv) {
  long events = 1'000'000;
  int devicesN = 1000, batchN = 5000;
  std::string json;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return 0;
    }
    if (i + 1 >= argc) {
      std::cerr << "bench_stub_replay: " << a << " needs a value\n" << kHelp;
      return 2;
    }
    std::string v = argv[++i];
    if (a == "--events") events = std::stol(v);
    else if (a == "--devices") devicesN = std::stoi(v);
    else if (a == "--batch") batchN = std::stoi(v);
    else if (a == "--json") json = v;
    else {
      std::cerr << "bench_stub_replay: unknown option \"" << a << "\"\n" << kHelp;
      return 2;
    }
  }
  if (events < 1 || devicesN < 1 || devicesN > 4000 || batchN < 1) {
    std::cerr << "bench_stub_replay: --events >= 1, --devices 1..4000, --batch >= 1\n";
    return 2;
  }
  mdc::test::TempDir dir("bench-replay");
  auto opened = EventStore::open(dir.file("cad.db"));
  if (!opened) return 3;
  EventStore& s = **opened;
  std::vector<Device> devices;
  for (int i = 0; i < devicesN; ++i) {
    char name[24];
    std::snprintf(name, sizeof name, "BENCH-%04d", i);
    devices.push_back(Device{name, "U" + std::to_string(i), i % 4 ? "FD1" : "PD1", uint32_t(i)});
    ControlRequest c;
    c.set_agency(devices.back().agency);
    c.mutable_device_add()->set_device(name);
    c.mutable_device_add()->set_unit(devices.back().unit);
    c.set_actor("bench");
    if (!s.execute(c, kShiftStartMs)) return 3;
  }

  // Build: mostly AVL, a status every 10th report, a self-initiated CFS and its
  // clearance now and then, a dispatcher message every 5,000 events.
  auto t0 = Clock::now();
  long made = devicesN;
  uint64_t k = 0;
  std::vector<Incoming> batch;
  while (made < events) {
    ++k;
    for (int d = 0; d < devicesN && made < events; ++d, ++made) {
      const Device& dev = devices[size_t(d)];
      int64_t at = kShiftStartMs + int64_t(k) * 1000 + d;
      v1::Envelope e;
      if (k % 50 == 0 && d % 10 == 0) e = cfsEnv(dev, k, at, "TRAFFIC_STOP");
      else if (k % 50 == 1 && d % 10 == 0 && k > 1) e = statusEnv(dev, k, at, v1::UNIT_STATUS_AVAILABLE);
      else if (k % 10 == 0) e = statusEnv(dev, k, at, v1::UNIT_STATUS_BUSY);
      else e = avlEnv(dev, k, at, 40.7 + double(k % 1000) * 1e-4, -74.0 + d * 1e-4, k % 7 == 0);
      batch.push_back(incoming(e, at + 200));
      if (int(batch.size()) == batchN) {
        auto r = s.ingest(batch);
        if (!r || r->appended != int(batch.size())) {
          std::cerr << "build: " << (r ? "refusals" : r.error().message) << "\n";
          return 3;
        }
        batch.clear();
      }
      if (made % 5000 == 0 && made + 1 < events) {
        ControlRequest m;
        m.set_agency(dev.agency);
        m.mutable_message()->set_unit(dev.unit);
        m.mutable_message()->set_text("check in");
        m.set_actor("bench");
        if (!s.execute(m, at)) return 3;
        ++made;
      }
    }
  }
  if (!batch.empty() && !s.ingest(batch)) return 3;
  double buildS = secondsSince(t0);
  long total = long(s.log().stats().events);
  std::printf("built %ld events in %.1f s (EventStore::ingest, %d per transaction): %.0f events/s\n", total, buildS,
              batchN, double(total) / buildS);

  t0 = Clock::now();
  int64_t checked = 0;
  auto broken = s.log().verify(&checked);
  double verifyS = secondsSince(t0);
  std::printf("verify: %lld events, %s, %.1f s (%.0f events/s)\n", static_cast<long long>(checked),
              broken ? broken->c_str() : "chain intact", verifyS, double(checked) / verifyS);

  t0 = Clock::now();
  int64_t replayed = 0;
  auto st = s.replayInto(dir.file("replay.db"), &replayed);
  double replayS = secondsSince(t0);
  if (!st) {
    std::cerr << st.error().message << "\n";
    return 3;
  }
  std::printf("replay --into: %lld events in %.1f s (%.0f events/s)\n", static_cast<long long>(replayed), replayS,
              double(replayed) / replayS);

  t0 = Clock::now();
  std::string live = s.log().digest();
  double digestS = secondsSince(t0);
  auto r = EventStore::open(dir.file("replay.db"), true);
  bool equal = r && (*r)->log().digest() == live;
  std::printf("digest: %.1f s; live and replay %s\n", digestS, equal ? "EQUAL" : "DIFFER");

  // Floor: copy the same rows with SQLite alone (no hashing, no projection).
  t0 = Clock::now();
  {
    mdc::sql::SqliteDb raw(dir.file("copy.db"));
    raw.exec("PRAGMA journal_mode=WAL");
    raw.exec("PRAGMA synchronous=OFF");
    raw.exec("ATTACH DATABASE '" + dir.file("cad.db") + "' AS src");
    raw.exec("CREATE TABLE events AS SELECT * FROM src.events WHERE 0");
    raw.exec("BEGIN; INSERT INTO events SELECT * FROM src.events ORDER BY pos; COMMIT");
  }
  double copyS = secondsSince(t0);
  std::printf("raw SQLite copy of the log: %.1f s (%.0f rows/s)\n", copyS, double(total) / copyS);

  if (!json.empty()) {
    std::ofstream j(json);
    char buf[1024];
    std::snprintf(buf, sizeof buf,
                  "{\n  \"events\": %ld,\n  \"devices\": %d,\n  \"build_s\": %.2f,\n  \"build_events_per_s\": %.0f,\n"
                  "  \"verify_s\": %.2f,\n  \"replay_s\": %.2f,\n  \"replay_events_per_s\": %.0f,\n  \"digest_s\": %.2f,\n"
                  "  \"digest_equal\": %s,\n  \"raw_sqlite_copy_s\": %.2f\n}\n",
                  total, devicesN, buildS, double(total) / buildS, verifyS, replayS, double(replayed) / replayS,
                  digestS, equal ? "true" : "false", copyS);
    j << buf;
    std::printf("wrote %s\n", json.c_str());
  }
  return equal && !broken ? 0 : 1;
}
