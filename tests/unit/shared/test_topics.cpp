// MQTT topic names: built and parsed only by shared/topics, so that a broker
// ACL on cad/v1/dev/%u/# pins each device to its own topics.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "shared/wire/topics.h"

using namespace mdc;

TEST_CASE("topics: per-device names", "[topics]") {
  CHECK(topics::up("mdc-0042") == "cad/v1/dev/mdc-0042/up");
  CHECK(topics::down("mdc-0042") == "cad/v1/dev/mdc-0042/down");
  CHECK(topics::presence("mdc-0042") == "cad/v1/dev/mdc-0042/presence");
}

TEST_CASE("topics: backend subscriptions, plain and shared", "[topics]") {
  CHECK(topics::allUp() == "cad/v1/dev/+/up");
  CHECK(topics::allPresence() == "cad/v1/dev/+/presence");
  CHECK(topics::shared("group", topics::allUp()) == "$share/group/cad/v1/dev/+/up");
  CHECK(topics::shared("ingest", topics::allPresence()) == "$share/ingest/cad/v1/dev/+/presence");
}

TEST_CASE("topics: build then parse gives the device and the kind back", "[topics]") {
  for (const std::string& device :
       std::initializer_list<std::string>{"mdc-0042", "A", "Mdc_0042.fleet-B", std::string(64, 'x')}) {
    INFO(device);
    auto up = topics::parse(topics::up(device));
    REQUIRE(up.has_value());
    CHECK(up->deviceId == device);
    CHECK(up->kind == topics::Kind::Up);

    auto down = topics::parse(topics::down(device));
    REQUIRE(down.has_value());
    CHECK(down->deviceId == device);
    CHECK(down->kind == topics::Kind::Down);

    auto presence = topics::parse(topics::presence(device));
    REQUIRE(presence.has_value());
    CHECK(presence->deviceId == device);
    CHECK(presence->kind == topics::Kind::Presence);
  }
}

TEST_CASE("topics: parse refuses anything that is not exactly one of ours", "[topics]") {
  struct Bad {
    const char* what;
    std::string topic;
  };
  for (const auto& b : {
           Bad{"empty", ""},
           Bad{"the prefix alone", "cad/v1/dev/"},
           Bad{"no leaf", "cad/v1/dev/mdc-0042"},
           Bad{"empty leaf", "cad/v1/dev/mdc-0042/"},
           Bad{"other protocol version", "cad/v2/dev/mdc-0042/up"},
           Bad{"other root", "fleet/v1/dev/mdc-0042/up"},
           Bad{"other collection", "cad/v1/devices/mdc-0042/up"},
           Bad{"leading slash", "/cad/v1/dev/mdc-0042/up"},
           Bad{"prefix glued", "xcad/v1/dev/mdc-0042/up"},
           Bad{"upper-case prefix", "CAD/v1/dev/mdc-0042/up"},
           Bad{"shared subscription form", "$share/group/cad/v1/dev/mdc-0042/up"},
           Bad{"empty device", "cad/v1/dev//up"},
           Bad{"wildcard +", "cad/v1/dev/+/up"},
           Bad{"wildcard #", "cad/v1/dev/#/up"},
           Bad{"multi-level wildcard leaf", "cad/v1/dev/mdc-0042/#"},
           Bad{"device with a space", "cad/v1/dev/mdc 0042/up"},
           Bad{"device .", "cad/v1/dev/./up"},
           Bad{"device ..", "cad/v1/dev/../up"},
           Bad{"device of 65 characters", "cad/v1/dev/" + std::string(65, 'x') + "/up"},
           Bad{"unknown leaf", "cad/v1/dev/mdc-0042/status"},
           Bad{"upper-case leaf", "cad/v1/dev/mdc-0042/Up"},
           Bad{"leaf with a trailing slash", "cad/v1/dev/mdc-0042/up/"},
           Bad{"extra segment", "cad/v1/dev/mdc-0042/up/extra"},
           Bad{"device path of two segments", "cad/v1/dev/fleet/mdc-0042/up"},
           Bad{"NUL inside", std::string("cad/v1/dev/mdc\0x/up", 19)},
       }) {
    INFO(b.what << ": " << b.topic);
    CHECK_FALSE(topics::parse(b.topic).has_value());
  }
}

TEST_CASE("topics: device ids are 1..64 characters of A-Z a-z 0-9 . _ -", "[topics]") {
  CHECK(topics::isValidDeviceId("mdc-0042"));
  CHECK(topics::isValidDeviceId("x"));
  CHECK(topics::isValidDeviceId(std::string(64, 'x')));
  CHECK(topics::isValidDeviceId("a.b_c-D9"));
  CHECK(topics::isValidDeviceId("..."));  // only "." and ".." are path names

  CHECK_FALSE(topics::isValidDeviceId(""));
  CHECK_FALSE(topics::isValidDeviceId(std::string(65, 'x')));
  CHECK_FALSE(topics::isValidDeviceId("."));
  CHECK_FALSE(topics::isValidDeviceId(".."));
  for (const char* bad : {"mdc/0042", "mdc+", "mdc#", "mdc 42", "mdc$", "mdc\\42", "mdc:42", "mdc*", "mdcé"}) {
    INFO(bad);
    CHECK_FALSE(topics::isValidDeviceId(bad));
  }
  CHECK_FALSE(topics::isValidDeviceId(std::string("mdc\0", 4)));
}

TEST_CASE("topics: an edge watcher's liveness topic names its edge, and nothing else parses as one", "[topics]") {
  CHECK(topics::edgeLiveness("edge1") == "cad/v1/edge/edge1/liveness");
  CHECK(topics::allEdgeLiveness() == "cad/v1/edge/+/liveness");
  CHECK(topics::parseEdgeLiveness("cad/v1/edge/edge1/liveness") == std::optional<std::string>("edge1"));
  for (const std::string& bad : std::vector<std::string>{"cad/v1/edge//liveness", "cad/v1/edge/liveness", "cad/v1/edge/a/b/liveness",
                                "cad/v1/edge/+/liveness", "cad/v1/edge/e1/liveness/", "cad/v1/dev/e1/liveness",
                                "cad/v1/edge/e1/up", std::string("cad/v1/edge/e\0/liveness", 24)}) {
    INFO(bad);
    CHECK_FALSE(topics::parseEdgeLiveness(bad).has_value());
    CHECK_FALSE(topics::parse(bad).has_value());
  }
}
