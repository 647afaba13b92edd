#pragma once
// A worker's link to RabbitMQ over AMQP 0-9-1 (librabbitmq). The ingest: what
// devices publish over MQTT reaches one durable quorum queue bound to their
// up and presence topics on amq.topic, which several stub workers consume. A
// message is acknowledged to RabbitMQ only after the transaction that stored
// it committed; a worker that dies leaves its unacknowledged messages to be
// delivered again, to another. The way back: commit acks and downlinks are
// published to amq.topic, and the MQTT plugin delivers them to the devices.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "shared/wire/error.h"

namespace cad::amqp {

/** One message as the queue delivered it. */
struct Delivery {
  uint64_t connection = 0;  ///< which connection delivered it (tags are per connection)
  uint64_t tag = 0;         ///< its delivery tag
  std::string topic;        ///< the MQTT topic it was published on
  std::string body;
  bool redelivered = false;  ///< delivered before (to a worker that did not acknowledge it)
};

struct Config {
  std::vector<std::string> uris;  ///< amqp://USER:PASSWORD@HOST:PORT[/VHOST] (none: "/"), tried in turn
  std::string queue = "cad.ingest";
  /** x-queue-type of the declaration: "quorum" (replicated; the ingest's),
   *  "classic" (one node's; for comparisons). */
  std::string queueType = "quorum";
  /** Routing keys the queue is bound to on amq.topic; none: bindingKeys(). */
  std::vector<std::string> bindings;
  int prefetch = 2000;  ///< unacknowledged messages a worker holds at most
};

/** "amqp://guest:guest@127.0.0.1:5672" and the like; a list is comma-separated.
 *  Errors name the URI. */
mdc::Result<std::vector<std::string>> parseUris(const std::string& list);

/** The routing key of an MQTT topic, and back, as RabbitMQ's MQTT plugin maps
 *  them: '/' and '.' swap places. */
std::string routingKeyOf(std::string_view topic);
std::string topicOfRoutingKey(std::string_view key);

/** Consumes the ingest queue on a thread of its own. Callbacks run on that
 *  thread. */
class Consumer {
 public:
  struct Handler {
    /** Messages in the order the queue delivered them, a few at a time. */
    std::function<void(std::vector<Delivery>)> deliveries;
    /** Connected (and the queue declared and bound) or not, with what happened. */
    std::function<void(bool up, const std::string& what)> state;
  };
  Consumer(Config config, Handler handler);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  void start();
  void stop();
  /** Settles every message of connection up to tag: acknowledged (stored),
   *  or returned to the queue (not stored: delivered again). Thread-safe;
   *  a connection that is gone is ignored (its messages went back already). */
  void settle(uint64_t connection, uint64_t tag, bool stored);

  /** The queue's declaration: durable, quorum, bound to every device's up and
   *  presence topic. Declared by each worker before it consumes (RabbitMQ
   *  acknowledges a QoS 1 publish that no queue takes, so the queue must
   *  exist before devices connect: `cad-stub --amqp` or `cluster.sh up`). */
  static std::vector<std::string> bindingKeys();

 private:
  void run();

  Config config_;
  Handler handler_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  struct Settle {
    uint64_t connection, tag;
    bool stored;
  };
  std::vector<Settle> settles_;  // guarded by mu_
};

class Sender;

/** Publishes to amq.topic on a thread and connection of its own, across the
 *  URIs in turn: a worker's commit acks and downlinks, which RabbitMQ's MQTT
 *  plugin delivers to the devices' subscriptions. With publisher confirms: a
 *  message not confirmed within kConfirmWithin is sent again on a new
 *  connection. Nothing here is kept across a restart: a
 *  commit ack lost with a connection is asked for again by the device's
 *  resend, and a downlink by the outbox until the device's cursor holds it. */
class Publisher {
 public:
  struct Handler {
    /** Connected or not, with what happened; runs on the publisher's thread. */
    std::function<void(bool up, const std::string& what)> state;
  };
  Publisher(std::vector<std::string> uris, Handler handler, size_t maxQueued = 100000);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  void start();
  /** Sends what is queued if it can, then ends the thread. */
  void stop();
  /** Queues body for the MQTT topic, delivered to subscribers at qos (0 or 1).
   *  False when maxQueued messages wait already: dropped, and counted.
   *  Thread-safe. */
  bool publish(const std::string& topic, std::string body, int qos);
  /** Messages dropped on a full queue. */
  uint64_t dropped() const { return dropped_; }

 private:
  /** A message not confirmed this long: the connection is made anew. */
  static constexpr std::chrono::milliseconds kConfirmWithin{3000};
  struct Message {
    std::string key, body;
    int qos;
  };
  struct Unconfirmed {
    Message message;
    std::chrono::steady_clock::time_point sentAt;
  };
  void run();
  /** Sends over one connection until it is lost (what happened; what it had
   *  not sent or not had confirmed is queued again) or the publisher stops (""). */
  std::string serve(Sender& sender, std::deque<Unconfirmed>& unconfirmed);
  void requeue(std::deque<Message>& unsent, std::deque<Unconfirmed>& unconfirmed);
  std::vector<std::string> uris_;
  Handler handler_;
  size_t maxQueued_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> dropped_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Message> queue_;  // guarded by mu_
};

}  // namespace cad::amqp
