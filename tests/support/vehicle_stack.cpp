#include "tests/support/vehicle_stack.h"

#include <stdexcept>

#include "tests/support/process.h"

namespace mdc::test {

namespace {
std::unique_ptr<TcpProxy> proxyIf(bool wanted, const Mosquitto& broker) {
  return wanted ? std::make_unique<TcpProxy>(broker.port()) : nullptr;
}

/** Gives the stub what options say of its environment, program and store. */
void configure(CadStub& stub, StubOptions& options) {
  stub.env = std::move(options.env);
  stub.binary = std::move(options.binary);
  if (!options.store.empty()) stub.setStore(std::move(options.store));
}

void startReady(CadStub& stub, std::chrono::milliseconds timeout) {
  stub.start();
  if (!stub.waitReady(timeout)) throw std::runtime_error("cad-stub did not become ready:\n" + stub.log());
}
}  // namespace

std::unique_ptr<CadStub> stubOn(const TempDir& dir, const std::string& brokerUri, StubOptions options) {
  auto stub = std::make_unique<CadStub>(dir, brokerUri, options.name, std::move(options.args));
  configure(*stub, options);
  if (options.start) startReady(*stub, options.readyWithin);
  return stub;
}

BackendStack::BackendStack(MosquittoOptions brokerOptions, StubOptions stubOptions)
    : broker(dir, brokerOptions),
      proxy(proxyIf(stubOptions.throughProxy, broker)),
      stub(dir, proxy ? proxy->uri() : broker.uri(), stubOptions.name, std::move(stubOptions.args)) {
  readyWithin_ = stubOptions.readyWithin;
  configure(stub, stubOptions);
  if (stubOptions.start) startStubReady();
}

void BackendStack::startStubReady(std::chrono::milliseconds timeout) { startReady(stub, timeout); }

AgentProcess& BackendStack::addVehicle(const std::string& device, const std::string& unit, const std::string& agency,
                                       std::vector<std::string> agentArgs) {
  stub.addDevice(device, unit, agency);
  return addAgent(device, unit, agency, std::move(agentArgs));
}

AgentProcess& BackendStack::addAgent(const std::string& device, const std::string& unit, const std::string& agency,
                                     std::vector<std::string> agentArgs) {
  return agents_.emplace_back(dir, device, unit, agency, broker.uri(), std::move(agentArgs));
}

VehicleStack::VehicleStack(std::string device, std::string unit, std::string agency, MosquittoOptions brokerOptions,
                           std::vector<std::string> agentArgs, StubOptions stubOptions)
    : BackendStack(std::move(brokerOptions), std::move(stubOptions)),
      agent(dir, device, unit, agency, broker.uri(), std::move(agentArgs)) {
  stub.addDevice(device, unit, agency);
}

void VehicleStack::startAgentOnline(std::chrono::milliseconds timeout) {
  agent.start();
  if (!waitUntil([&] { return agent.state().link() == v1::LINK_STATE_ONLINE; }, timeout))
    throw std::runtime_error("the agent's link did not come online:\n" + agent.log());
}

}  // namespace mdc::test
