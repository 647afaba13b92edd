#pragma once
// What the cluster tests share: a name for each run (queues and client ids
// of earlier runs may still be on the cluster), and waiting for a fleet of
// agents to come online and to drain, saying where each stands when it did not.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "shared/wire/clock.h"
#include "tests/support/stack.h"

namespace mdc::test {

inline std::string uniqueRun(const std::string& prefix) {
  return prefix + std::to_string(SystemClock::instance().nowMs() % 100000000);
}

using Agents = std::vector<std::unique_ptr<AgentProcess>>;

/** Every agent online within timeout. */
inline bool allOnline(const Agents& agents, std::chrono::seconds timeout) {
  return waitUntil(
      [&] {
        for (const auto& a : agents)
          if (a->state().link() != v1::LINK_STATE_ONLINE) return false;
        return true;
      },
      timeout);
}

/** Every agent's outbox empty within timeout; when not, each agent's state
 *  and log tail, and the stubs' log tails, go into the test's report. */
inline bool drained(const Agents& agents, std::chrono::seconds timeout, const std::vector<const CadStub*>& stubs) {
  const bool done = waitUntil(
      [&] {
        for (const auto& a : agents)
          if (a->outboxDepth() != 0) return false;
        return true;
      },
      timeout);
  if (done) return true;
  for (size_t i = 0; i < agents.size(); ++i) {
    const auto st = agents[i]->state();
    const std::string log = agents[i]->log();
    UNSCOPED_INFO("agent " << i << ": outbox " << agents[i]->outboxDepth() << ", " << st.broker() << ", "
                           << st.link_detail() << "\n"
                           << log.substr(log.size() > 1500 ? log.size() - 1500 : 0));
  }
  for (const CadStub* s : stubs) {
    const std::string log = s->log();
    UNSCOPED_INFO("stub: " << log.substr(log.size() > 3000 ? log.size() - 3000 : 0));
  }
  return false;
}

}  // namespace mdc::test
