#include "tests/support/rabbit_cluster.h"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"

namespace mdc::test {

RabbitCluster::RabbitCluster(std::string dir) : dir_(std::move(dir)) {
  std::ifstream in(dir_ + "/cluster.env");
  if (!in) throw std::runtime_error("rabbitmq cluster: no " + dir_ + "/cluster.env (is scripts/cluster.sh up?)");
  for (std::string line; std::getline(in, line);)
    if (auto eq = line.find('='); eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
  for (int n = 1; n <= kNodes; ++n)
    if (!env_.count("RABBIT" + std::to_string(n) + "_MQTT"))
      throw std::runtime_error("rabbitmq cluster: " + dir_ + "/cluster.env names no MQTT port for node " +
                               std::to_string(n));
}

RabbitCluster RabbitCluster::ofTestGroup() {
  return RabbitCluster(env("MDC_TEST_CLUSTER_DIR"));
}

std::string RabbitCluster::mqttUri(int n) const {
  return "tcp://127.0.0.1:" + env_.at("RABBIT" + std::to_string(n) + "_MQTT");
}

std::string RabbitCluster::amqpUri(int n) const {
  return "amqp://guest:guest@127.0.0.1:" + env_.at("RABBIT" + std::to_string(n) + "_AMQP");
}

std::string RabbitCluster::setting(const std::string& key) const {
  auto it = env_.find(key);
  if (it == env_.end()) return "";
  std::string v = it->second;
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

std::string RabbitCluster::brokerList() const {
  std::string out;
  for (int n = 1; n <= kNodes; ++n) out += (n > 1 ? "," : "") + mqttUri(n);
  return out;
}

pid_t RabbitCluster::pid(int n) const {
  std::ifstream in(dir_ + "/rabbit" + std::to_string(n) + "/pid");
  long p = -1;
  if (!(in >> p) || p <= 0 || ::kill(pid_t(p), 0) != 0) return -1;
  return pid_t(p);
}

void RabbitCluster::kill9(int n) {
  const pid_t p = pid(n);
  if (p <= 0) throw std::runtime_error("rabbitmq cluster: node " + std::to_string(n) + " is not running");
  ::kill(p, SIGKILL);
  for (int i = 0; i < 100 && ::kill(p, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

void RabbitCluster::script(std::vector<std::string> args, std::chrono::seconds within) const {
  TempDir scratch;
  std::vector<std::string> argv{"bash", env("MDC_SOURCE_DIR") + "/scripts/cluster.sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--dir", dir_});
  auto r = run(argv, scratch, within);
  if (r.exitCode != 0) {
    std::string what;
    for (const auto& a : args) what += (what.empty() ? "" : " ") + a;
    throw std::runtime_error("rabbitmq cluster: " + what + " failed: " + r.output);
  }
}

void RabbitCluster::heal() { script({"heal"}, std::chrono::seconds(180)); }

void RabbitCluster::dropQueue(const std::string& name) { script({"drop-queue", name}, std::chrono::seconds(60)); }

ClusterRunGuard::~ClusterRunGuard() {
  try {
    cluster_.heal();
    for (const auto& queue : queues_) cluster_.dropQueue(queue);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
  }
}

}  // namespace mdc::test
