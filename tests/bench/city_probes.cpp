#include "tests/bench/city_probes.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "server-stub/store/event_store.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"

namespace mdc::bench::city {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

pid_t pidFromFile(const std::string& path) {
  std::ifstream in(path);
  long p = 0;
  return (in >> p) ? pid_t(p) : -1;
}

long pssKbOf(pid_t pid) {
  std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/smaps_rollup"));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Pss:", 0) == 0) return std::stol(line.substr(4));
  return 0;
}

Usage treeUsage(pid_t root) {
  Usage u;
  if (root <= 0) return u;
  std::vector<pid_t> pids{root};
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      pid_t p = pid_t(std::atol(e->d_name));
      if (p <= 0) continue;
      std::string stat = slurp("/proc/" + std::to_string(p) + "/stat");
      auto close = stat.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(stat.substr(close + 2));
      std::string state;
      long ppid = 0;
      rest >> state >> ppid;
      if (ppid == root) pids.push_back(p);
    }
    closedir(d);
  }
  for (pid_t p : pids) {
    auto pu = mdc::test::processUsage(p);
    if (pu.state == '?') continue;
    u.cpuSeconds += pu.cpuSeconds;
    u.pssKb += pssKbOf(p);
  }
  return u;
}

/** The whole machine's busy time (/proc/stat: every state but idle and
 *  iowait, the kernel's own threads and interrupts included), as CPU seconds. */
Usage machineUsage() {
  std::istringstream in(slurp("/proc/stat"));
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  Usage u;
  u.cpuSeconds = (user + nice + system + irq + softirq + steal) / double(sysconf(_SC_CLK_TCK));
  return u;
}

}  // namespace

std::vector<std::pair<std::string, pid_t>> processesOf(const mdc::test::RabbitCluster& cluster, const std::string& dir) {
  std::vector<std::pair<std::string, pid_t>> out;
  for (int n = 1; n <= mdc::test::RabbitCluster::kNodes; ++n) out.emplace_back("rabbit" + std::to_string(n), cluster.pid(n));
  out.emplace_back("worker 1", pidFromFile(dir + "/cad-stub.pid"));
  out.emplace_back("worker 2", pidFromFile(dir + "/cad-2-stub.pid"));
  out.emplace_back("pg primary", pidFromFile(dir + "/pg/primary/postmaster.pid"));
  out.emplace_back("pg standby", pidFromFile(dir + "/pg/standby/postmaster.pid"));
  out.emplace_back("load generator", getpid());
  out.emplace_back("machine", 0);  // every process and the kernel: busy cores of the machine
  return out;
}

std::map<std::string, Usage> usageOf(const std::vector<std::pair<std::string, pid_t>>& procs) {
  std::map<std::string, Usage> out;
  for (const auto& [name, pid] : procs) out[name] = name == "machine" ? machineUsage() : treeUsage(pid);
  return out;
}


BoardPoller::BoardPoller(const std::string& store) : thread_([this, store] { run(store); }) {}

BoardPoller::~BoardPoller() {
  stop_ = true;
  thread_.join();
}

void BoardPoller::add(BoardProbe p) {
  std::lock_guard l(mu_);
  pending_.push_back(std::move(p));
}

std::vector<double> BoardPoller::take() {
  std::lock_guard l(mu_);
  return std::exchange(ms_, {});
}

size_t BoardPoller::pending() {
  std::lock_guard l(mu_);
  return pending_.size();
}

void BoardPoller::clear() {
  std::lock_guard l(mu_);
  pending_.clear();
}

void BoardPoller::run(const std::string& store) {
  auto s = cad::EventStore::open(store, true);
  if (!s) {
    std::cerr << "bench_city: board poller: " << s.error().message << "\n";
    return;
  }
  auto q = (*s)->db().prepare("SELECT status_at_ms FROM units WHERE unit_id=?");
  while (!stop_) {
    // The oldest few at a time, every 2 ms: the poller must not load the
    // server it measures when the board falls behind and probes pile up.
    std::vector<BoardProbe> now;
    {
      std::lock_guard l(mu_);
      now.assign(pending_.begin(), pending_.begin() + std::min<ptrdiff_t>(ptrdiff_t(pending_.size()), 16));
    }
    std::vector<std::pair<std::string, int64_t>> seen;
    for (const auto& p : now) {
      q.bind(1, p.unit);
      if (q.step() && q.i64(0) >= p.at) seen.emplace_back(p.unit, p.at);
      q.reset();
    }
    if (!seen.empty()) {
      auto t = Clock::now();
      std::lock_guard l(mu_);
      for (const auto& [unit, at] : seen) {
        auto it = std::find_if(pending_.begin(), pending_.end(),
                               [&](const BoardProbe& p) { return p.unit == unit && p.at == at; });
        if (it == pending_.end()) continue;
        ms_.push_back(std::chrono::duration<double, std::milli>(t - it->sent).count());
        pending_.erase(it);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

RawConsumer::RawConsumer(const mdc::test::RabbitCluster& rabbit, const std::string& type) {
  cad::amqp::Config cfg;
  for (int n = 1; n <= mdc::test::RabbitCluster::kNodes; ++n) cfg.uris.push_back(rabbit.amqpUri(n));
  cfg.queue = "bench.raw." + type;
  cfg.queueType = type;
  cfg.bindings = {"bench.raw." + type + ".#"};
  cfg.prefetch = 2000;
  cad::amqp::Consumer::Handler h;
  h.deliveries = [this](std::vector<cad::amqp::Delivery> ds) {
    const auto now = Clock::now();
    {
      std::lock_guard l(mu_);
      for (const auto& d : ds) {
        if (d.body.size() < 8) continue;
        int64_t ns = 0;
        std::memcpy(&ns, d.body.data(), 8);
        ms_.push_back(double(now.time_since_epoch().count() - ns) / 1e6);
      }
    }
    taken_ += ds.size();
    for (size_t i = 0; i < ds.size(); ++i)
      if (i + 1 == ds.size() || ds[i + 1].connection != ds[i].connection)
        consumer_->settle(ds[i].connection, ds[i].tag, true);
  };
  h.state = [this](bool isUp, const std::string& what) {
    up_ = isUp;
    if (!isUp) std::fprintf(stderr, "bench_city: raw consumer: %s\n", what.c_str());
  };
  consumer_ = std::make_unique<cad::amqp::Consumer>(cfg, h);
  consumer_->start();
}

RawConsumer::~RawConsumer() { consumer_->stop(); }

std::vector<double> RawConsumer::take() {
  std::lock_guard l(mu_);
  return std::exchange(ms_, {});
}

int64_t countEvents(const std::string& store) {
  auto s = cad::EventStore::open(store, true);
  if (!s) throw std::runtime_error(s.error().message);
  auto q = (*s)->db().prepare("SELECT count(*) FROM events");
  return q.step() ? q.i64(0) : -1;
}

std::string cadctlStats(const std::string& store, const std::string& ctl) {
  const std::string cmd = "'" + mdc::test::env("MDC_BINARY_DIR") + "/server-stub/cadctl' --db '" + store +
                          "' --control '" + ctl + "' stats 2>/dev/null";
  std::string out;
  if (FILE* f = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    pclose(f);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out.empty() ? "null" : out;
}

}  // namespace mdc::bench::city
