// The ordering rule of the read models under disorder, model-based: random
// shifts of three units (statuses, positions, emergencies, self-initiated
// calls, assignments, acknowledgements, a device moved between units) are
// delivered to a real store with random delays, duplicates and loss-then-
// resend; every read model must then equal a small reference model that
// applies the same history in the order it happened. A failure names its
// seed: MDC_ORDER_SEED=N runs that one alone, MDC_ORDER_SEEDS=N sets how many.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <tuple>

#include "server-stub/store/event_store.h"
#include "shared/wire/codec.h"
#include "tests/support/temp_dir.h"
#include "tests/support/pg_server.h"
#include "tests/unit/stub/stub_wire.h"

using namespace cad;
using cad::control::ControlRequest;
using namespace cad::test;
using mdc::test::TempDir;

namespace {

constexpr int64_t T0 = kShiftStartMs;
const Device kDevices[3] = {{"MDC-A1", "A1", "FD1", 21}, {"MDC-A2", "A2", "FD1", 22}, {"MDC-A3", "A3", "FD1", 23}};
const char* kUnits[3] = {"A1", "A2", "A3"};

/** One thing that happened, in the order it happened. */
struct Step {
  bool device = false;
  int64_t at = 0;  ///< recorded time (device) or the moment the dispatcher acted
  int dev = -1;
  v1::Envelope env;
  ControlRequest cmd;
};

/** One arrival at the store. */
struct Delivery {
  int64_t arrival = 0;
  int step = 0;
  int tie = 0;  ///< keeps sorting stable and random among equal arrivals
};

struct History {
  std::vector<Step> steps;
  std::vector<Delivery> deliveries;  // in arrival order
  std::vector<std::string> calls;    // the dispatcher's CFS, created before the shift
};

ControlRequest dispatch(const std::string& kind) {
  ControlRequest c;
  c.GetReflection()->MutableMessage(&c, ControlRequest::descriptor()->FindFieldByName(kind));  // the command, empty
  c.set_agency("FD1");
  c.set_actor(kind == "device_move" ? "fleet" : "alice");
  return c;
}

/** The call and the unit a scripted dispatcher action names ("" none). */
std::pair<std::string, std::string> namedBy(const ControlRequest& c) {
  if (c.has_assign()) return {c.assign().incident(), c.assign().unit()};
  if (c.has_close_cfs()) return {c.close_cfs().incident(), ""};
  if (c.has_ack_emergency()) return {"", c.ack_emergency().unit()};
  if (c.has_device_move()) return {"", c.device_move().unit()};
  return {};
}

/** A random shift. Device events get times that are multiples of 10 ms (two
 *  devices sometimes share one); dispatcher actions happen 5 ms after. */
History generate(uint32_t seed, const std::vector<std::string>& calls) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return int(rng() % uint32_t(n)); };
  auto chance = [&](int percent) { return pick(100) < percent; };
  History h;
  h.calls = calls;
  uint64_t seq[3] = {1, 1, 1};
  int a3unit = 2;  // the unit device 2 serves (moves between A3 and A1)
  std::vector<std::pair<int64_t, std::string>> assigned[3];  // per unit: (time, call) the dispatcher assigned
  int64_t t = T0;
  const int n = 15 + pick(50);
  bool afterDispatch = false;
  for (int i = 0; i < n; ++i) {
    // Two devices at one millisecond, never before a dispatcher's action
    // already taken (it came 5 ms after that millisecond).
    const bool sameMoment = i > 0 && !afterDispatch && chance(10);
    if (!sameMoment) t += 10 * (1 + pick(300));
    Step s;
    if (chance(18) && !sameMoment) {
      s.at = t + 5;
      const int r = pick(100);
      const int u = pick(3);
      if (r < 40) {
        s.cmd = dispatch("assign");
        s.cmd.mutable_assign()->set_incident(calls[size_t(pick(int(calls.size())))]);
        s.cmd.mutable_assign()->set_unit(kUnits[u]);
        s.cmd.mutable_assign()->set_force(true);
        assigned[u].emplace_back(s.at, s.cmd.assign().incident());
      } else if (r < 55) {
        s.cmd = dispatch("close_cfs");
        s.cmd.mutable_close_cfs()->set_incident(calls[size_t(pick(int(calls.size())))]);
      } else if (r < 80) {
        s.cmd = dispatch("ack_emergency");
        s.cmd.mutable_ack_emergency()->set_unit(kUnits[u]);
      } else {
        s.cmd = dispatch("device_move");
        s.cmd.mutable_device_move()->set_device(kDevices[2].id);
        a3unit = a3unit == 2 ? 0 : 2;
        s.cmd.mutable_device_move()->set_unit(kUnits[a3unit]);
      }
    } else {
      s.device = true;
      s.at = t;
      s.dev = pick(3);
      const Device& d = kDevices[s.dev];
      const uint64_t q = seq[s.dev]++;
      const int r = pick(100);
      const double lat = 40.70 + pick(1000) / 1e4, lon = -74.00 + pick(1000) / 1e4;
      if (r < 35) {
        static const v1::UnitStatus kStatuses[] = {v1::UNIT_STATUS_AVAILABLE, v1::UNIT_STATUS_EN_ROUTE,
                                                   v1::UNIT_STATUS_ON_SCENE,  v1::UNIT_STATUS_BUSY,
                                                   v1::UNIT_STATUS_AT_STATION, v1::UNIT_STATUS_TRANSPORTING};
        s.env = statusEnv(d, q, t, kStatuses[pick(6)]);
        if (chance(50)) *s.env.mutable_status()->mutable_position() = position(lat, lon);
      } else if (r < 60) {
        s.env = avlEnv(d, q, t, lat, lon, chance(20));
      } else if (r < 70) {
        s.env = emergencyEnv(d, q, t, chance(60));
        if (s.env.emergency().active() && chance(50)) *s.env.mutable_emergency()->mutable_position() = position(lat, lon);
      } else if (r < 78) {
        s.env = cfsEnv(d, q, t, "TRAFFIC_STOP");
      } else if (r < 88) {
        // An acknowledgement of a call the device's unit was assigned before.
        const int u = s.dev == 2 ? a3unit : s.dev;
        std::vector<std::string> before;
        for (const auto& [when, call] : assigned[u])
          if (when < t) before.push_back(call);
        if (before.empty()) s.env = messageEnv(d, q, t, "copy");
        else s.env = assignmentAckEnv(d, q, t, before[size_t(pick(int(before.size())))], 1);
      } else {
        s.env = messageEnv(d, q, t, "message " + std::to_string(i));
      }
    }
    afterDispatch = !s.device;
    h.steps.push_back(std::move(s));
  }
  // Deliveries: dispatcher actions when they happen; device events after a
  // transit time, some late (minutes), some twice, some lost and resent.
  int tie = 0;
  for (int i = 0; i < int(h.steps.size()); ++i) {
    const Step& s = h.steps[size_t(i)];
    if (!s.device) {
      h.deliveries.push_back({s.at, i, tie++});
      continue;
    }
    int64_t delay = 20 + pick(400);
    const int r = pick(100);
    if (r < 20) delay += 1000 + pick(120'000);  // late
    else if (r < 30) delay += 5000 + pick(300'000);  // lost, resent after a reconnect
    h.deliveries.push_back({s.at + delay, i, tie++});
    if (chance(12)) h.deliveries.push_back({s.at + delay + pick(200'000), i, tie++});  // duplicate
  }
  std::shuffle(h.deliveries.begin(), h.deliveries.end(), rng);  // random order among equal arrivals
  std::stable_sort(h.deliveries.begin(), h.deliveries.end(),
                   [](const Delivery& a, const Delivery& b) { return a.arrival < b.arrival; });
  return h;
}

// ------------------------------------------------------------------ the reference

struct RefUnit {
  int status = 0;
  int64_t statusAt = 0;
  bool hasPos = false;
  double lat = 0, lon = 0;
  int64_t posAt = 0;
  bool emergencyActive = false;
  bool flagged = false;
  std::string current;
};

struct RefCall {
  bool on = false;
  int64_t clearedAt = 0;
  std::tuple<int64_t, int, std::string, uint64_t> attached;
  int64_t ackAt = 0;
};

struct Reference {
  std::map<std::string, RefUnit> units;
  std::map<std::pair<std::string, std::string>, RefCall> calls;  // (incident, unit)
  std::map<std::string, std::string> callState;                   // incident -> open | closed
  std::map<std::string, int64_t> closedAt;
  int64_t events = 0;
  int64_t messages = 0;
};

/** What the board must show: the history applied in the order it happened
 *  (recorded time; at one moment devices by id and seq, the dispatcher after). */
Reference reference(const History& h, const std::vector<bool>& executed, const std::vector<int>& firstArrival,
                    const std::map<std::string, std::string>& selfCallOf) {
  using Key = std::tuple<int64_t, int, std::string, uint64_t>;
  auto keyOf = [&](int i) {
    const Step& s = h.steps[size_t(i)];
    if (s.device) return Key{s.at, 0, kDevices[s.dev].id, s.env.seq()};
    return Key{s.at, 1, std::string(), uint64_t(i)};
  };
  // Which unit a device served at a moment: moves are dispatcher steps.
  auto unitOf = [&](int dev, int64_t at) {
    std::string unit = kDevices[dev].unit;
    for (int i = 0; i < int(h.steps.size()); ++i) {
      const Step& s = h.steps[size_t(i)];
      if (!s.device && executed[size_t(i)] && s.cmd.has_device_move() && s.cmd.device_move().device() == kDevices[dev].id &&
          s.at <= at)
        unit = s.cmd.device_move().unit();
    }
    return unit;
  };
  std::vector<int> order;
  for (int i = 0; i < int(h.steps.size()); ++i)
    if (h.steps[size_t(i)].device ? firstArrival[size_t(i)] >= 0 : bool(executed[size_t(i)])) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return keyOf(a) < keyOf(b); });

  Reference r;
  for (const char* u : kUnits) r.units[u];
  for (const auto& c : h.calls) r.callState[c] = "open";
  std::map<std::string, Key> raised, acked;  // per unit: latest activation, the one acknowledged
  std::map<std::string, Key> emergencyState;
  int64_t now = 0;  // the moment of the step being applied
  auto leave = [&](RefCall& c) {
    if (!c.on) return;
    c.on = false;
    c.clearedAt = now;
  };
  auto leaveAll = [&](const std::string& unit, const std::string& except) {
    for (auto& [k, c] : r.calls)
      if (k.second == unit && k.first != except) leave(c);
  };
  auto current = [&](const std::string& unit) {
    std::string best;
    Key bestKey{};
    for (auto& [k, c] : r.calls)
      if (k.second == unit && c.on && (best.empty() || c.attached > bestKey)) {
        best = k.first;
        bestKey = c.attached;
      }
    return best;
  };
  std::set<std::string> closedByDispatch;
  for (int i : order) {
    const Step& s = h.steps[size_t(i)];
    const Key key = keyOf(i);
    now = s.at;
    ++r.events;
    if (!s.device) {
      const ControlRequest& c = s.cmd;
      const auto [incident, named] = namedBy(c);
      if (c.has_assign()) {
        leaveAll(named, incident);
        auto& call = r.calls[{incident, named}];
        call.on = true;
        call.clearedAt = 0;
        call.attached = key;
      } else if (c.has_close_cfs()) {
        for (auto& [k, call] : r.calls)
          if (k.first == incident) leave(call);
        if (closedByDispatch.insert(incident).second) r.closedAt[incident] = s.at;
      } else if (c.has_ack_emergency()) {
        // Acknowledges the latest activation that had arrived when the dispatcher acted.
        Key seen{};
        for (int j = 0; j < int(h.steps.size()); ++j) {
          const Step& e = h.steps[size_t(j)];
          if (e.device && e.env.has_emergency() && e.env.emergency().active() && firstArrival[size_t(j)] >= 0 &&
              firstArrival[size_t(j)] < firstArrival[size_t(i)] && unitOf(e.dev, e.at) == named)
            seen = std::max(seen, keyOf(j));
        }
        acked[named] = seen;
      }
      continue;
    }
    const std::string unit = unitOf(s.dev, s.at);
    RefUnit& u = r.units[unit];
    auto move = [&](const v1::Position& p) {
      u.hasPos = true;
      u.lat = p.lat();
      u.lon = p.lon();
      u.posAt = s.at;
    };
    const v1::Envelope& e = s.env;
    if (e.has_status()) {
      u.status = e.status().status();
      u.statusAt = s.at;
      if (e.status().has_position()) move(e.status().position());
      if (mdc::codec::statusEndsAssignment(u.status)) leaveAll(unit, "");
    } else if (e.has_avl()) {
      if (!e.avl().backfill()) move(e.avl().position());
    } else if (e.has_emergency()) {
      u.emergencyActive = e.emergency().active();
      if (e.emergency().active()) {
        raised[unit] = key;
        if (e.emergency().has_position()) move(e.emergency().position());
      }
    } else if (e.has_cfs()) {
      const std::string& incident = selfCallOf.at(e.event_id());
      r.callState[incident] = "open";
      if (current(unit).empty()) {
        auto& call = r.calls[{incident, unit}];
        call.on = true;
        call.attached = key;
      }
    } else if (e.has_assignment_ack()) {
      auto it = r.calls.find({e.assignment_ack().incident_number(), unit});
      if (it != r.calls.end() && (it->second.ackAt == 0 || s.at < it->second.ackAt)) it->second.ackAt = s.at;
    } else if (e.has_message()) {
      ++r.messages;
    }
  }
  for (auto& [name, u] : r.units) {
    u.current = current(name);
    u.flagged = raised.count(name) && (!acked.count(name) || raised[name] > acked[name]);
  }
  for (auto& [incident, state] : r.callState) {
    bool any = false, anyOn = false;
    int64_t lastLeft = 0;
    for (auto& [k, c] : r.calls)
      if (k.first == incident) {
        any = true;
        anyOn = anyOn || c.on;
        lastLeft = std::max(lastLeft, c.clearedAt);
      }
    if (closedByDispatch.count(incident)) state = "closed";
    else if (any && !anyOn) {
      state = "closed";
      r.closedAt[incident] = lastLeft;  // when the last unit left it
    } else {
      r.closedAt[incident] = 0;
    }
  }
  return r;
}

// ------------------------------------------------------------------ one run

struct Run {
  std::unique_ptr<EventStore> store;
  std::vector<bool> executed;
  std::vector<int> firstArrival;  // per step: index of its first delivery, -1 if never
};

Run deliver(const History& h, const std::string& path) {
  Run run;
  auto s = EventStore::open(path);
  REQUIRE(s);
  run.store = std::move(*s);
  if (run.store->engine() == mdc::sql::Engine::sqlite)
    run.store->db().exec("PRAGMA synchronous=OFF");  // a logic test: durability is tested elsewhere
  run.executed.assign(h.steps.size(), false);
  run.firstArrival.assign(h.steps.size(), -1);
  for (int i = 0; i < 3; ++i) {
    ControlRequest add = dispatch("device_add");
    add.mutable_device_add()->set_device(kDevices[i].id);
    add.mutable_device_add()->set_unit(kDevices[i].unit);
    REQUIRE(run.store->execute(add, T0 - 600'000 + i));
  }
  // Device events in batches of consecutive arrivals, as the stub's ingest takes them.
  std::vector<Incoming> batch;
  auto flush = [&] {
    if (batch.empty()) return;
    auto out = run.store->ingest(batch);
    INFO((out ? "" : out.error().message));
    REQUIRE(out);
    CHECK(out->refused.empty());
    batch.clear();
  };
  std::mt19937 rng(uint32_t(h.deliveries.size()));
  for (int k = 0; k < int(h.deliveries.size()); ++k) {
    const Delivery& d = h.deliveries[size_t(k)];
    const Step& s = h.steps[size_t(d.step)];
    if (run.firstArrival[size_t(d.step)] < 0) run.firstArrival[size_t(d.step)] = k;
    if (s.device) {
      batch.push_back(incoming(s.env, d.arrival));
      if (rng() % 3 == 0) flush();
      continue;
    }
    flush();
    run.executed[size_t(d.step)] = bool(run.store->execute(s.cmd, s.at));
  }
  flush();
  return run;
}

std::string describe(const History& h) {
  std::ostringstream o;
  for (const auto& d : h.deliveries) {
    const Step& s = h.steps[size_t(d.step)];
    o << "  arrives " << (d.arrival - T0) << " step " << d.step << " at " << (s.at - T0) << ": ";
    if (s.device)
      o << kDevices[s.dev].id << " seq " << s.env.seq() << " " << mdc::codec::bodyName(s.env)
        << (s.env.has_status() ? " " + mdc::codec::statusName(s.env.status().status()) : "")
        << (s.env.has_emergency() ? (s.env.emergency().active() ? " on" : " off") : "");
    else
      o << commandKind(s.cmd) << " " << namedBy(s.cmd).first << " " << namedBy(s.cmd).second;
    o << "\n";
  }
  return o.str();
}

/** Compares every read model with the reference; returns the differences. */
std::vector<std::string> compare(EventStore& s, const Reference& ref) {
  std::vector<std::string> diff;
  auto expect = [&](bool ok, const std::string& what) {
    if (!ok) diff.push_back(what);
  };
  for (const auto& [name, u] : ref.units) {
    auto st = s.db().prepare(
        "SELECT status, status_at_ms, lat, lon, pos_at_ms, emergency_active, emergency, current_cfs FROM units "
        "WHERE unit_id=?");
    st.bind(1, name);
    if (!st.step()) {
      diff.push_back("unit " + name + " missing");
      continue;
    }
    auto n = [&](const char* field, int64_t got, int64_t want) {
      expect(got == want, "unit " + name + " " + field + ": store " + std::to_string(got) + ", reference " +
                              std::to_string(want));
    };
    n("status", st.i64(0), u.status);
    n("status_at_ms", st.i64(1), u.statusAt);
    n("pos_at_ms", st.i64(4), u.posAt);
    if (u.hasPos) {
      expect(!st.isNull(2) && st.f64(2) == u.lat && st.f64(3) == u.lon, "unit " + name + " position differs");
    } else {
      expect(st.isNull(2), "unit " + name + " has a position, the reference none");
    }
    n("emergency_active", st.i64(5), u.emergencyActive);
    n("emergency (flagged)", st.i64(6), u.flagged);
    expect(st.text(7) == u.current, "unit " + name + " current_cfs: store \"" + st.text(7) + "\", reference \"" +
                                        u.current + "\"");
  }
  std::set<std::pair<std::string, std::string>> seen;
  auto cu = s.db().prepare("SELECT incident_number, unit_id, cleared_at_ms, ack_at_ms FROM cfs_units");
  while (cu.step()) {
    std::pair<std::string, std::string> k{cu.text(0), cu.text(1)};
    seen.insert(k);
    auto it = ref.calls.find(k);
    if (it == ref.calls.end()) {
      diff.push_back("cfs_units has " + k.second + " on " + k.first + ", the reference never");
      continue;
    }
    expect(cu.i64(2) == it->second.clearedAt, k.second + " on " + k.first + " cleared_at_ms: store " +
                                                  std::to_string(cu.i64(2)) + ", reference " +
                                                  std::to_string(it->second.clearedAt));
    expect((cu.i64(2) == 0) == it->second.on, k.second + " on " + k.first + ": store " +
                                                  (cu.i64(2) == 0 ? "on" : "cleared") + ", reference " +
                                                  (it->second.on ? "on" : "cleared"));
    expect(cu.i64(3) == it->second.ackAt, k.second + " on " + k.first + " ack_at_ms: store " +
                                              std::to_string(cu.i64(3)) + ", reference " +
                                              std::to_string(it->second.ackAt));
  }
  for (const auto& [k, c] : ref.calls)
    expect(seen.count(k) == 1, "reference has " + k.second + " on " + k.first + ", cfs_units not");
  for (const auto& [incident, state] : ref.callState) {
    std::string got = s.db().queryText("SELECT state FROM cfs WHERE incident_number='" + incident + "'");
    expect(got == state, "cfs " + incident + ": store " + got + ", reference " + state);
    const int64_t closedAt = s.db().queryInt("SELECT closed_at_ms FROM cfs WHERE incident_number='" + incident + "'");
    expect(closedAt == ref.closedAt.at(incident), "cfs " + incident + " closed_at_ms: store " +
                                                      std::to_string(closedAt) + ", reference " +
                                                      std::to_string(ref.closedAt.at(incident)));
  }
  expect(s.db().queryInt("SELECT COUNT(*) FROM events") == ref.events + 3,
         "events: store " + std::to_string(s.db().queryInt("SELECT COUNT(*) FROM events")) + ", reference " +
             std::to_string(ref.events + 3));
  expect(s.db().queryInt("SELECT COUNT(*) FROM messages WHERE direction='in'") == ref.messages, "messages differ");
  return diff;
}

/** A store of one seed's shift: a SQLite file, or a PostgreSQL database. */
struct SeedRun {
  std::unique_ptr<EventStore> store;
  std::vector<std::string> diff;  ///< against the reference
};

/** Plays one seed's shift into a new store at path and compares it with the reference. */
SeedRun playSeed(uint32_t seed, const std::string& path) {
  // The dispatcher's calls are the first thing the store holds (numbers 1..3).
  const std::vector<std::string> calls = {"2026-000001", "2026-000002", "2026-000003"};
  History h = generate(seed, calls);
  {
    auto s = EventStore::open(path);
    REQUIRE(s);
    for (int i = 0; i < 3; ++i) {
      ControlRequest c = dispatch("create_cfs");
      c.mutable_create_cfs()->set_type("FSTRU");
      c.mutable_create_cfs()->set_address(std::to_string(i + 1) + " Main St");
      auto out = (*s)->execute(c, T0 - 900'000 + i);
      INFO((out ? std::string() : out.error().message));
      REQUIRE(out);
      REQUIRE(out->summary == "created " + calls[size_t(i)]);
    }
  }
  Run run = deliver(h, path);
  std::map<std::string, std::string> selfCallOf;
  {
    auto st = run.store->db().prepare("SELECT origin_event_id, incident_number FROM cfs WHERE source='self'");
    while (st.step()) selfCallOf[st.text(0)] = st.text(1);
  }
  Reference ref = reference(h, run.executed, run.firstArrival, selfCallOf);
  ref.events += 3;  // the three calls created before the shift
  SeedRun out;
  out.diff = compare(*run.store, ref);
  out.store = std::move(run.store);
  return out;
}

std::string report(uint32_t seed, const std::vector<std::string>& diff) {
  if (diff.empty()) return "";
  std::string report = "seed " + std::to_string(seed) + " (MDC_ORDER_SEED=" + std::to_string(seed) + "):\n";
  for (const auto& d : diff) report += "  " + d + "\n";
  const std::vector<std::string> calls = {"2026-000001", "2026-000002", "2026-000003"};
  return report + "deliveries:\n" + describe(generate(seed, calls));
}

/** Runs one seed; returns a report of every difference (empty when it holds). */
std::string runSeed(uint32_t seed, bool withReplay) {
  TempDir dir;
  SeedRun run = playSeed(seed, dir.file("cad.db"));
  auto& diff = run.diff;
  if (withReplay) {
    int64_t n = 0;
    auto replayed = run.store->replayInto(dir.file("replay.db"), &n);
    if (!replayed) diff.push_back("replay: " + replayed.error().message);
    else {
      auto again = EventStore::open(dir.file("replay.db"), true);
      REQUIRE(again);
      if ((*again)->log().digest() != run.store->log().digest()) diff.push_back("replay: digest differs from the store's");
    }
  }
  return report(seed, diff);
}

// The default build plays 2,000 shifts; the sanitizer build, which runs the
// same logic about six times slower, 300 (its run is for memory errors).
#ifdef __SANITIZE_ADDRESS__
constexpr uint32_t kDefaultSeeds = 300;
#else
constexpr uint32_t kDefaultSeeds = 2000;
#endif

uint32_t envNumber(const char* name, uint32_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? uint32_t(std::strtoul(v, nullptr, 10)) : fallback;
}

}  // namespace

TEST_CASE("random shifts delivered late, twice and out of order give the board of the shift as it happened",
          "[store][order][model][sqlite]") {
  const uint32_t only = envNumber("MDC_ORDER_SEED", 0);
  const uint32_t seeds = only ? 1 : envNumber("MDC_ORDER_SEEDS", kDefaultSeeds);
  int failed = 0;
  for (uint32_t k = 0; k < seeds; ++k) {
    const uint32_t seed = only ? only : k + 1;
    std::string report = runSeed(seed, k % 20 == 0 || only);
    if (!report.empty()) {
      ++failed;
      if (failed <= 3) FAIL_CHECK(report);
    }
  }
  INFO(seeds << " seeds");
  CHECK(failed == 0);
}

namespace {
/** One seed on both engines: each store against the reference, the chain
 *  intact, and each store replayed into the other engine with its digest.
 *  (The two live stores' digests differ: a dispatcher's event gets a new
 *  random id in each.) */
std::string runSeedOnBoth(uint32_t seed, mdc::test::PgServer& pg) {
  TempDir dir;
  SeedRun lite = playSeed(seed, dir.file("cad.db"));
  SeedRun post = playSeed(seed, pg.freshDatabase());
  std::vector<std::string> diff;
  for (const auto& d : lite.diff) diff.push_back("sqlite: " + d);
  for (const auto& d : post.diff) diff.push_back("postgresql: " + d);
  const std::string digest = lite.store->log().digest();
  if (auto broken = post.store->log().verify()) diff.push_back("postgresql: verify: " + *broken);
  {
    auto toFile = post.store->replayInto(dir.file("from-pg.db"));
    if (!toFile) diff.push_back("replay postgresql -> sqlite: " + toFile.error().message);
    else {
      auto f = EventStore::open(dir.file("from-pg.db"), true);
      REQUIRE(f);
      if ((*f)->log().digest() != post.store->log().digest()) diff.push_back("replay postgresql -> sqlite: digest differs");
    }
    const std::string target = pg.freshDatabase();
    auto toPg = lite.store->replayInto(target);
    if (!toPg) diff.push_back("replay sqlite -> postgresql: " + toPg.error().message);
    else if ((*EventStore::open(target, true))->log().digest() != digest)
      diff.push_back("replay sqlite -> postgresql: digest differs");
  }
  return report(seed, diff);
}
}  // namespace

TEST_CASE("random shifts on PostgreSQL give the board of the shift as it happened, and replay between PostgreSQL "
          "and SQLite keeps every read model",
          "[postgresql][store][order]") {
  auto pg = mdc::test::PgServer::ofTestGroup();
  const uint32_t only = envNumber("MDC_ORDER_SEED", 0);
  const uint32_t seeds = only ? 1 : envNumber("MDC_ORDER_SEEDS_PG", 60);
  int failed = 0;
  for (uint32_t k = 0; k < seeds; ++k) {
    const uint32_t seed = only ? only : k + 1;
    std::string r = runSeedOnBoth(seed, pg);
    if (!r.empty()) {
      ++failed;
      if (failed <= 3) FAIL_CHECK(r);
    }
  }
  INFO(seeds << " seeds");
  CHECK(failed == 0);
}

// ------------------------------------------------------------------ named cases

namespace {

const Device kE1{"MDC-E1", "E1", "FD1", 31};
const Device kE1b{"MDC-E1B", "E9", "FD1", 32};  // a second device, first on E9
constexpr int64_t kMin = 60'000;

struct Desk {
  TempDir dir;
  std::unique_ptr<EventStore> s;
  Desk() {
    auto opened = EventStore::open(mdc::test::storeTarget(dir));
    REQUIRE(opened);
    s = std::move(*opened);
    for (const Device* d : {&kE1, &kE1b}) {
      ControlRequest add = dispatch("device_add");
      add.mutable_device_add()->set_device(d->id);
      add.mutable_device_add()->set_unit(d->unit);
      REQUIRE(s->execute(add, T0 - 10 * kMin));
    }
  }
  CommandOutcome run(ControlRequest c, int64_t at) {
    auto r = s->execute(c, at);
    INFO(commandKind(c) << ": " << (r ? "" : r.error().message));
    REQUIRE(r);
    return *r;
  }
  std::string createCall(int64_t at) {
    ControlRequest c = dispatch("create_cfs");
    c.mutable_create_cfs()->set_type("SICK");
    c.mutable_create_cfs()->set_address("5 Elm St");
    return run(c, at).summary.substr(8);
  }
  CommandOutcome assign(const std::string& incident, const std::string& unit, int64_t at) {
    ControlRequest c = dispatch("assign");
    c.mutable_assign()->set_incident(incident);
    c.mutable_assign()->set_unit(unit);
    c.mutable_assign()->set_force(true);
    return run(c, at);
  }
  BatchOutcome arrive(const v1::Envelope& e, int64_t at) {
    auto r = s->ingest({incoming(e, at)});
    INFO((r ? "" : r.error().message));
    REQUIRE(r);
    CHECK(r->refused.empty());
    return *r;
  }
  int64_t num(const std::string& sql) { return s->db().queryInt(sql); }
  std::string text(const std::string& sql) { return s->db().queryText(sql); }
};

int downlinks(const BatchOutcome& out, v1::Downlink::BodyCase body) {
  return int(std::count_if(out.downlinks.begin(), out.downlinks.end(),
                           [&](const Outgoing& o) { return o.downlink.body_case() == body; }));
}

}  // namespace

TEST_CASE("a status recorded earlier but arriving later leaves the board on the newer one, its line marked late",
          "[store][order]") {
  Desk d;
  const std::string call = d.createCall(T0);
  d.assign(call, "E1", T0 + kMin);
  d.arrive(statusEnv(kE1, 2, T0 + 5 * kMin, v1::UNIT_STATUS_ON_SCENE), T0 + 5 * kMin + 300);
  d.arrive(statusEnv(kE1, 1, T0 + 3 * kMin, v1::UNIT_STATUS_EN_ROUTE), T0 + 6 * kMin);  // resent after a lost ack

  CHECK(d.num("SELECT status FROM units WHERE unit_id='E1'") == v1::UNIT_STATUS_ON_SCENE);
  CHECK(d.num("SELECT status_at_ms FROM units WHERE unit_id='E1'") == T0 + 5 * kMin);  // SINCE
  CHECK(d.num("SELECT late_events FROM units WHERE unit_id='E1'") == 1);
  // The log keeps both; the timeline shows both in the order they happened, the late one marked.
  CHECK(d.num("SELECT COUNT(*) FROM events WHERE device_id='MDC-E1'") == 2);
  CHECK(d.num("SELECT late FROM cfs_timeline WHERE text='E1 EN_ROUTE'") == 1);
  CHECK(d.num("SELECT at_ms FROM cfs_timeline WHERE text='E1 EN_ROUTE'") == T0 + 3 * kMin);
  CHECK(d.num("SELECT late FROM cfs_timeline WHERE text='E1 ON_SCENE'") == 0);
  // En route is the first time the unit said so, whenever it arrived.
  CHECK(d.num("SELECT enroute_at_ms FROM cfs_units WHERE unit_id='E1'") == T0 + 3 * kMin);
  CHECK(d.num("SELECT enroute_at_ms FROM cfs") == T0 + 3 * kMin);
  // The unit's screen reads the timeline in the same order, the late line marked.
  auto out = d.assign(call, "E1", T0 + 7 * kMin);
  const v1::Downlink* a = nullptr;
  for (const auto& o : out.downlinks)
    if (o.downlink.has_assignment()) a = &o.downlink;
  REQUIRE(a);
  std::vector<std::string> lines;
  for (const auto& t : a->assignment().timeline()) lines.push_back(t.text());
  auto at = [&](const std::string& line) { return std::find(lines.begin(), lines.end(), line) - lines.begin(); };
  CHECK(at("(late) E1 EN_ROUTE") < at("E1 ON_SCENE"));
  CHECK(at("E1 ON_SCENE") < int(lines.size()));
}

TEST_CASE("a late emergency activation does not undo a later clear, an acknowledgement holds against older ones",
          "[store][order][emergency]") {
  Desk d;
  d.arrive(emergencyEnv(kE1, 2, T0 + 20'000, false), T0 + 21'000);  // the clear arrives first
  d.arrive(emergencyEnv(kE1, 1, T0 + 10'000, true), T0 + 40'000);   // the activation, late
  CHECK(d.num("SELECT emergency_active FROM units WHERE unit_id='E1'") == 0);
  CHECK(d.num("SELECT emergency FROM units WHERE unit_id='E1'") == 1);  // raised, still to acknowledge
  CHECK(d.num("SELECT emergency_at_ms FROM units WHERE unit_id='E1'") == T0 + 10'000);

  ControlRequest ack = dispatch("ack_emergency");
  ack.mutable_ack_emergency()->set_unit("E1");
  d.run(ack, T0 + kMin);
  CHECK(d.num("SELECT emergency FROM units WHERE unit_id='E1'") == 0);
  // A resend of the acknowledged activation flags nothing; a newer activation does.
  d.arrive(emergencyEnv(kE1, 1, T0 + 10'000, true), T0 + 2 * kMin);
  CHECK(d.num("SELECT emergency FROM units WHERE unit_id='E1'") == 0);
  d.arrive(emergencyEnv(kE1, 4, T0 + 3 * kMin, true), T0 + 3 * kMin + 200);
  CHECK(d.num("SELECT emergency FROM units WHERE unit_id='E1'") == 1);
  CHECK(d.num("SELECT emergency_active FROM units WHERE unit_id='E1'") == 1);
  CHECK(d.text("SELECT emergency_ack_by FROM units WHERE unit_id='E1'") == "");
  // An activation pressed before the acknowledgement but arriving after it was
  // never seen by the dispatcher: it is flagged.
  d.run(ack, T0 + 4 * kMin);
  d.arrive(emergencyEnv(kE1, 5, T0 + 4 * kMin - 500, true), T0 + 5 * kMin);
  CHECK(d.num("SELECT emergency FROM units WHERE unit_id='E1'") == 1);
}

TEST_CASE("a late AVAILABLE clears the unit from the call it was on then, not from a newer one, and closes nothing new",
          "[store][order][cfs]") {
  Desk d;
  const std::string first = d.createCall(T0);
  const std::string second = d.createCall(T0 + 1000);
  d.assign(first, "E1", T0 + kMin);
  // The responder clears at +2 min while out of coverage; dispatch, seeing the
  // unit still on the first call, moves it to the second at +4 min.
  d.assign(second, "E1", T0 + 4 * kMin);
  auto out = d.arrive(statusEnv(kE1, 1, T0 + 2 * kMin, v1::UNIT_STATUS_AVAILABLE), T0 + 5 * kMin);

  CHECK(d.text("SELECT current_cfs FROM units WHERE unit_id='E1'") == second);
  CHECK(d.text("SELECT state FROM cfs WHERE incident_number='" + second + "'") == "open");
  CHECK(d.num("SELECT cleared_at_ms FROM cfs_units WHERE incident_number='" + second + "'") == 0);
  CHECK(downlinks(out, v1::Downlink::kAssignmentCleared) == 0);  // the unit's screen keeps the second call
  // The first call: the unit left it when it said so, before the reassignment.
  CHECK(d.num("SELECT cleared_at_ms FROM cfs_units WHERE incident_number='" + first + "'") == T0 + 2 * kMin);
  CHECK(d.text("SELECT clear_reason FROM cfs_units WHERE incident_number='" + first + "'") == "cleared by E1 AVAILABLE");
  CHECK(d.text("SELECT state FROM cfs WHERE incident_number='" + first + "'") == "closed");
  CHECK(d.num("SELECT closed_at_ms FROM cfs WHERE incident_number='" + first + "'") == T0 + 2 * kMin);
  CHECK(d.num("SELECT late FROM cfs_timeline WHERE incident_number='" + first + "' AND text='E1 AVAILABLE'") == 1);
  CHECK(d.num("SELECT COUNT(*) FROM cfs_timeline WHERE incident_number='" + second + "' AND text='E1 AVAILABLE'") == 0);
  // The board's status is the latest the unit sent.
  CHECK(d.num("SELECT status FROM units WHERE unit_id='E1'") == v1::UNIT_STATUS_AVAILABLE);
}

TEST_CASE("a self-initiated call recorded before an assignment but arriving after it: the unit was on it until then",
          "[store][order][cfs]") {
  Desk d;
  const std::string fire = d.createCall(T0);
  d.assign(fire, "E1", T0 + 2 * kMin);
  auto out = d.arrive(cfsEnv(kE1, 1, T0 + kMin, "TRAFFIC_STOP"), T0 + 3 * kMin);
  const std::string stop = d.text("SELECT incident_number FROM cfs WHERE source='self'");
  CHECK(downlinks(out, v1::Downlink::kCfsAccepted) == 1);
  CHECK(downlinks(out, v1::Downlink::kRejection) == 0);  // no conflict: it came first
  CHECK(d.text("SELECT current_cfs FROM units WHERE unit_id='E1'") == fire);
  CHECK(d.num("SELECT assigned_at_ms FROM cfs_units WHERE incident_number='" + stop + "'") == T0 + kMin);
  CHECK(d.num("SELECT cleared_at_ms FROM cfs_units WHERE incident_number='" + stop + "'") == T0 + 2 * kMin);
  CHECK(d.text("SELECT clear_reason FROM cfs_units WHERE incident_number='" + stop + "'") ==
        "reassigned to " + fire + " by alice");
  CHECK(d.text("SELECT state FROM cfs WHERE incident_number='" + stop + "'") == "closed");

  // The other way round: the assignment came first, the call the unit starts after it is refused.
  Desk d2;
  const std::string fire2 = d2.createCall(T0);
  d2.assign(fire2, "E1", T0 + kMin);
  auto out2 = d2.arrive(cfsEnv(kE1, 1, T0 + 2 * kMin, "TRAFFIC_STOP"), T0 + 3 * kMin);
  CHECK(downlinks(out2, v1::Downlink::kRejection) == 1);
  CHECK(d2.text("SELECT current_cfs FROM units WHERE unit_id='E1'") == fire2);
}

TEST_CASE("a late clear that frees the unit earlier lets the call it started afterwards have it",
          "[store][order][cfs]") {
  Desk d;
  const std::string fire = d.createCall(T0);
  d.assign(fire, "E1", T0 + kMin);
  // The unit clears at +2 min and starts a traffic stop at +3 min; the stop arrives first.
  auto first = d.arrive(cfsEnv(kE1, 2, T0 + 3 * kMin, "TRAFFIC_STOP"), T0 + 4 * kMin);
  CHECK(downlinks(first, v1::Downlink::kRejection) == 1);  // as far as the store knows, it is on the fire
  const std::string stop = d.text("SELECT incident_number FROM cfs WHERE source='self'");
  auto late = d.arrive(statusEnv(kE1, 1, T0 + 2 * kMin, v1::UNIT_STATUS_AVAILABLE), T0 + 5 * kMin);
  CHECK(d.text("SELECT current_cfs FROM units WHERE unit_id='E1'") == stop);
  CHECK(d.text("SELECT state FROM cfs WHERE incident_number='" + fire + "'") == "closed");
  // The unit is told both: off the fire, on its stop.
  CHECK(downlinks(late, v1::Downlink::kAssignmentCleared) == 1);
  CHECK(downlinks(late, v1::Downlink::kAssignment) == 1);
  CHECK(d.num("SELECT COUNT(*) FROM cfs_timeline WHERE incident_number='" + stop + "' AND late=1") >= 1);
}

TEST_CASE("a device moved to another unit: its late events land on the unit it served when it recorded them",
          "[store][order][registry]") {
  Desk d;
  ControlRequest move = dispatch("device_move");
  move.mutable_device_move()->set_device(kE1.id);
  move.mutable_device_move()->set_unit("E7");
  d.run(move, T0 + 2 * kMin);
  d.arrive(statusEnv(kE1, 1, T0 + kMin, v1::UNIT_STATUS_ON_SCENE), T0 + 3 * kMin);  // recorded on E1
  d.arrive(statusEnv(kE1, 2, T0 + 4 * kMin, v1::UNIT_STATUS_BUSY), T0 + 4 * kMin + 200);
  CHECK(d.num("SELECT status FROM units WHERE unit_id='E1'") == v1::UNIT_STATUS_ON_SCENE);
  CHECK(d.num("SELECT status FROM units WHERE unit_id='E7'") == v1::UNIT_STATUS_BUSY);
  CHECK(d.text("SELECT unit_id FROM events WHERE device_id='MDC-E1' AND device_seq=1") == "E1");
  CHECK(d.text("SELECT unit_id FROM events WHERE device_id='MDC-E1' AND device_seq=2") == "E7");
}

TEST_CASE("two devices in one vehicle: the unit shows the newer of their statuses, whichever arrives last",
          "[store][order]") {
  Desk d;
  ControlRequest move = dispatch("device_move");
  move.mutable_device_move()->set_device(kE1b.id);
  move.mutable_device_move()->set_unit("E1");  // the second device now serves E1 too
  d.run(move, T0);
  d.arrive(statusEnv(kE1b, 1, T0 + 2 * kMin, v1::UNIT_STATUS_ON_SCENE), T0 + 2 * kMin + 100);
  d.arrive(statusEnv(kE1, 1, T0 + kMin, v1::UNIT_STATUS_EN_ROUTE), T0 + 3 * kMin);
  CHECK(d.num("SELECT status FROM units WHERE unit_id='E1'") == v1::UNIT_STATUS_ON_SCENE);
  // At one millisecond the order is fixed by device id, then seq: the same on replay.
  d.arrive(statusEnv(kE1, 2, T0 + 5 * kMin, v1::UNIT_STATUS_BUSY), T0 + 5 * kMin + 100);
  d.arrive(statusEnv(kE1b, 2, T0 + 5 * kMin, v1::UNIT_STATUS_AVAILABLE), T0 + 5 * kMin + 200);
  CHECK(d.num("SELECT status FROM units WHERE unit_id='E1'") == v1::UNIT_STATUS_AVAILABLE);  // "MDC-E1B" > "MDC-E1"
  int64_t n = 0;
  REQUIRE(d.s->replayInto(mdc::test::storeTarget(d.dir, "replay.db"), &n));
  auto again = EventStore::open(mdc::test::storeTarget(d.dir, "replay.db"), true);
  REQUIRE(again);
  CHECK((*again)->log().digest() == d.s->log().digest());
}

TEST_CASE("a time far ahead of its arrival is clamped to it, flagged and counted, the board does not freeze",
          "[store][order][clock]") {
  Desk d;
  // A receiver 8 years ahead: its status would hold the board for 8 years.
  auto out = d.arrive(statusEnv(kE1, 1, T0 + 8 * 365 * 24 * 60 * kMin, v1::UNIT_STATUS_ON_SCENE), T0 + 1000);
  CHECK(out.clamped == 1);
  CHECK(d.num("SELECT recorded_at_ms FROM events WHERE device_id='MDC-E1' AND device_seq=1") == T0 + 1000);
  CHECK(d.text("SELECT clock_source FROM events WHERE device_id='MDC-E1' AND device_seq=1") == "gps-clamped");
  CHECK(d.num("SELECT status_at_ms FROM units WHERE unit_id='E1'") == T0 + 1000);
  // Within the bound (clock skew): kept as the device said.
  auto skew = d.arrive(statusEnv(kE1, 2, T0 + 2 * kMin + 30'000, v1::UNIT_STATUS_BUSY), T0 + 2 * kMin);
  CHECK(skew.clamped == 0);
  CHECK(d.num("SELECT status FROM units WHERE unit_id='E1'") == v1::UNIT_STATUS_BUSY);
  CHECK(d.num("SELECT status_at_ms FROM units WHERE unit_id='E1'") == T0 + 2 * kMin + 30'000);
}
