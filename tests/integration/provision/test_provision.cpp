// A fleet technician's work end to end: a fleet CA and a TLS mosquitto written
// by cadctl, devices enrolled with mdc-provision, the self-test's verdicts, wipe,
// and the agent's at-rest encryption under an edit with the sqlite3 shell.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <QJsonObject>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <thread>

#include "agent/config.h"
#include "mdc/v1/mdc.pb.h"
#include "shared/wire/codec.h"
#include "shared/infra/files.h"
#include "shared/infra/mqtt.h"
#include "shared/infra/pki.h"
#include "shared/wire/topics.h"
#include "shared/wire/uuid.h"
#include "tests/support/gpsd.h"
#include "tests/support/probes.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"
#include "tests/integration/provision/fleet.h"

using namespace std::chrono_literals;
using namespace mdc;
using namespace mdc::test;

namespace {

// NMEA with a checksum.
std::string nmea(const std::string& body) {
  unsigned char cs = 0;
  for (char c : body) cs ^= static_cast<unsigned char>(c);
  char buf[8];
  std::snprintf(buf, sizeof buf, "*%02X", cs);
  return "$" + body + buf;
}

// A log whose fixes say it is offsetS seconds from now (a GPS 10 minutes away
// from the system clock is the same as a system clock 10 minutes off).
std::string writeOffsetLog(const TempDir& dir, long offsetS) {
  std::string text = "# synthetic: fixes " + std::to_string(offsetS) + " s from the test's clock\n";
  std::time_t t0 = std::time(nullptr) + offsetS;
  for (int i = 0; i < 60; ++i) {
    std::time_t t = t0 + i;
    struct tm tm {};
    gmtime_r(&t, &tm);
    char hms[16], dmy[16];
    std::strftime(hms, sizeof hms, "%H%M%S.00", &tm);
    std::strftime(dmy, sizeof dmy, "%d%m%y", &tm);
    text += nmea(std::string("GPGGA,") + hms + ",4043.0000,N,07400.0000,W,1,08,0.9,10.0,M,-34.0,M,,") + "\n";
    text += nmea(std::string("GPRMC,") + hms + ",A,4043.0000,N,07400.0000,W,0.0,0.0," + dmy + ",,,A") + "\n";
  }
  std::string path = dir.file("offset.nmea");
  REQUIRE(files::writeAtomic(path, text, 0644).ok());
  return path;
}

}  // namespace

TEST_CASE("provision: a device enrolled against a broker configured by cadctl broker-config syncs end to end",
          "[provision]") {
  TempDir dir;
  Fleet fleet(dir);
  fleet.startStub();
  fleet.stub->addDevice("MDC-0001", "E12", "FD1");
  std::string dev = fleet.enroll("MDC-0001", "E12");

  auto show = fleet.provision(dev, {"show"});
  INFO(show.output);
  CHECK(contains(show.output, "CN=MDC-0001, issued by FD1 fleet CA"));
  CHECK(contains(show.output, "broker   " + fleet.uri()));

  auto st = fleet.selfTest(dev, {"--json"});
  INFO(st.output);
  CHECK(st.exitCode == 0);
  CHECK(contains(st.output, "\"ok\": true"));
  st = fleet.selfTest(dev);
  CHECK(contains(line(st.output, "broker"), "PASS"));
  CHECK(contains(line(st.output, "backend round trip"), "PASS"));

  AgentProcess agentProc(dir, "MDC-0001", "E12", "FD1", fleet.uri(), {"--config", dev + "/agent.json"});
  agentProc.start();
  for (const char* s : {"en-route", "on-scene", "available"}) REQUIRE(agentProc.mdcctl({"status", s}).exitCode == 0);
  auto synced = agentProc.mdcctl({"wait-synced", "--timeout", "20"});
  INFO(synced.output << agentProc.log());
  REQUIRE(synced.exitCode == 0);
  CHECK(fleet.stub->eventCount() >= 3);
  auto board = fleet.stub->cadctl({"board"});
  CHECK(contains(board.output, "AVAILABLE"));
}

