#include "server-stub/cli/cadctl_store.h"

#include <chrono>
#include <cstdio>
#include <iostream>

#include "server-stub/store/postgres.h"

namespace cad::cli {

namespace {


double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/** Copies s into target with progress on stderr; false (having said why) on failure. */
bool copyInto(EventStore& s, const std::string& target, const char* verb, int64_t& n) {
  const int64_t total = s.log().stats().events;
  if (mdc::Status st = s.replayInto(target, &n, [&](int64_t done) {
        std::cerr << verb << ": " << done << " / " << total << " events\n";
      });
      !st) {
    std::cerr << "cadctl: " << st.error().message << "\n";
    return false;
  }
  return true;
}

}  // namespace

int initStore(const std::string& target) {
  auto s = EventStore::open(target);
  if (!s) {
    std::cerr << "cadctl: init: " << s.error().message << "\n";
    return kUnreachable;
  }
  std::cout << "store " << (*s)->db().path() << ": schema " << kSchemaVersion << ", " << (*s)->log().stats().events
            << " events\n";
  return kOk;
}

int verifyStore(EventStore& s) {
  int64_t checked = 0;
  if (auto broken = s.log().verify(&checked)) {
    std::cout << "BROKEN after " << checked << " intact events: " << *broken << "\n";
    return kFailed;
  }
  const StoreStats st = s.log().stats();
  std::cout << "ok: " << checked << " events, chain intact (" << st.chains << (st.chains == 1 ? " chain" : " chains")
            << ", one per agency), newest event " << st.lastPos << " hash " << st.lastHashHex << "\n";
  return kOk;
}

int digestStore(EventStore& s) {
  std::cout << s.log().digest() << "\n";
  return kOk;
}

int replayStore(EventStore& s, const std::string& target) {
  const auto t0 = std::chrono::steady_clock::now();
  int64_t n = 0;
  if (!copyInto(s, target, "replay", n)) return kFailed;
  std::cout << "replayed " << n << " events into " << mdc::sql::redactUri(target) << " in " << secondsSince(t0)
            << " s\n";
  return kOk;
}

int migrateStore(const std::string& from, const std::string& to) {
  const auto t0 = std::chrono::steady_clock::now();
  auto source = EventStore::open(from, /*readOnly=*/true);
  if (!source) {
    std::cerr << "cadctl: migrate: " << source.error().message << "\n";
    return kUnreachable;
  }
  if (auto broken = (*source)->log().verify()) {
    std::cerr << "cadctl: migrate: the source's chain is broken (" << *broken << "); nothing copied\n";
    return kFailed;
  }
  int64_t n = 0;
  if (!copyInto(**source, to, "migrate", n)) return kFailed;
  // What landed, read back from the target by a connection of its own.
  auto target = EventStore::open(to, /*readOnly=*/true);
  if (!target) {
    std::cerr << "cadctl: migrate: " << target.error().message << "\n";
    return kFailed;
  }
  int64_t checked = 0;
  if (auto broken = (*target)->log().verify(&checked)) {
    std::cerr << "cadctl: migrate: the target's chain is broken after the copy: " << *broken << "\n";
    return kFailed;
  }
  const std::string digest = (*source)->log().digest();
  if ((*target)->log().digest() != digest) {
    std::cerr << "cadctl: migrate: the target's read models differ from the source's (digest)\n";
    return kFailed;
  }
  std::cout << "migrated " << n << " events from " << mdc::sql::redactUri(from) << " to " << mdc::sql::redactUri(to)
            << " in " << secondsSince(t0) << " s: chain intact (" << checked << " events, "
            << (*target)->log().stats().chains << " chains), digest " << digest << " equal\n";
  return kOk;
}

int initCommand(Invocation& inv) { return initStore(inv.dbPath); }

int migrateCommand(Invocation& inv) {
  const Args& a = inv.a;
  if (a.pos.size() != 1 || !a.opts.count("--from") || !a.opts.count("--to"))
    return usage("migrate --from FILE|URI --to FILE|URI");
  return migrateStore(a.opts.at("--from"), a.opts.at("--to"));
}

int verifyCommand(Invocation& inv) { return withStore(inv, verifyStore); }

int digestCommand(Invocation& inv) { return withStore(inv, digestStore); }

int replayCommand(Invocation& inv) {
  return withStore(inv, [&](EventStore& s) {
    if (!inv.a.opts.count("--into")) return usage("replay --into FILE|URI");
    return replayStore(s, inv.a.opts.at("--into"));
  });
}

}  // namespace cad::cli
