#pragma once
// The setup most integration tests share: a real broker, the CAD stub (ready)
// and the agents of the vehicles a test adds, all processes in one temp dir of
// their own.
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"
#include "tests/support/tcp_proxy.h"

namespace mdc::test {

/** How a test's stub differs from the stub as deployed on a SQLite store. */
struct StubOptions {
  // Each member has an initializer: a test names only the ones it sets ({.start = false}).
  std::vector<std::string> args{};                         ///< appended to its command line
  std::vector<std::pair<std::string, std::string>> env{};  ///< its environment (e.g. CAD_STUB_FAULT)
  std::string binary{};         ///< another cad-stub program (empty: this build's)
  std::string store{};          ///< a postgresql:// URI (empty: <name>.db in the stack's dir)
  std::string name = "cad";     ///< its files' names and client id in the stack's dir
  bool throughProxy = false;    ///< reach the broker through BackendStack::proxy, which can cut its link
  bool start = true;            ///< false: built, not started (the test works on its store first)
  std::chrono::milliseconds readyWithin = std::chrono::seconds(20);  ///< how long it may take to be ready
};

/** A stub on a broker the test does not own (a cluster's nodes, a fleet's own
 *  TLS broker), made as options say (throughProxy aside) and, unless
 *  options.start is false, started and ready; throws std::runtime_error with
 *  its log when it is not. */
std::unique_ptr<CadStub> stubOn(const TempDir& dir, const std::string& brokerUri, StubOptions options);

/** A broker and the CAD stub, started and ready (unless StubOptions::start is
 *  false), and the agents of the vehicles the test adds. Not thread-safe. */
struct BackendStack {
  /** Starts the broker and the stub; throws std::runtime_error naming what did not come up. */
  explicit BackendStack(MosquittoOptions brokerOptions = {}, StubOptions stubOptions = {});
  BackendStack(const BackendStack&) = delete;
  BackendStack& operator=(const BackendStack&) = delete;

  /** Registers device for unit of agency with the stub (throws when refused)
   *  and returns its agent on this broker, built but not started. */
  AgentProcess& addVehicle(const std::string& device, const std::string& unit, const std::string& agency,
                           std::vector<std::string> agentArgs = {});
  /** An agent on this broker for a device the stub may not know yet, built but not started. */
  AgentProcess& addAgent(const std::string& device, const std::string& unit, const std::string& agency,
                         std::vector<std::string> agentArgs = {});
  /** Starts the stub and waits until it is ready; throws with its log when it is not. */
  void startStubReady(std::chrono::milliseconds timeout);
  void startStubReady() { startStubReady(readyWithin_); }

  TempDir dir;
  Mosquitto broker;
  std::unique_ptr<TcpProxy> proxy;  ///< between the stub and the broker (StubOptions::throughProxy), else null
  CadStub stub;

 private:
  std::chrono::milliseconds readyWithin_ = std::chrono::seconds(20);  // StubOptions::readyWithin
  std::deque<AgentProcess> agents_;  // a deque: agents added later do not move the ones handed out
};

/** Broker, stub and one registered vehicle. The agent is built but not
 *  started (tests start it when their scenario needs it). Not thread-safe. */
struct VehicleStack : BackendStack {
  /** Starts the broker and the stub and registers device for unit of agency;
   *  throws std::runtime_error naming what did not come up. */
  VehicleStack(std::string device, std::string unit, std::string agency, MosquittoOptions brokerOptions = {},
               std::vector<std::string> agentArgs = {}, StubOptions stubOptions = {});

  /** Starts the agent and waits until its link is online; throws with the agent's log when it is not. */
  void startAgentOnline(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  AgentProcess agent;
};

}  // namespace mdc::test
