// UUIDv7 event ids: canonical form, version and variant bits, and strict
// ordering from one generator whatever the wall clock does.
#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "shared/wire/clock.h"
#include "shared/wire/uuid.h"

using namespace mdc;

namespace {
constexpr int64_t kT = 1'767'256'200'000;  // 2026-01-01T08:30:00.000Z = 0x019b78ad9340

/** The 12-bit rand_a field (the counter within a millisecond). */
int counterOf(const std::string& id) { return std::stoi(id.substr(15, 3), nullptr, 16); }
}  // namespace

TEST_CASE("uuid: canonical lower-case text with version 7 and variant 10", "[uuid]") {
  ManualClock clock(kT);
  UuidV7Generator gen(clock);
  const std::regex shape("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 1000; ++i) {
    std::string id = gen.next();
    INFO(id);
    REQUIRE(id.size() == 36);
    REQUIRE(std::regex_match(id, shape));
    REQUIRE(isUuidV7(id));
  }
}

TEST_CASE("uuid: the first 48 bits are the clock's Unix milliseconds", "[uuid]") {
  ManualClock clock(kT);
  UuidV7Generator gen(clock);
  std::string id = gen.next();
  CHECK(id.substr(0, 13) == "019b78ad-9340");
  CHECK(uuidV7TimeMs(id) == kT);
  CHECK(counterOf(id) == 0);

  clock.advance(1500);
  std::string later = gen.next();
  CHECK(later.substr(0, 13) == "019b78ad-991c");
  CHECK(uuidV7TimeMs(later) == kT + 1500);
  CHECK(counterOf(later) == 0);  // a new millisecond restarts the counter

  CHECK(uuidV7TimeMs("00000000-0000-7000-8000-000000000000") == 0);
  CHECK(uuidV7TimeMs("FFFFFFFF-FFFF-7FFF-BFFF-FFFFFFFFFFFF") == 0xffffffffffff);
  CHECK(uuidV7TimeMs("019B78AD-9340-7000-8000-000000000000") == kT);
}

TEST_CASE("uuid: 100,000 ids in one millisecond are strictly increasing", "[uuid]") {
  ManualClock clock(kT);  // never advanced
  UuidV7Generator gen(clock);
  std::vector<std::string> ids;
  ids.reserve(100'000);
  for (int i = 0; i < 100'000; ++i) ids.push_back(gen.next());

  for (size_t i = 1; i < ids.size(); ++i) {
    if (!(ids[i - 1] < ids[i])) FAIL("id " << i << " " << ids[i] << " is not after " << ids[i - 1]);
  }
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 100'000);

  // The 12-bit counter runs 0..4095, then the generator borrows the next
  // millisecond: 100,000 ids span kT .. kT+24.
  CHECK(counterOf(ids[0]) == 0);
  CHECK(counterOf(ids[1]) == 1);
  CHECK(counterOf(ids[4095]) == 4095);
  CHECK(uuidV7TimeMs(ids[4095]) == kT);
  CHECK(uuidV7TimeMs(ids[4096]) == kT + 1);
  CHECK(counterOf(ids[4096]) == 0);
  CHECK(uuidV7TimeMs(ids[99'999]) == kT + 99'999 / 4096);
  CHECK(counterOf(ids[99'999]) == 99'999 % 4096);
}

TEST_CASE("uuid: ids keep increasing when the wall clock steps back", "[uuid]") {
  ManualClock clock(kT);
  UuidV7Generator gen(clock);
  clock.advance(60'000);
  std::string before = gen.next();
  REQUIRE(uuidV7TimeMs(before) == kT + 60'000);

  clock.setWall(kT);  // NTP steps the clock back one minute
  std::string prev = before;
  for (int i = 0; i < 10'000; ++i) {
    std::string id = gen.next();
    if (!(prev < id)) FAIL("after the step back, " << id << " is not after " << prev);
    prev = id;
  }
  // It kept the last timestamp and counted on (borrowing 2 ms for 10,000 ids).
  CHECK(uuidV7TimeMs(prev) == kT + 60'000 + 10'000 / 4096);

  clock.setWall(kT + 120'000);  // the clock catches up and passes
  std::string after = gen.next();
  CHECK(prev < after);
  CHECK(uuidV7TimeMs(after) == kT + 120'000);
  CHECK(counterOf(after) == 0);
}

TEST_CASE("uuid: two generators in the same millisecond do not collide", "[uuid]") {
  ManualClock clock(kT);
  UuidV7Generator a(clock), b(clock);
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    ids.insert(a.next());
    ids.insert(b.next());
  }
  CHECK(ids.size() == 2000);  // same time and counter; the 62 random bits differ
}

TEST_CASE("uuid: one generator shared by 4 threads", "[uuid]") {
  ManualClock clock(kT);
  UuidV7Generator gen(clock);
  std::vector<std::vector<std::string>> perThread(4);
  std::vector<std::thread> threads;
  for (auto& out : perThread) {
    threads.emplace_back([&gen, &out] {
      for (int i = 0; i < 10'000; ++i) out.push_back(gen.next());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& out : perThread) {
    for (size_t i = 1; i < out.size(); ++i) REQUIRE(out[i - 1] < out[i]);
    all.insert(out.begin(), out.end());
  }
  CHECK(all.size() == 40'000);
}

TEST_CASE("uuid: isUuidV7 accepts only canonical version-7 variant-10 text", "[uuid]") {
  CHECK(isUuidV7("019b78ad-9340-7000-8000-000000000000"));
  CHECK(isUuidV7("019b78ad-9340-7fff-bfff-ffffffffffff"));
  CHECK(isUuidV7("019B78AD-9340-7ABC-9DEF-0123456789AB"));  // upper case is canonical too

  struct Bad {
    const char* what;
    const char* text;
  };
  for (const auto& b : {
           Bad{"empty", ""},
           Bad{"version 4", "550e8400-e29b-41d4-a716-446655440000"},
           Bad{"version 1", "c232ab00-9414-11ec-b3c8-9f6bdeced846"},
           Bad{"version 8", "019b78ad-9340-8000-8000-000000000000"},
           Bad{"nil UUID", "00000000-0000-0000-0000-000000000000"},
           Bad{"variant 0xxx", "019b78ad-9340-7000-7000-000000000000"},
           Bad{"variant 110x (Microsoft)", "019b78ad-9340-7000-c000-000000000000"},
           Bad{"variant 111x", "019b78ad-9340-7000-f000-000000000000"},
           Bad{"35 characters", "019b78ad-9340-7000-8000-00000000000"},
           Bad{"37 characters", "019b78ad-9340-7000-8000-0000000000000"},
           Bad{"no dashes", "019b78ad93407000800000000000000000"},
           Bad{"dash moved", "019b78a-d9340-7000-8000-000000000000"},
           Bad{"underscores for dashes", "019b78ad_9340_7000_8000_000000000000"},
           Bad{"non-hex g", "019b78ag-9340-7000-8000-000000000000"},
           Bad{"braces", "{019b78ad-9340-7000-8000-0000000000}"},
           Bad{"urn prefix", "urn:uuid:019b78ad-9340-7000-8000-0000"},
           Bad{"space", "019b78ad-9340-7000-8000-00000000000 "},
       }) {
    INFO(b.what << ": " << b.text);
    CHECK_FALSE(isUuidV7(b.text));
  }
}
