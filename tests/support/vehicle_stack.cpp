#include "tests/support/vehicle_stack.h"

#include <stdexcept>

#include "tests/support/process.h"

namespace mdc::test {

VehicleStack::VehicleStack(std::string device, std::string unit, std::string agency, MosquittoOptions brokerOptions,
                           std::vector<std::string> agentArgs, std::vector<std::string> stubArgs)
    : broker(dir, brokerOptions),
      stub(dir, broker.uri(), "cad", std::move(stubArgs)),
      agent(dir, device, unit, agency, broker.uri(), std::move(agentArgs)) {
  stub.start();
  if (!stub.waitReady()) throw std::runtime_error("cad-stub did not become ready:\n" + stub.log());
  stub.addDevice(device, unit, agency);
}

void VehicleStack::startAgentOnline(std::chrono::milliseconds timeout) {
  agent.start();
  if (!waitUntil([&] { return agent.state().link() == v1::LINK_STATE_ONLINE; }, timeout))
    throw std::runtime_error("the agent's link did not come online:\n" + agent.log());
}

}  // namespace mdc::test
