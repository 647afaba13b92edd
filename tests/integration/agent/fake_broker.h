#pragma once
// A scripted MQTT v5 broker for the hard cases a real broker will not produce
// on demand: it speaks just enough of the protocol (CONNECT, SUBSCRIBE,
// PUBLISH QoS 1, PINGREQ) and lets the test decide, per PUBLISH, whether to
// acknowledge it or drop the connection.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mdc::test {

/** One PUBLISH received from the client. */
struct FakePublish {
  std::string topic;
  std::string payload;
  uint16_t packetId = 0;
  bool dup = false;
  int connection = 0;  ///< 1 for the first connection, 2 after the first reconnect, ...
};

/** Thread-safety: the broker runs its own thread; the accessors lock. */
class FakeBroker {
 public:
  /** What to do with a PUBLISH: acknowledge it, or close the connection without a PUBACK. */
  enum class Action { Ack, DropConnection };
  using Script = std::function<Action(const FakePublish&)>;

  /** Listens on a free loopback port; script decides each PUBLISH's fate. */
  explicit FakeBroker(Script script);
  ~FakeBroker();

  uint16_t port() const { return port_; }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  std::vector<FakePublish> publishes() const;
  int connections() const { return connections_; }
  /** Waits until pred(publishes) holds; false after timeoutMs. */
  bool waitFor(const std::function<bool(const std::vector<FakePublish>&)>& pred, int timeoutMs);

 private:
  void run();
  void serve(int fd, int connection);

  Script script_;
  int listenFd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<FakePublish> publishes_;
};

}  // namespace mdc::test
