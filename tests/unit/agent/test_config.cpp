// The agent's configuration: every key checked, errors name key and value.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>

#include "agent/config.h"
#include "tests/support/temp_dir.h"

using namespace mdc::agent;

TEST_CASE("config errors name the key and the value", "[config]") {
  AgentConfig c;
  struct Case {
    const char* key;
    const char* value;
    const char* expect;
  };
  const Case cases[] = {
      {"broker", "mqtts://x:99999", "config: broker \"mqtts://x:99999\": scheme must be tcp:// or ssl://"},
      {"broker", "tcp://x:99999", "config: broker \"tcp://x:99999\": port out of range 1-65535"},
      {"broker", "tcp://x", "config: broker \"tcp://x\": expected host:port"},
      {"broker", "tcp://a:1883,tcp://b", "config: broker \"tcp://b\": expected host:port"},
      {"broker", "tcp://a:1883,", "config: broker \"\": scheme must be tcp:// or ssl://"},
      {"broker", "tcp://a:1883,tcp://a:1883",
       "config: broker \"tcp://a:1883,tcp://a:1883\": \"tcp://a:1883\" is listed twice"},
      {"broker", "ssl://a:8883,tcp://b:1883",
       "config: broker \"ssl://a:8883,tcp://b:1883\": every broker must use the same scheme"},
      {"link.mqtt_version", "3", "config: link.mqtt_version \"3\": must be 5 or 3.1.1"},
      {"link.mqtt_version", "3.1", "config: link.mqtt_version \"3.1\": must be 5 or 3.1.1"},
      {"link.window", "0", "config: link.window \"0\": out of range 1-4096"},
      {"link.window", "12x", "config: link.window \"12x\": not a whole number"},
      {"store.cap_bytes", "1000", "config: store.cap_bytes \"1000\": out of range 65536-1099511627776"},
      {"device_id", "car/7", "config: device_id \"car/7\": must be 1-64 characters of A-Z a-z 0-9 . _ -"},
      {"gps.source", "glonass", "config: gps.source \"glonass\": must be none, gpsd, simulator or replay"},
      {"avl.distance_m", "0.5", "config: avl.distance_m \"0.5\": out of range"},
      {"inputs.emergency_code", "KEY_NOPE", "config: inputs.emergency_code \"KEY_NOPE\": not a key or switch code"},
      {"log_level", "loud", "config: log_level \"loud\": must be debug, info, warn or error"},
      {"no.such", "1", "config: unknown key \"no.such\""},
  };
  for (const auto& k : cases) {
    INFO(k.key << "=" << k.value);
    AgentConfig before = c;
    auto s = c.set(k.key, k.value);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::StartsWith(k.expect));
    CHECK(c.toJson() == before.toJson());  // nothing changed
  }
}

TEST_CASE("required keys and cross-field rules are checked at start", "[config]") {
  AgentConfig c;
  CHECK_THAT(c.validate().error().message, Catch::Contains("device_id is required"));
  REQUIRE(c.set("device_id", "MDC-1").ok());
  REQUIRE(c.set("unit_id", "E12").ok());
  REQUIRE(c.set("agency", "FD1").ok());
  CHECK(c.validate().ok());
  REQUIRE(c.set("broker", "ssl://cad.example:8883").ok());
  CHECK_THAT(c.validate().error().message, Catch::Contains("tls.ca") && Catch::Contains("ssl://"));
  REQUIRE(c.set("broker", "tcp://cad.example:1883").ok());
  REQUIRE(c.set("link.backoff_initial_ms", "5000").ok());
  REQUIRE(c.set("link.backoff_max_ms", "1000").ok());
  CHECK_THAT(c.validate().error().message, Catch::Contains("link.backoff_max_ms \"1000\""));
}

TEST_CASE("a config file is read, nested keys flattened, and a bad value names the file", "[config]") {
  mdc::test::TempDir dir;
  std::string path = dir.file("agent.json");
  std::ofstream(path) << R"({"device_id": "MDC-9", "unit_id": "M3", "agency": "EMS",
    "store": {"path": "/tmp/x.db", "cap_bytes": 1048576}, "link": {"window": 128}})";
  AgentConfig c;
  REQUIRE(loadConfigFile(path, c).ok());
  CHECK(c.deviceId == "MDC-9");
  CHECK(c.storePath == "/tmp/x.db");
  CHECK(c.storeCapBytes == 1048576);
  CHECK(c.window == 128);
  CHECK(c.validate().ok());

  std::ofstream(path) << R"({"link": {"window": 1.5}})";
  auto s = loadConfigFile(path, c);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("link.window") && Catch::Contains("not a whole number") &&
                                    Catch::Contains(path));
  std::ofstream(path) << "{not json";
  CHECK_THAT(loadConfigFile(path, c).error().message, Catch::Contains("not valid JSON"));
  CHECK_THAT(loadConfigFile(dir.file("missing.json"), c).error().message, Catch::Contains("missing.json"));
}

