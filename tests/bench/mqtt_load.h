#pragma once
// A light MQTT 3.1.1 load generator: thousands of device connections on one
// thread (non-blocking sockets, epoll), each its own TCP connection and
// session as a vehicle's would be. It speaks just what a device needs:
// CONNECT, SUBSCRIBE to its down topic, PUBLISH at QoS 1 and the PUBACKs
// both ways, an empty QoS 0 PUBLISH (a beat), PINGREQ. Not thread-safe: one
// thread adds, connects, publishes and polls.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mdc::bench {

class MqttLoad {
 public:
  using Clock = std::chrono::steady_clock;
  struct Handler {
    /** The broker acknowledged a QoS 1 publish of connection `conn`. */
    std::function<void(size_t conn, uint16_t packetId, Clock::time_point sentAt)> puback;
    /** A message on connection `conn` (acknowledged at QoS 1 by the load). */
    std::function<void(size_t conn, std::string_view topic, std::string_view payload)> message;
  };
  struct Stats {
    size_t connected = 0;      ///< CONNACK (and SUBACK) received, still open
    size_t refused = 0;        ///< CONNACK with a non-zero code, or no CONNACK in time
    size_t lost = 0;           ///< connections closed after they were up
    size_t retried = 0;        ///< handshakes tried again after a refusal or time-out
    uint64_t published = 0;    ///< QoS 1 publishes written
    uint64_t acked = 0;        ///< PUBACKs received
    uint64_t received = 0;     ///< messages received
    uint64_t beats = 0;        ///< empty QoS 0 publishes written (beat)
  };

  MqttLoad(Handler handler, int keepAliveS = 60);
  ~MqttLoad();
  MqttLoad(const MqttLoad&) = delete;
  MqttLoad& operator=(const MqttLoad&) = delete;

  /** A connection to 127.0.0.1:port as clientId; subscribed to `subscribe`
   *  at QoS 1 when not empty. Connected by connectAll. Returns its index. */
  size_t add(uint16_t port, std::string clientId, bool cleanSession, std::string subscribe = "");

  /** Opens every added connection, at most `window` handshakes at a time,
   *  until all are up or `timeout` passes; one refused or timed out is tried
   *  again (five rounds at most). `progress` is called about once a second
   *  with the number up. Returns the number up. */
  size_t connectAll(int window, std::chrono::seconds timeout, const std::function<void(size_t)>& progress);

  /** A QoS 1 publish on connection `conn`: its packet id, or 0 when the
   *  connection is not up. */
  uint16_t publish(size_t conn, std::string_view topic, std::string_view payload);
  /** An empty QoS 0 publish on connection `conn` (a device's beat); false
   *  when the connection is not up. */
  bool beat(size_t conn, std::string_view topic);
  /** Publishes on `conn` waiting for their PUBACK. */
  size_t inFlight(size_t conn) const;
  bool up(size_t conn) const;

  /** Reads and writes whatever is ready, for up to timeoutMs; sends due pings. */
  void poll(int timeoutMs);

  const Stats& stats() const { return stats_; }
  size_t size() const;

 private:
  struct Conn;
  void open(size_t i);
  void close(size_t i, bool counted);
  void send(size_t i, std::string bytes);
  void flush(size_t i);
  void readable(size_t i);
  bool packet(size_t i, uint8_t type, std::string_view body);
  void watch(size_t i);

  Handler handler_;
  int keepAliveS_;
  int epoll_ = -1;
  std::vector<Conn> conns_;
  Stats stats_;
  Clock::time_point lastPingSweep_;
  size_t pingCursor_ = 0;
};

}  // namespace mdc::bench
