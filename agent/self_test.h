#pragma once
// The self-test's checks shared between its files (agent/self_test.cpp and
// agent/self_test_broker.cpp); mdc-provision calls provision::selfTest.
// Thread-safety: one run, one thread.
#include <optional>
#include <string>
#include <vector>

#include "agent/provision.h"

namespace mdc::provision {

// One self-test as it goes: the checks so far and what later ones need to know.
struct SelfTestRun {
  const SelfTestOptions& o;
  agent::AgentConfig cfg;
  std::vector<Check> checks;
  bool identityOk = false;
  std::optional<pki::CertInfo> cert;
  std::string certProblem;  // what the broker will say, in words

  /** Records one line of the checklist. */
  void add(std::string name, Level l, std::string detail) { checks.push_back({std::move(name), l, std::move(detail)}); }
};

/** 5. each broker of the list over TLS with this identity, 6. through it to
 *  the backend: a round trip of the self-test's own (its own client id, so a
 *  running agent's session is not taken over). */
void checkBrokers(SelfTestRun& r);

}  // namespace mdc::provision