TEST_CASE("provision: device A's certificate cannot write device B's topic and a forged device id is refused by the stub",
          "[provision]") {
  TempDir dir;
  Fleet fleet(dir);
  fleet.startStub();
  fleet.stub->addDevice("MDC-000A", "E1", "FD1");
  fleet.stub->addDevice("MDC-000B", "E2", "FD1");
  std::string a = fleet.enroll("MDC-000A", "E1");
  fleet.enroll("MDC-000B", "E2");

  MqttProbe probe;
  mqtt::Client client(deviceClient(fleet, a, "MDC-000A"), probe);
  REQUIRE(client.connect().ok());
  REQUIRE(probe.waitConnectOutcome(10s));
  REQUIRE(client.subscribe(topics::down("MDC-000A"), 1).ok());
  REQUIRE(probe.waitSubscribed(1));

  v1::Envelope env;
  env.set_version(1);
  env.set_event_id(UuidV7Generator().next());
  env.set_device_id("MDC-000B");  // claims to be B
  env.set_unit_id("E2");
  env.set_agency("FD1");
  env.set_seq(1);
  env.set_recorded_at_ms(SystemClock::instance().nowMs());
  env.set_clock_source(v1::CLOCK_SOURCE_SYSTEM);
  env.mutable_status()->set_status(v1::UNIT_STATUS_EN_ROUTE);
  auto bytes = codec::encodeEnvelope(env);
  REQUIRE(bytes.ok());

  // The broker: MQTT v5 PUBACK with 0x87 (not authorized) on B's topic.
  REQUIRE(client.publish(topics::up("MDC-000B"), *bytes, 1).ok());
  REQUIRE(probe.waitPublishResults(1));
  CHECK_FALSE(probe.publishResults()[0].first);
  CHECK(probe.publishResults()[0].second == 0x87);

  // Past the broker (A's own topic, B's id inside): the stub refuses it as wrong_device.
  REQUIRE(client.publish(topics::up("MDC-000A"), *bytes, 1).ok());
  REQUIRE(probe.waitMessages(1, 10s));
  auto dl = codec::decodeDownlink(probe.messages()[0].payload);
  REQUIRE(dl.ok());
  REQUIRE(dl->has_rejection());
  CHECK(dl->rejection().reason() == v1::REJECT_REASON_WRONG_DEVICE);
  auto events = fleet.stub->cadctl({"events"});
  INFO(events.output);
  CHECK_FALSE(contains(events.output, "EN_ROUTE"));  // neither copy was stored

  // Its own down topic is the backend's to write: refused by the broker, never delivered.
  REQUIRE(client.publish(topics::down("MDC-000A"), "forged commit ack", 1).ok());
  REQUIRE(probe.waitPublishResults(3));
  CHECK_FALSE(probe.publishResults()[2].first);
  CHECK(probe.publishResults()[2].second == 0x87);
  // Another device's down topic is not readable: mosquitto grants the
  // subscription but delivers nothing the ACL does not allow.
  REQUIRE(client.subscribe(topics::down("MDC-000B"), 1).ok());
  probe.waitSubscribed(2);
  REQUIRE(fleet.stub->cadctl({"--agency", "FD1", "--as", "alice", "message", "E2", "for B only"}).exitCode == 0);
  std::this_thread::sleep_for(1s);
  CHECK(probe.messages().size() == 1);  // only the stub's rejection above
  client.disconnect();
}

TEST_CASE("provision: the broker config caps packets at the codec's limit, an oversized one never reaches the stub",
          "[provision][broker]") {
  TempDir dir;
  Fleet fleet(dir);
  fleet.startStub();
  fleet.stub->addDevice("MDC-000A", "E1", "FD1");
  std::string a = fleet.enroll("MDC-000A", "E1");
  auto conf = files::read(fleet.brokerConf);
  REQUIRE(conf.ok());
  CHECK(contains(*conf, "max_packet_size 263168"));

  MqttProbe probe;
  mqtt::Client client(deviceClient(fleet, a, "MDC-000A"), probe);
  REQUIRE(client.connect().ok());
  REQUIRE(probe.waitConnectOutcome(10s));
  // Over the broker's cap: the broker disconnects the client, the stub sees nothing.
  (void)client.publish(topics::up("MDC-000A"), std::string(300 * 1024, 'x'), 1);
  auto brokerLog = [&] { return files::read(dir.file("mosquitto.log")).value(); };
  CHECK(waitUntil([&] { return contains(brokerLog(), "Client MDC-000A disconnected due to oversize packet"); }, 10s));
  std::this_thread::sleep_for(500ms);
  CHECK(fleet.stub->cadctl({"stats"}).output.find("\"received\": 0") != std::string::npos);
  CHECK(fleet.stub->eventCount() == 1);  // the registration only
  client.disconnect();
}

