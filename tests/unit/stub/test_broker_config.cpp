// cadctl broker-config's files: what mosquitto is told, and who may read what.
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "server-stub/service/broker_config.h"
#include "shared/infra/files.h"
#include "shared/infra/pki.h"
#include "tests/support/temp_dir.h"

namespace {
unsigned modeOf(const std::string& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}
}  // namespace

TEST_CASE("broker-config writes TLS with client certificates, identity as user name, CRL and a per-device ACL") {
  mdc::test::TempDir dir;
  REQUIRE(mdc::pki::FleetCa::init(dir.file("ca"), "T fleet").ok());
  cad::BrokerConfigOptions o;
  o.outFile = dir.file("broker/mosquitto.conf");
  o.port = 18999;
  o.bind = "127.0.0.1";
  o.caDir = dir.file("ca");
  auto f = cad::writeBrokerConfig(o);
  REQUIRE(f.ok());
  auto conf = mdc::files::read(f->config);
  REQUIRE(conf.ok());
  for (const char* want : {"listener 18999 127.0.0.1\n", "require_certificate true\n",
                           "use_identity_as_username true\n", "allow_anonymous false\n", "crlfile ", "acl_file ",
                           "max_packet_size 263168\n",
                           // 1,000 devices' windows at once in the stub's session, and the drop count heard
                           "max_queued_messages 260000\n", "sys_interval 5\n"})
    CHECK_THAT(*conf, Catch::Contains(want));
  auto acl = mdc::files::read(f->acl);
  REQUIRE(acl.ok());
  CHECK_THAT(*acl, Catch::Contains("pattern write cad/v1/dev/%u/up\npattern write cad/v1/dev/%u/presence\n"
                                    "pattern write cad/v1/dev/%u/beat\npattern read cad/v1/dev/%u/down\n"));
  CHECK_THAT(*acl, !Catch::Contains("pattern readwrite"));
  CHECK_THAT(*acl, Catch::Contains("user cad-stub\ntopic readwrite cad/v1/#"));
  CHECK_THAT(*acl, Catch::Contains("topic read $SYS/broker/publish/messages/dropped\n"));
  CHECK(cad::brokerQueuedMessages(12000) == 3120000);
  CHECK(cad::brokerQueuedMessages(1) == 1000);  // never below mosquitto's own default
  CHECK(modeOf(f->serverCert) == 0644);
  CHECK(modeOf(f->serverKey) == 0600);
  CHECK(modeOf(dir.file("broker")) == 0755);
  auto stub = mdc::pki::readCert(f->stubCert);
  REQUIRE(stub.ok());
  CHECK(stub->subjectCn == "cad-stub");
  auto chain = mdc::pki::verifyChain(f->stubCert, dir.file("ca/ca.pem"), dir.file("ca/crl.pem"));
  REQUIRE(chain.ok());
  CHECK(chain->verdict == mdc::pki::ChainVerdict::Ok);
}

TEST_CASE("broker-config without a CA says how to make one") {
  mdc::test::TempDir dir;
  cad::BrokerConfigOptions o;
  o.outFile = dir.file("mosquitto.conf");
  o.caDir = dir.file("none");
  auto f = cad::writeBrokerConfig(o);
  REQUIRE_FALSE(f.ok());
  CHECK_THAT(f.error().message, Catch::Contains("cadctl ca init"));
}

TEST_CASE("broker-config --edge bridges the devices' topics to the backbone, and bad addresses write nothing") {
  mdc::test::TempDir dir;
  REQUIRE(mdc::pki::FleetCa::init(dir.file("ca"), "T fleet").ok());
  cad::BrokerConfigOptions o;
  o.outFile = dir.file("edge1/mosquitto.conf");
  o.port = 18998;
  o.caDir = dir.file("ca");
  o.edgeName = "edge1";
  o.bridgeTo = {"tcp://127.0.0.1:1884", "tcp://127.0.0.1:1885", "tcp://127.0.0.1:1886"};
  auto f = cad::writeBrokerConfig(o);
  REQUIRE(f.ok());
  auto conf = mdc::files::read(f->config);
  REQUIRE(conf.ok());
  // The edge keeps the single broker's TLS and per-device ACL.
  for (const char* want : {"require_certificate true\n", "use_identity_as_username true\n", "acl_file "})
    CHECK_THAT(*conf, Catch::Contains(want));
  for (const char* want :
       {"connection edge1\n", "address 127.0.0.1:1884 127.0.0.1:1885 127.0.0.1:1886\n", "round_robin true\n",
        "try_private false\n", "bridge_protocol_version mqttv311\n", "cleansession false\n",
        "remote_clientid mdc-edge-edge1\n", "topic cad/v1/dev/+/up out 1\n", "topic cad/v1/dev/+/presence out 1\n",
        "topic cad/v1/edge/edge1/liveness out 1\n", "topic cad/v1/dev/+/down in 1\n", "max_inflight_messages 1000\n"})
    CHECK_THAT(*conf, Catch::Contains(want));
  CHECK_THAT(*conf, !Catch::Contains("bridge_cafile"));
  CHECK_THAT(*conf, !Catch::Contains("/beat out"));  // heartbeats stay on the edge

  o.bridgeTo = {"ssl://mq1.example:8883"};
  auto tls = cad::bridgeSection("edge2", o.bridgeTo, "/etc/mdc/ca.pem");
  REQUIRE(tls.ok());
  CHECK_THAT(*tls, Catch::Contains("address mq1.example:8883\n") && Catch::Contains("bridge_cafile /etc/mdc/ca.pem\n"));

  struct Bad {
    std::string edge;
    std::vector<std::string> to;
    const char* expect;
  };
  const Bad bad[] = {
      {"edge 1", {"tcp://a:1"}, "broker-config: --edge \"edge 1\": expected 1-64 letters, digits, - or _"},
      {"e", {}, "broker-config: --edge e needs --bridge-to URI[,URI...]"},
      {"e", {"mqtt://a:1"}, "broker-config: --bridge-to \"mqtt://a:1\": scheme must be tcp:// or ssl://"},
      {"e", {"tcp://a:1", "ssl://b:2"}, "broker-config: --bridge-to \"ssl://b:2\": every address must use the same scheme"},
      {"e", {"tcp://a"}, "broker-config: --bridge-to \"tcp://a\": expected host:port (port 1-65535)"},
      {"e", {"tcp://a:70000"}, "broker-config: --bridge-to \"tcp://a:70000\": expected host:port (port 1-65535)"},
      {"", {"tcp://a:1"}, "broker-config: --edge \"\": expected 1-64 letters, digits, - or _"},
  };
  for (const auto& b : bad) {
    cad::BrokerConfigOptions w = o;
    w.outFile = dir.file("bad/mosquitto.conf");
    w.edgeName = b.edge;
    w.bridgeTo = b.to;
    auto r = cad::writeBrokerConfig(w);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == b.expect);
    CHECK_FALSE(std::filesystem::exists(dir.file("bad")));  // nothing written
  }
}