TEST_CASE("a broker list names a cluster's nodes in order, as text or as a JSON array", "[config]") {
  AgentConfig c;
  CHECK(c.brokers() == std::vector<std::string>{"tcp://127.0.0.1:1883"});
  REQUIRE(c.set("broker", "tcp://a:1883, tcp://b:1884 ,tcp://c:1885").ok());
  CHECK(c.brokers() == std::vector<std::string>{"tcp://a:1883", "tcp://b:1884", "tcp://c:1885"});
  std::string many;
  for (int i = 0; i < 17; ++i) many += (i ? "," : "") + std::string("tcp://n") + std::to_string(i) + ":1883";
  CHECK_THAT(c.set("broker", many).error().message, Catch::Contains("at most 16 brokers"));
  CHECK(c.brokers().size() == 3);  // unchanged

  mdc::test::TempDir dir;
  const std::string path = dir.file("agent.json");
  std::ofstream(path) << R"({"device_id": "MDC-9", "unit_id": "M3", "agency": "EMS",
    "broker": ["ssl://n1:8883", "ssl://n2:8883"], "tls": {"ca": "ca.pem", "cert": "c.pem", "key": "k.pem"},
    "link": {"mqtt_version": "3.1.1"}})";
  AgentConfig f;
  REQUIRE(loadConfigFile(path, f).ok());
  CHECK(f.brokers() == std::vector<std::string>{"ssl://n1:8883", "ssl://n2:8883"});
  CHECK(f.mqttVersion == "3.1.1");
  CHECK(f.validate().ok());
  // --print-config writes the list back as an array, which reads back the same.
  std::ofstream(path) << f.toJson();
  AgentConfig g;
  REQUIRE(loadConfigFile(path, g).ok());
  CHECK(g.brokers() == f.brokers());
  CHECK(g.mqttVersion == "3.1.1");

  std::ofstream(path) << R"({"broker": []})";
  CHECK_THAT(loadConfigFile(path, g).error().message, Catch::Contains("broker: the list is empty"));
  std::ofstream(path) << R"({"broker": ["tcp://a:1883", 7]})";
  CHECK_THAT(loadConfigFile(path, g).error().message, Catch::Contains("every item must be a string"));
  CHECK(g.brokers() == f.brokers());
}

TEST_CASE("a fleet spreads evenly over its brokers, and a failed broker's devices spread evenly over the rest",
          "[config][brokers]") {
  const std::vector<std::string> edges = {"ssl://edge1:8883", "ssl://edge2:8883", "ssl://edge3:8883",
                                          "ssl://edge4:8883"};
  AgentConfig c;
  REQUIRE(c.set("broker", "ssl://edge1:8883,ssl://edge2:8883,ssl://edge3:8883,ssl://edge4:8883"));
  constexpr int kFleet = 12000;
  std::map<std::string, int> first;
  std::map<std::string, std::map<std::string, int>> nextAfter;  // first choice -> second choice -> devices
  for (int i = 0; i < kFleet; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "MDC-%05d", i);
    c.deviceId = id;
    const auto order = c.brokersInOrder();
    REQUIRE(order.size() == edges.size());
    REQUIRE(std::is_permutation(order.begin(), order.end(), edges.begin()));
    REQUIRE(c.brokersInOrder() == order);  // the same every time
    ++first[order[0]];
    ++nextAfter[order[0]][order[1]];
  }
  // 3,000 each expected; 5 % either way is far outside chance (sd about 47).
  for (const auto& e : edges) {
    INFO(e);
    CHECK(first[e] > 2850);
    CHECK(first[e] < 3150);
  }
  // The devices of one failed edge: about a third to each of the others.
  for (const auto& [failed, next] : nextAfter) {
    INFO("failed " << failed);
    CHECK(next.size() == 3);
    CHECK(next.count(failed) == 0);
    for (const auto& [to, n] : next) {
      INFO("to " << to);
      CHECK(std::abs(n - first[failed] / 3) < first[failed] / 3 / 10);  // within 10 % of a third
    }
  }
  // A single broker is the only choice.
  REQUIRE(c.set("broker", "tcp://127.0.0.1:1883"));
  CHECK(c.brokersInOrder() == std::vector<std::string>{"tcp://127.0.0.1:1883"});
}