TEST_CASE("provision: the fleet CA signs only device ids: reserved names, bad ids and a second live certificate "
          "are refused", "[provision][ca]") {
  TempDir dir;
  Fleet fleet(dir);
  auto csrFor = [&](const std::string& cn) {
    const std::string key = dir.file("k-" + std::to_string(std::hash<std::string>()(cn)) + ".key");
    const std::string csr = key + ".csr";
    REQUIRE(pki::generateKey(key).ok());
    REQUIRE(pki::writeCsr(key, cn, csr).ok());
    return csr;
  };
  auto sign = [&](const std::string& csr, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"ca", "sign", csr, "--out", csr + ".pem"};
    args.insert(args.end(), extra.begin(), extra.end());
    return fleet.cadctl(args);
  };
  for (const std::string cn : {"cad-stub", "cad-stub-2", "mdc-broker"}) {
    auto r = sign(csrFor(cn));
    INFO(r.output);
    CHECK(r.exitCode != 0);
    CHECK(contains(r.output, "CN \"" + cn + "\" is reserved for the backend"));
  }
  auto bad = sign(csrFor("MDC 0001/#"));
  CHECK(bad.exitCode != 0);
  CHECK(contains(bad.output, "is not a device id"));

  auto first = sign(csrFor("MDC-0009"));
  INFO(first.output);
  REQUIRE(first.exitCode == 0);
  auto second = sign(csrFor("MDC-0009"));
  CHECK(second.exitCode != 0);
  CHECK(contains(second.output, "CN \"MDC-0009\" already has a live certificate"));
  CHECK(contains(second.output, "--reenrol"));
  // Explicit re-enrolment: the new certificate, the old one revoked.
  auto again = sign(csrFor("MDC-0009"), {"--reenrol"});
  INFO(again.output);
  REQUIRE(again.exitCode == 0);
  auto revoked = files::read(fleet.caDir + "/revoked.txt");
  REQUIRE(revoked.ok());
  CHECK_FALSE(revoked->empty());
}

TEST_CASE("provision: no, expired, foreign and revoked certificates are refused and self-test says which",
          "[provision]") {
  TempDir dir;
  TestPki pki(dir.path(), "fleet");  // adopted as the fleet CA, so it can make an expired certificate
  Fleet fleet(dir, &pki);
  std::string dev = fleet.enroll("MDC-0001", "E12");
  auto first = fleet.selfTest(dev);
  INFO(first.output);
  REQUIRE(first.exitCode == 1);  // the stub is not running: round trip fails
  CHECK(contains(line(first.output, "broker"), "PASS"));

  SECTION("no certificate") {
    std::remove((dev + "/device.pem").c_str());
    auto r = fleet.selfTest(dev);
    INFO(r.output);
    CHECK(r.exitCode == 1);
    CHECK(contains(line(r.output, "identity"), "FAIL  identity            no device certificate installed"));
    CHECK(contains(line(r.output, "broker"), "FAIL"));
    CHECK(contains(line(r.output, "broker"), "requires a device certificate"));
  }
  SECTION("expired certificate") {
    CertFiles old = pki.expiredClientCert("MDC-0001");
    copy(old.certFile, dev + "/device.pem");
    copy(old.keyFile, dev + "/device.key");
    auto r = fleet.selfTest(dev);
    INFO(r.output);
    CHECK(r.exitCode == 1);
    CHECK(contains(line(r.output, "certificate expiry"), "FAIL  certificate expiry  certificate expired on "));
    CHECK(contains(line(r.output, "broker"), "FAIL  broker              the broker refused this device: certificate expired on"));
    CHECK(contains(line(r.output, "broker"), "alert certificate expired"));
  }
  SECTION("certificate from another CA") {
    CertFiles foreign = pki.foreignClientCert("MDC-0001");
    copy(foreign.certFile, dev + "/device.pem");
    copy(foreign.keyFile, dev + "/device.key");
    auto r = fleet.selfTest(dev);
    INFO(r.output);
    CHECK(r.exitCode == 1);
    CHECK(contains(line(r.output, "certificate chain"), "FAIL  certificate chain   certificate not issued by this fleet's CA"));
    CHECK(contains(line(r.output, "broker"), "FAIL  broker              the broker refused this device: certificate not issued by this fleet's CA"));
  }
  SECTION("revoked certificate (cadctl ca revoke, broker restarted with the new CRL)") {
    auto r = fleet.cadctl({"ca", "revoke", "MDC-0001"});
    INFO(r.output);
    REQUIRE(r.exitCode == 0);
    fleet.stopBroker();
    fleet.startBroker();
    r = fleet.selfTest(dev);
    INFO(r.output);
    CHECK(r.exitCode == 1);
    CHECK(contains(line(r.output, "certificate chain"), "PASS"));  // the device has no CRL: only the broker knows
    CHECK(contains(line(r.output, "broker"), "FAIL  broker              the broker refused this device's certificate: it is revoked"));
    // With the fleet's CRL at hand the device's own check says it too.
    r = fleet.selfTest(dev, {"--crl", fleet.caDir + "/crl.pem"});
    CHECK(contains(line(r.output, "certificate chain"), "FAIL  certificate chain   certificate revoked by the fleet"));
    // And the real client is refused.
    MqttProbe probe;
    mqtt::Client client(deviceClient(fleet, dev, "MDC-0001"), probe);
    REQUIRE(client.connect().ok());
    probe.waitConnectOutcome(10s);
    CHECK(waitUntil([&] { return !client.isConnected(); }, 3s));
  }
}

