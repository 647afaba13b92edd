#pragma once
// The setup most integration tests share: a real broker, the CAD stub (ready,
// with the device registered) and that device's agent, all processes in one
// temp dir of their own.
#include <chrono>
#include <string>
#include <vector>

#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"

namespace mdc::test {

/** Broker, stub and one vehicle. The agent is built but not started (tests
 *  start it when their scenario needs it). Not thread-safe. */
struct VehicleStack {
  /** Starts the broker and the stub and registers device for unit of agency;
   *  throws std::runtime_error naming what did not come up. */
  VehicleStack(std::string device, std::string unit, std::string agency, MosquittoOptions brokerOptions = {},
               std::vector<std::string> agentArgs = {}, std::vector<std::string> stubArgs = {});

  /** Starts the agent and waits until its link is online; throws with the agent's log when it is not. */
  void startAgentOnline(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  TempDir dir;
  Mosquitto broker;
  CadStub stub;
  AgentProcess agent;
};

}  // namespace mdc::test
