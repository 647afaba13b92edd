#pragma once
// A fleet deployment for the technician's tests: a fleet CA (cadctl ca init,
// or a TestPki's CA adopted as the fleet's), mosquitto configured by cadctl
// broker-config, the stub, and mdc-provision run against them.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "agent/config.h"
#include "shared/infra/files.h"
#include "shared/infra/mqtt.h"
#include "tests/support/process.h"
#include "tests/support/vehicle_stack.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace mdc::test {

using namespace std::chrono_literals;

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The line of a self-test's output for a check, e.g. "FAIL  broker  ...".
inline std::string line(const std::string& output, const std::string& check) {
  size_t pos = 0;
  while (pos < output.size()) {
    size_t end = output.find('\n', pos);
    std::string l = output.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (l.size() > 6 && l.compare(6, check.size() + 1, check + " ") == 0) return l;
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return "(no line for " + check + ")";
}

inline void copy(const std::string& from, const std::string& to) {
  auto c = files::read(from);
  REQUIRE(c.ok());
  REQUIRE(files::writeAtomic(to, *c, 0644).ok());
}

inline void setConfig(const std::string& path, const std::string& key, const std::string& value) {
  agent::AgentConfig cfg;
  REQUIRE(agent::loadConfigFile(path, cfg).ok());
  REQUIRE(cfg.set(key, value).ok());
  REQUIRE(files::writeAtomic(path, cfg.toJson(), 0644).ok());
}

// A deployment: fleet CA (cadctl ca init, or a TestPki's CA adopted as the
// fleet's), mosquitto configured by cadctl broker-config, and the stub.
struct Fleet {
  const TempDir& dir;
  std::string db, caDir, brokerConf;
  uint16_t port = 0;
  std::unique_ptr<Process> broker;
  std::unique_ptr<CadStub> stub;

  explicit Fleet(const TempDir& d, const TestPki* adopt = nullptr)
      : dir(d), db(d.file("cad.db")), caDir(d.file("fleet-ca")), brokerConf(d.file("broker/mosquitto.conf")) {
    if (adopt) {
      std::filesystem::create_directories(caDir);
      ::chmod(caDir.c_str(), 0755);
      copy(adopt->caFile(), caDir + "/ca.pem");
      copy(adopt->caKeyFile(), caDir + "/ca.key");
    } else {
      auto r = cadctl({"ca", "init", "--name", "FD1 fleet CA"});
      REQUIRE(r.exitCode == 0);
    }
    port = freeLoopbackPort();
    auto r = cadctl({"broker-config", "--out", brokerConf, "--port", std::to_string(port), "--bind", "127.0.0.1"});
    INFO(r.output);
    REQUIRE(r.exitCode == 0);
    startBroker();
  }
  ~Fleet() {
    stub.reset();
    if (broker) broker->stop(5s);
  }
  CommandResult cadctl(std::vector<std::string> args) const {
    std::vector<std::string> argv = {program("server-stub/cadctl"), "--db", db, "--ca-dir", caDir};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, dir);
  }
  std::string uri() const { return "ssl://127.0.0.1:" + std::to_string(port); }
  void startBroker() {
    broker = std::make_unique<Process>(std::vector<std::string>{"/usr/sbin/mosquitto", "-c", brokerConf},
                                       dir.file("mosquitto.log"));
    REQUIRE(waitForTcp(port, 10000));
  }
  void stopBroker() {
    broker->stop(5s);
    broker.reset();
  }
  void startStub(std::vector<std::string> extra = {}) {
    std::string b = dir.file("broker");
    std::vector<std::string> args = {"--tls-ca", caDir + "/ca.pem", "--tls-cert", b + "/cad-stub.pem", "--tls-key",
                                     b + "/cad-stub.key", "--ca-dir", caDir};
    args.insert(args.end(), extra.begin(), extra.end());
    stub = stubOn(dir, uri(), {.args = std::move(args), .env = stubEnv});
  }
  /** The environment of the next startStub(). */
  std::vector<std::pair<std::string, std::string>> stubEnv;
  // mdc-provision enroll, cadctl ca sign, mdc-provision install-cert: the device's directory.
  std::string enroll(const std::string& device, const std::string& unit, std::vector<std::string> extra = {},
                     bool reenrol = false) {
    std::string devDir = dir.file("dev-" + device);
    std::vector<std::string> argv = {program("agent/mdc-provision"), "--dir", devDir, "enroll", "--device-id", device,
                                     "--agency", "FD1", "--unit-id", unit, "--broker", uri(), "--store",
                                     devDir + "/agent.db", "--socket", devDir + "/agent.sock"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = run(argv, dir);
    INFO(r.output);
    REQUIRE(r.exitCode == 0);
    struct stat st {};
    REQUIRE(::stat((devDir + "/device.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    std::vector<std::string> sign = {"ca", "sign", devDir + "/device.csr", "--out", dir.file(device + "-signed.pem"),
                                     "--days", "90"};
    if (reenrol) sign.push_back("--reenrol");
    r = cadctl(sign);
    INFO(r.output);
    REQUIRE(r.exitCode == 0);
    r = provision(devDir, {"install-cert", dir.file(device + "-signed.pem"), caDir + "/ca.pem"});
    INFO(r.output);
    REQUIRE(r.exitCode == 0);
    return devDir;
  }
  CommandResult provision(const std::string& devDir, std::vector<std::string> args) const {
    std::vector<std::string> argv = {program("agent/mdc-provision"), "--dir", devDir};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, dir);
  }
  CommandResult selfTest(const std::string& devDir, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"self-test", "--timeout-s", "3"};
    args.insert(args.end(), extra.begin(), extra.end());
    return provision(devDir, args);
  }
};

inline mqtt::Options deviceClient(const Fleet& f, const std::string& devDir, const std::string& clientId) {
  mqtt::Options o;
  o.uri = f.uri();
  o.clientId = clientId;
  o.connectTimeoutS = 5;
  o.caFile = devDir + "/ca.pem";
  o.certFile = devDir + "/device.pem";
  o.keyFile = devDir + "/device.key";
  return o;
}

}  // namespace mdc::test
