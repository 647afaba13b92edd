// makeGpsSource: the configured kind gives that source with its options.
#include <catch2/catch.hpp>

#include "hw/gps_source_factory.h"
#include "tests/support/gpsd.h"

using namespace mdc::hw;

TEST_CASE("gps source: gpsd is made with its host and port", "[gps-factory]") {
  GpsSourceConfig config;
  config.kind = "gpsd";
  config.gpsd.host = "10.1.2.3";
  config.gpsd.port = 2999;
  auto source = makeGpsSource(config);
  REQUIRE(dynamic_cast<GpsdSource*>(source.get()) != nullptr);
  CHECK(source->describe() == "gpsd 10.1.2.3:2999");
}

TEST_CASE("gps source: the simulator is made with its seed, its speed-up and the clock", "[gps-factory]") {
  mdc::ManualClock clock(1'800'000'000'000);
  GpsSourceConfig config;
  config.kind = "simulator";
  config.simulator.seed = 7;
  config.simulator.speedup = 4;
  auto source = makeGpsSource(config, clock);
  auto* simulator = dynamic_cast<RouteSimulator*>(source.get());
  REQUIRE(simulator != nullptr);
  CHECK(source->describe() == "simulator seed 7, 1 Hz, x4");
  // Without a start time the drive starts at the clock's now.
  CHECK(simulator->next().timeMs == 1'800'000'000'000);
  // The same seed gives the same drive as a simulator made by hand.
  RouteSimulator byHand(config.simulator, clock);
  byHand.next();
  Fix a = simulator->next(), b = byHand.next();
  CHECK(a.lat == b.lat);
  CHECK(a.lon == b.lon);
}

TEST_CASE("gps source: a replay is made with its log and its pace", "[gps-factory]") {
  GpsSourceConfig config;
  config.kind = "replay";
  config.replay.path = mdc::test::gpsDataDir() + "/bu353s4.log";
  config.replay.speedup = 10;
  auto source = makeGpsSource(config);
  auto* replay = dynamic_cast<LogReplaySource*>(source.get());
  REQUIRE(replay != nullptr);
  CHECK(source->describe() == "replay " + config.replay.path + " x10");
  CHECK(replay->fixes().size() == LogReplaySource(config.replay).fixes().size());
  CHECK(!replay->fixes().empty());
}

TEST_CASE("gps source: no source for none or an unknown kind, and an unreadable log is a start-up error",
          "[gps-factory]") {
  GpsSourceConfig config;
  CHECK(makeGpsSource(config) == nullptr);
  config.kind = "none";
  CHECK(makeGpsSource(config) == nullptr);
  config.kind = "replay";
  config.replay.path = "/nonexistent/x.log";
  CHECK_THROWS_WITH(makeGpsSource(config), "replay: cannot open \"/nonexistent/x.log\"");
}
