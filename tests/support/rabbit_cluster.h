#pragma once
// The RabbitMQ cluster a test group shares: three nodes started once by
// `scripts/cluster.sh up --no-stub` (a CTest fixture) in $MDC_TEST_CLUSTER_DIR,
// stopped by `scripts/cluster.sh down` after the group.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mdc::test {

class RabbitCluster {
 public:
  /** Reads <dir>/cluster.env; throws std::runtime_error when the cluster is not up. */
  explicit RabbitCluster(std::string dir);
  /** The cluster of this test group ($MDC_TEST_CLUSTER_DIR). */
  static RabbitCluster ofTestGroup();

  static constexpr int kNodes = 3;
  /** "tcp://127.0.0.1:PORT": node n's MQTT listener (n = 1..3). */
  std::string mqttUri(int n) const;
  /** "amqp://guest:guest@127.0.0.1:PORT" (the virtual host "/"): node n's AMQP listener. */
  std::string amqpUri(int n) const;
  /** The three nodes' MQTT URIs, comma-separated, as an agent's broker list. */
  std::string brokerList() const;
  /** Node n's Erlang VM, or -1 when it is not running. */
  pid_t pid(int n) const;
  /** SIGKILL of node n: no goodbye to the cluster, as in a lost machine. */
  void kill9(int n);
  /** Starts every node that is not running and waits until it is back in the cluster. */
  void heal();
  /** Deletes queue name with what it holds (scripts/cluster.sh drop-queue). */
  void dropQueue(const std::string& name);
  /** A line of cluster.env (STORE, MDC_BROKERS, ...) without its quotes; "" when absent. */
  std::string setting(const std::string& key) const;
  const std::string& dir() const { return dir_; }

 private:
  /** Runs scripts/cluster.sh args... --dir <dir>; throws with its output when it fails. */
  void script(std::vector<std::string> args, std::chrono::seconds within) const;
  std::string dir_;
  std::map<std::string, std::string> env_;
};

/** When a test ends, however it ends: the cluster's stopped nodes start
 *  again, then the run's ingest queue is deleted. A queue left behind stays
 *  bound to every device's topics and takes a replicated copy of each later
 *  run's messages, which slows the cluster for every test after it. */
class ClusterRunGuard {
 public:
  ClusterRunGuard(RabbitCluster& cluster, std::string queue) : cluster_(cluster), queues_{std::move(queue)} {}
  /** Also for the sessions an edge's bridge left on the cluster (each takes every downlink). */
  ClusterRunGuard(RabbitCluster& cluster, std::vector<std::string> queues)
      : cluster_(cluster), queues_(std::move(queues)) {}
  ~ClusterRunGuard();
  ClusterRunGuard(const ClusterRunGuard&) = delete;
  ClusterRunGuard& operator=(const ClusterRunGuard&) = delete;

 private:
  RabbitCluster& cluster_;
  std::vector<std::string> queues_;
};

}  // namespace mdc::test
