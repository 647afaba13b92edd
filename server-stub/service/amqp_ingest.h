#pragma once
// Ingest from RabbitMQ over AMQP 0-9-1 (librabbitmq): what devices publish
// over MQTT reaches one durable quorum queue bound to their up and presence
// topics on amq.topic, which several stub workers consume. A message is
// acknowledged to RabbitMQ only after the transaction that stored it
// committed; a worker that dies leaves its unacknowledged messages to be
// delivered again, to another.
#include <atomic>
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

}  // namespace cad::amqp
