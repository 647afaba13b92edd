#pragma once
// What bench_city measures with, beside the load: the CPU and memory of the
// deployment's processes and of the machine, the board (a status change
// until it shows in the units table), the raw consumer (RabbitMQ with no
// store behind it) and the store's count of events.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "server-stub/service/amqp_ingest.h"
#include "tests/support/rabbit_cluster.h"

namespace mdc::bench::city {

using Clock = std::chrono::steady_clock;

/** CPU seconds and proportional memory (PSS) of a process and its children
 *  (a PostgreSQL server is its postmaster and one backend per connection,
 *  sharing their buffers: PSS counts each shared page once). */
struct Usage {
  double cpuSeconds = 0;
  long pssKb = 0;
};

/** The deployment's processes by name, in a fixed order; "machine" (pid 0)
 *  stands for the whole machine. */
std::vector<std::pair<std::string, pid_t>> processesOf(const mdc::test::RabbitCluster& cluster, const std::string& dir);
std::map<std::string, Usage> usageOf(const std::vector<std::pair<std::string, pid_t>>& procs);

/** A status change waiting to show in the units table. */
struct BoardProbe {
  std::string unit;
  int64_t at;
  Clock::time_point sent;
};

/** Polls the units table (its own connection, its own thread) for the status
 *  changes in flight: the time from the press to the dispatcher's board. */
class BoardPoller {
 public:
  explicit BoardPoller(const std::string& store);
  ~BoardPoller();
  void add(BoardProbe p);
  /** The latencies measured since the last take, in ms. */
  std::vector<double> take();
  size_t pending();
  /** Forgets what is still pending (not seen within the run's drain). */
  void clear();

 private:
  void run(const std::string& store);
  std::mutex mu_;
  std::vector<BoardProbe> pending_;
  std::vector<double> ms_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/** The raw consumer: the workers' own AMQP consumer on a queue of its own
 *  (bench.raw.TYPE, bound to bench/raw/TYPE/#), acknowledging what it takes
 *  at once. Each body starts with the steady-clock time it was published at. */
class RawConsumer {
 public:
  RawConsumer(const mdc::test::RabbitCluster& rabbit, const std::string& type);
  ~RawConsumer();
  bool up() const { return up_; }
  uint64_t taken() const { return taken_; }
  /** Publish-to-consumer latencies since the last take, in ms. */
  std::vector<double> take();

 private:
  std::unique_ptr<cad::amqp::Consumer> consumer_;
  std::atomic<bool> up_{false};
  std::atomic<uint64_t> taken_{0};
  std::mutex mu_;
  std::vector<double> ms_;
};

/** Committed events in the store (a connection of its own). */
int64_t countEvents(const std::string& store);
/** `cadctl stats` of the stub behind control socket ctl, as JSON ("null" when none). */
std::string cadctlStats(const std::string& store, const std::string& ctl);

}  // namespace mdc::bench::city
