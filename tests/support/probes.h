#pragma once
// Recording handlers for tests: they take what a library thread reports, keep
// it, and let the test thread wait for it with a timeout (never a bare sleep).
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hw/gps_source.h"
#include "shared/infra/mqtt.h"

namespace mdc::test {

using namespace std::chrono_literals;

/** Records an mqtt::Client's events. Thread-safe: paho's threads write, the test reads. */
class MqttProbe final : public mqtt::Handler {
 public:
  struct Message {
    std::string topic;
    std::string payload;
    bool dup = false;
  };

  void onConnected(bool sessionPresent) override;
  void onConnectFailed(const std::string& reason, int code) override;
  void onConnectionLost(const std::string& cause) override;
  void onMessage(std::string topic, std::string payload, bool dup) override;
  void onPublishResult(int token, bool ok, int reasonCode) override;
  void onSubscribeResult(const std::string& filter, bool ok, int reasonCode) override;

  /** Waits for the next connect outcome not yet returned by this call: true
   *  when connected, false when refused or timed out (lastFailure() says why). */
  bool waitConnectOutcome(std::chrono::milliseconds timeout = 10s);
  /** Waits until connectionsLost() > n. */
  bool waitLost(int n, std::chrono::milliseconds timeout = 10s);
  /** Waits until at least n messages have arrived. */
  bool waitMessages(size_t n, std::chrono::milliseconds timeout = 10s);
  /** Waits until at least n publishes were acknowledged (ok or not). */
  bool waitPublishResults(size_t n, std::chrono::milliseconds timeout = 10s);
  /** Waits until at least n SUBACKs arrived; true when all of them granted. */
  bool waitSubscribed(size_t n = 1, std::chrono::milliseconds timeout = 10s);

  /** Snapshots of what was recorded so far. */
  int connects() const;
  bool sessionPresent() const;  ///< of the latest CONNACK
  std::string lastFailure() const;
  int connectionsLost() const;
  std::vector<Message> messages() const;
  /** (ok, reasonCode) per acknowledged publish, in arrival order. */
  std::vector<std::pair<bool, int>> publishResults() const;

 private:
  bool waitFor(std::chrono::milliseconds timeout, const std::function<bool()>& pred);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int connects_ = 0;
  std::vector<bool> outcomes_;  // true: connected, false: refused, in order
  size_t outcomesSeen_ = 0;     // outcomes already returned by waitConnectOutcome
  bool sessionPresent_ = false;
  std::string lastFailure_;
  int lost_ = 0;
  std::vector<Message> messages_;
  std::vector<std::pair<bool, int>> pubResults_;
  std::vector<std::pair<std::string, bool>> subResults_;
};

/** Records a GpsSource's fixes and link states. Thread-safe. */
class GpsProbe final : public hw::GpsSink {
 public:
  struct State {
    bool connected;
    std::string detail;
  };

  void onFix(const hw::Fix& fix) override;
  void onSourceState(bool connected, const std::string& detail) override;

  /** Waits until at least n fixes with a position have arrived. */
  bool waitPositions(size_t n, std::chrono::milliseconds timeout = 10s);
  /** Waits until a state with this connected value is recorded at index >= from. */
  bool waitState(bool connected, size_t from = 0, std::chrono::milliseconds timeout = 10s);
  /** Waits until no fix has arrived for `quiet` (the replay is over); false after timeout. */
  bool waitQuiet(std::chrono::milliseconds quiet, std::chrono::milliseconds timeout = 30s);

  /** Snapshots: every fix, in arrival order. */
  std::vector<hw::Fix> fixes() const;
  std::vector<hw::Fix> positions() const;  ///< the fixes with hasPosition()
  std::vector<State> states() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<hw::Fix> fixes_;
  std::vector<State> states_;
  size_t positions_ = 0;
  std::chrono::steady_clock::time_point lastFix_ = std::chrono::steady_clock::now();
};

}  // namespace mdc::test