TEST_CASE("provision: self-test names gpsd absent, broker absent, clock 10 minutes off, disk nearly full",
          "[provision]") {
  TempDir dir;
  Fleet fleet(dir);
  fleet.startStub();
  fleet.stub->addDevice("MDC-0001", "E12", "FD1");
  std::string dev = fleet.enroll("MDC-0001", "E12");
  std::string cfg = dev + "/agent.json";
  setConfig(cfg, "gps.source", "gpsd");

  SECTION("gpsd absent: a warning, the vehicle works without GPS") {
    setConfig(cfg, "gps.port", std::to_string(freeLoopbackPort()));
    auto r = fleet.selfTest(dev);
    INFO(r.output);
    CHECK(r.exitCode == 0);
    CHECK(contains(line(r.output, "gps"), "WARN  gps                 gpsd not reachable at 127.0.0.1:"));
  }
  SECTION("broker absent") {
    fleet.stub.reset();
    fleet.stopBroker();
    auto r = fleet.selfTest(dev);
    INFO(r.output);
    CHECK(r.exitCode == 1);
    CHECK(contains(line(r.output, "broker"), "FAIL  broker              broker not reachable at 127.0.0.1:" +
                                                 std::to_string(fleet.port) + " (connection refused)"));
  }
  SECTION("clock 10 minutes off GPS time") {
    GpsdFixtureOptions go;
    go.log = writeOffsetLog(dir, -600);
    go.loop = true;
    go.epochInterval = 100ms;
    Gpsd gpsd(dir, go);
    setConfig(cfg, "gps.port", std::to_string(gpsd.port()));
    auto r = fleet.selfTest(dev);
    INFO(r.output);
    CHECK(r.exitCode == 1);
    CHECK(contains(line(r.output, "gps"), "gpsd at 127.0.0.1:"));
    CHECK(contains(line(r.output, "gps"), " fix"));
    CHECK(contains(line(r.output, "clock"), "FAIL  clock               system clock is +"));
    CHECK(contains(line(r.output, "clock"), "from GPS time"));
  }
  SECTION("disk nearly full (threshold above the free space)") {
    auto r = fleet.selfTest(dev, {"--min-free-mb", std::to_string(1LL << 40)});
    INFO(r.output);
    CHECK(r.exitCode == 1);
    CHECK(contains(line(r.output, "disk"), "FAIL  disk                only "));
  }
}

TEST_CASE("provision: wipe refuses while unsent events remain, and says how many", "[provision]") {
  TempDir dir;
  Fleet fleet(dir);  // no stub: nothing gets committed
  std::string dev = fleet.enroll("MDC-0001", "E12");
  {
    AgentProcess agentProc(dir, "MDC-0001", "E12", "FD1", fleet.uri(), {"--config", dev + "/agent.json"});
    agentProc.start();
    for (const char* s : {"en-route", "on-scene", "available"}) REQUIRE(agentProc.mdcctl({"status", s}).exitCode == 0);
    agentProc.stop();
    // The fixture put the store beside the test; make the config say where it is.
    setConfig(dev + "/agent.json", "store.path", agentProc.storePath());
  }
  auto r = fleet.provision(dev, {"wipe"});
  INFO(r.output);
  CHECK(r.exitCode == 1);
  CHECK(contains(r.output, "refusing: 3 unsent events"));
  struct stat st {};
  CHECK(::stat((dev + "/device.key").c_str(), &st) == 0);
  r = fleet.provision(dev, {"wipe", "--force"});
  INFO(r.output);
  CHECK(r.exitCode == 0);
  CHECK(contains(r.output, "3 unsent events are lost"));
  CHECK(::stat((dev + "/device.key").c_str(), &st) != 0);
  CHECK(::stat((dev + "/agent.json").c_str(), &st) != 0);
  CHECK(::stat((dev + "/device.pem").c_str(), &st) != 0);
}

