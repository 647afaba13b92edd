#pragma once
// Simulated devices on the wire, for the stub's integration tests and
// benchmarks: publish encoded envelopes on any device's topics over real MQTT
// connections and collect, per device, the commit acks and downlinks the stub
// sends back. Cheaper than one mdc-agent per device, and free to do what a
// broken or hostile device does (resend, re-use seqs, write garbage).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mdc/v1/mdc.pb.h"
#include "shared/infra/mqtt.h"

namespace cad::test {

/** Thread-safe: paho's threads record, the test thread reads and publishes. */
class WireFleet {
 public:
  /** `connections` MQTT clients (ids prefix-0, prefix-1, ...); device i
   *  publishes through connection i % connections. Each connection subscribes
   *  to every down topic it serves (or to cad/v1/dev/+/down when it is the only one). */
  WireFleet(const std::string& brokerUri, const std::string& clientPrefix, int connections = 1,
            int maxInflight = 1000);
  ~WireFleet();

  /** Starts all connects together and waits for CONNACK and SUBACK of each. */
  bool connect(const std::vector<std::string>& devices, std::chrono::milliseconds timeout = std::chrono::seconds(20));

  /** QoS 1 publish on the device's up (or presence) topic; false when paho refused it. */
  bool publish(const std::string& device, const std::string& payload, bool presence = false);
  /** Same, for raw publishes on any topic. */
  bool publishTopic(size_t connection, const std::string& topic, const std::string& payload);

  /** (device, seq) pairs the stub has acknowledged as committed. */
  std::set<std::pair<std::string, uint64_t>> acked() const;
  size_t ackedCount() const;
  /** How many commit acks covered each seq of a device (re-sent acks count again). */
  std::map<uint64_t, int> timesAcked(const std::string& device) const;
  /** Commit-ack messages received (each may cover many seqs). */
  size_t ackMessages() const;
  /** Downlinks other than commit acks, per device, in arrival order. */
  std::vector<mdc::v1::Downlink> downlinks(const std::string& device) const;
  /** Broker PUBACKs received for our publishes. */
  size_t pubacks() const;
  /** Waits until ackedCount() >= n. */
  bool waitAcked(size_t n, std::chrono::milliseconds timeout) const;
  /** Waits until pubacks() >= n. */
  bool waitPubacks(size_t n, std::chrono::milliseconds timeout) const;
  /** Waits until the device has at least n non-ack downlinks. */
  bool waitDownlinks(const std::string& device, size_t n, std::chrono::milliseconds timeout) const;
  /** One commit ack as it came: a range of a device's seqs and the backend's ingest lag. */
  struct AckRecord {
    std::string device;
    uint64_t first = 0, last = 0;
    uint32_t lagMs = 0;
  };
  /** From now on, keeps every commit ack's ranges for takeAcks() (off by default). */
  void collectAcks() {
    std::lock_guard l(mu_);
    collect_ = true;
  }
  /** The commit acks kept since the last call, in arrival order. */
  std::vector<AckRecord> takeAcks() {
    std::lock_guard l(mu_);
    std::vector<AckRecord> out;
    out.swap(collected_);
    return out;
  }
  /** Arrival time (steady clock) of the first ack covering (device, seq); nullopt when none yet. */
  std::optional<std::chrono::steady_clock::time_point> ackTime(const std::string& device, uint64_t seq) const;

 private:
  class Conn;
  void record(const std::string& topic, const std::string& payload);

  std::string uri_, prefix_;
  int maxInflight_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::map<std::string, size_t> connOf_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::set<std::pair<std::string, uint64_t>> acked_;
  std::map<std::pair<std::string, uint64_t>, std::chrono::steady_clock::time_point> ackAt_;
  std::map<std::string, std::map<uint64_t, int>> timesAcked_;
  size_t ackMessages_ = 0;
  std::map<std::string, std::vector<mdc::v1::Downlink>> downlinks_;
  std::atomic<size_t> pubacks_{0};
  bool collect_ = false;
  std::vector<AckRecord> collected_;
  friend class Conn;
};

}  // namespace cad::test