TEST_CASE("provision: a stored payload changed with the sqlite3 shell is detected, not sent", "[provision][atrest]") {
  TempDir dir;
  Fleet fleet(dir);
  std::string dev = fleet.enroll("MDC-0001", "E12");
  std::string storePath;
  {
    AgentProcess agentProc(dir, "MDC-0001", "E12", "FD1", fleet.uri(), {"--config", dev + "/agent.json"});
    agentProc.start();
    REQUIRE(agentProc.mdcctl({"status", "en-route"}).exitCode == 0);
    REQUIRE(agentProc.mdcctl({"status", "on-scene"}).exitCode == 0);
    storePath = agentProc.storePath();
    agentProc.stop();
  }
  // The first event (EN_ROUTE): the store numbers from its creation time.
  auto first = run({"/usr/bin/sqlite3", storePath, "SELECT MIN(seq) FROM outbox;"}, dir);
  REQUIRE(first.exitCode == 0);
  const std::string seq1 = first.output.substr(0, first.output.find('\n'));
  const std::string tampered = "outbox seq " + seq1 + ": stored payload fails authentication (tampered)";
  auto r = run({"/usr/bin/sqlite3", storePath,
                // One byte changed, whatever it was (the payload is encrypted: it may already be 5A).
                "UPDATE outbox SET payload = substr(payload,1,30) || CASE WHEN substr(payload,31,1)=X'5A' THEN X'A5' "
                "ELSE X'5A' END || substr(payload,32) WHERE seq=" + seq1 + ";"},
               dir);
  INFO(r.output);
  REQUIRE(r.exitCode == 0);
  r = run({program("agent/mdc-agent"), "--config", dev + "/agent.json", "--store", storePath, "--check-store"}, dir);
  INFO(r.output);
  CHECK(r.exitCode == 1);
  CHECK(contains(r.output, tampered));

  // Started with the stub, the agent delivers the second event and never the first.
  fleet.startStub();
  fleet.stub->addDevice("MDC-0001", "E12", "FD1");
  AgentProcess agentProc(dir, "MDC-0001", "E12", "FD1", fleet.uri(), {"--config", dev + "/agent.json"});
  agentProc.start();
  REQUIRE(waitUntil([&] { return contains(fleet.stub->cadctl({"board"}).output, "ON_SCENE"); }, 20s));
  std::this_thread::sleep_for(1s);
  // The second (ON_SCENE) was delivered; the edited first (EN_ROUTE) never left the device.
  auto events = fleet.stub->cadctl({"events"});
  INFO(events.output);
  CHECK(contains(events.output, "ON_SCENE"));
  CHECK_FALSE(contains(events.output, "EN_ROUTE"));
  CHECK(agentProc.outboxDepth() == 1);
  CHECK(contains(agentProc.log(), tampered));
}

TEST_CASE("provision: a device wiped and enrolled again under the same id goes on syncing, nothing refused",
          "[provision]") {
  TempDir dir;
  Fleet fleet(dir);
  fleet.startStub();
  fleet.stub->addDevice("MDC-0001", "E12", "FD1");
  std::string dev = fleet.enroll("MDC-0001", "E12");
  auto shift = [&](const std::vector<const char*>& statuses) {
    AgentProcess agentProc(dir, "MDC-0001", "E12", "FD1", fleet.uri(), {"--config", dev + "/agent.json"});
    agentProc.start();
    for (const char* s : statuses) REQUIRE(agentProc.mdcctl({"status", s}).exitCode == 0);
    auto synced = agentProc.mdcctl({"wait-synced", "--timeout", "20"});
    INFO(synced.output << agentProc.log());
    REQUIRE(synced.exitCode == 0);
    auto st = agentProc.state();
    CHECK(st.rejected_events() == 0);
    agentProc.stop();
    setConfig(dev + "/agent.json", "store.path", agentProc.storePath());
  };
  shift({"en-route", "on-scene", "available"});
  // The technician replaces the unit's MDC image: wipe, enrol again, same id.
  auto w = fleet.provision(dev, {"wipe"});
  INFO(w.output);
  REQUIRE(w.exitCode == 0);
  dev = fleet.enroll("MDC-0001", "E12", {}, true);  // explicit re-enrolment: the old certificate is revoked
  shift({"en-route", "on-scene", "transporting"});

  // Every status of both stores is in the log once, none refused as a seq conflict.
  int statuses = 0;
  for (const auto& e : jsonArray(fleet.stub->cadctl({"events", "--json"})))
    if (e.toObject().value("kind").toString() == "status") ++statuses;
  CHECK(statuses == 6);
  auto refusals = fleet.stub->cadctl({"refusals"});
  CHECK_FALSE(contains(refusals.output, "seq_conflict"));
  CHECK(contains(fleet.stub->cadctl({"board"}).output, "TRANSPORTING"));
}
