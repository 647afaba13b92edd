#include "server-stub/service/amqp_ingest.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <cstring>
#include <map>
#include <optional>

#include "shared/infra/log.h"
#include "shared/wire/topics.h"

namespace cad::amqp {

namespace log = mdc::log;

namespace {

constexpr amqp_channel_t kChannel = 1;

std::string replyText(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD || r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        // Both carry the server's code and text first.
        const auto* m = static_cast<const amqp_connection_close_t*>(r.reply.decoded);
        return "server: " + std::to_string(m->reply_code) + " " +
               std::string(static_cast<const char*>(m->reply_text.bytes), m->reply_text.len);
      }
      return "server exception";
  }
  return "unknown";
}

}  // namespace

/** One connection to a node and its channel. */
class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (!conn_) return;
    if (open_) {
      amqp_channel_close(conn_, kChannel, AMQP_REPLY_SUCCESS);
      amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(conn_);
  }

  /** Connects, logs in and opens the channel; an error names the URI and the step. */
  mdc::Status connect(const std::string& uri) {
    std::vector<char> buf(uri.begin(), uri.end());
    buf.push_back('\0');
    amqp_connection_info info;
    amqp_default_connection_info(&info);
    if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK) return mdc::Error::make("amqp: \"" + uri + "\": not a URI");
    where_ = std::string(info.host) + ":" + std::to_string(info.port);
    conn_ = amqp_new_connection();
    amqp_socket_t* socket = amqp_tcp_socket_new(conn_);
    if (!socket) return mdc::Error::make("amqp: " + where_ + ": no socket");
    timeval connectTimeout{2, 0};
    if (int rc = amqp_socket_open_noblock(socket, info.host, info.port, &connectTimeout); rc != AMQP_STATUS_OK)
      return mdc::Error::make("amqp: " + where_ + ": " + amqp_error_string2(rc));
    timeval rpc{5, 0};
    amqp_set_rpc_timeout(conn_, &rpc);
    // A heartbeat of 10 s: a node that dies without closing the socket is
    // noticed within two of them.
    amqp_rpc_reply_t r = amqp_login(conn_, info.vhost, 0, 131072, 10, AMQP_SASL_METHOD_PLAIN, info.user, info.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) return fail("login", r);
    amqp_channel_open(conn_, kChannel);
    if (r = amqp_get_rpc_reply(conn_); r.reply_type != AMQP_RESPONSE_NORMAL) return fail("channel", r);
    open_ = true;
    return {};
  }

  const std::string& where() const { return where_; }

 protected:
  mdc::Status fail(const std::string& step, const amqp_rpc_reply_t& r) {
    return mdc::Error::make("amqp: " + where_ + " " + step + ": " + replyText(r));
  }
  amqp_connection_state_t conn_ = nullptr;
  bool open_ = false;
  std::string where_;
};

/** A connection that publishes to amq.topic with publisher confirms. */
class Sender : public Connection {
 public:
  /** Connects and turns confirms on. */
  mdc::Status open(const std::string& uri) {
    if (mdc::Status s = connect(uri); !s) return s;
    amqp_confirm_select(conn_, kChannel);
    if (amqp_rpc_reply_t r = amqp_get_rpc_reply(conn_); r.reply_type != AMQP_RESPONSE_NORMAL)
      return fail("confirm.select", r);
    return {};
  }

  /** Publishes body with routing key; an error when the connection is lost. */
  mdc::Status publish(const std::string& key, const std::string& body, int qos) {
    // RabbitMQ's MQTT plugin delivers a message at the QoS in this header
    // (at most the subscription's); without it, at QoS 1. It must be a
    // signed byte: the plugin drops the subscriber's connection on any other type.
    amqp_table_entry_t header;
    header.key = amqp_cstring_bytes("x-mqtt-publish-qos");
    header.value.kind = AMQP_FIELD_KIND_I8;
    header.value.value.i8 = int8_t(qos);
    amqp_basic_properties_t props;
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
    props.delivery_mode = qos > 0 ? 2 : 1;
    props.headers = amqp_table_t{1, &header};
    amqp_bytes_t bytes{body.size(), const_cast<char*>(body.data())};
    const int rc = amqp_basic_publish(conn_, kChannel, amqp_cstring_bytes("amq.topic"), amqp_cstring_bytes(key.c_str()),
                                      0, 0, &props, bytes);
    if (rc != AMQP_STATUS_OK) return lost(amqp_error_string2(rc));
    ++published_;
    return {};
  }

  /** Reads what the broker sent (confirms, heartbeats, a close) without
   *  waiting, and sends this side's heartbeat when due; an error when the
   *  connection is lost or the broker refused a message. */
  mdc::Status service() {
    for (;;) {
      amqp_frame_t frame;
      timeval zero{0, 0};
      const int rc = amqp_simple_wait_frame_noblock(conn_, &frame, &zero);
      if (rc == AMQP_STATUS_TIMEOUT) return {};
      if (rc != AMQP_STATUS_OK) return lost(amqp_error_string2(rc));
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      switch (frame.payload.method.id) {
        case AMQP_BASIC_ACK_METHOD: {
          const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
          confirmed_ = std::max(confirmed_, ack->delivery_tag);
          break;
        }
        case AMQP_BASIC_NACK_METHOD:
          return lost("the broker refused a message");
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD:
          return lost("closed by the broker");
        default:
          break;
      }
    }
  }

  /** Messages published on this connection, and confirmed (in order: a
   *  confirm covers every message up to its tag). */
  uint64_t published() const { return published_; }
  uint64_t confirmed() const { return confirmed_; }

 private:
  mdc::Status lost(const std::string& why) {
    open_ = false;
    return mdc::Error::make("amqp: " + where_ + ": " + why);
  }
  uint64_t published_ = 0, confirmed_ = 0;
};

namespace {

/** A connection with the ingest queue declared, bound and consumed. */
class Session : public Connection {
 public:
  /** Connects and starts consuming; an error names the URI and the step. */
  mdc::Status open(const std::string& uri, const Config& config) {
    if (mdc::Status s = connect(uri); !s) return s;
    amqp_rpc_reply_t r;
    // Durable, replicated on the cluster's nodes by Raft (a quorum queue):
    // a message in it survives the node it was published to.
    amqp_table_entry_t arg;
    arg.key = amqp_cstring_bytes("x-queue-type");
    arg.value.kind = AMQP_FIELD_KIND_UTF8;
    arg.value.value.bytes = amqp_cstring_bytes(config.queueType.c_str());
    amqp_table_t args{1, &arg};
    amqp_queue_declare(conn_, kChannel, amqp_cstring_bytes(config.queue.c_str()), 0, 1, 0, 0, args);
    if (r = amqp_get_rpc_reply(conn_); r.reply_type != AMQP_RESPONSE_NORMAL) return fail("declare " + config.queue, r);
    for (const auto& key : config.bindings.empty() ? Consumer::bindingKeys() : config.bindings) {
      amqp_queue_bind(conn_, kChannel, amqp_cstring_bytes(config.queue.c_str()), amqp_cstring_bytes("amq.topic"),
                      amqp_cstring_bytes(key.c_str()), amqp_empty_table);
      if (r = amqp_get_rpc_reply(conn_); r.reply_type != AMQP_RESPONSE_NORMAL) return fail("bind " + key, r);
    }
    amqp_basic_qos(conn_, kChannel, 0, uint16_t(std::clamp(config.prefetch, 1, 65535)), 0);
    if (r = amqp_get_rpc_reply(conn_); r.reply_type != AMQP_RESPONSE_NORMAL) return fail("qos", r);
    amqp_basic_consume(conn_, kChannel, amqp_cstring_bytes(config.queue.c_str()), amqp_empty_bytes, 0, 0, 0,
                       amqp_empty_table);
    if (r = amqp_get_rpc_reply(conn_); r.reply_type != AMQP_RESPONSE_NORMAL) return fail("consume", r);
    return {};
  }

  /** Waits up to timeoutMs for one message; nullopt on timeout, an error
   *  when the connection is lost. */
  mdc::Result<std::optional<Delivery>> next(int timeoutMs) {
    amqp_maybe_release_buffers(conn_);
    amqp_envelope_t env;
    timeval tv{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
    amqp_rpc_reply_t r = amqp_consume_message(conn_, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT)
      return std::optional<Delivery>();
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        // A frame other than a delivery (the broker cancelling us, a
        // heartbeat handled): read it, and treat a close as the end.
        amqp_frame_t frame;
        if (amqp_simple_wait_frame_noblock(conn_, &frame, &tv) == AMQP_STATUS_OK && frame.frame_type == AMQP_FRAME_METHOD &&
            (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
             frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD ||
             frame.payload.method.id == AMQP_BASIC_CANCEL_METHOD)) {
          open_ = false;
          return mdc::Error::make("amqp: " + where_ + ": closed by the broker");
        }
        return std::optional<Delivery>();
      }
      open_ = false;
      return mdc::Error::make("amqp: " + where_ + ": " + replyText(r));
    }
    Delivery d;
    d.tag = env.delivery_tag;
    d.redelivered = env.redelivered;
    d.topic = topicOfRoutingKey(
        std::string_view(static_cast<const char*>(env.routing_key.bytes), env.routing_key.len));
    d.body.assign(static_cast<const char*>(env.message.body.bytes), env.message.body.len);
    amqp_destroy_envelope(&env);
    return std::optional<Delivery>(std::move(d));
  }

  /** Acknowledges (or returns to the queue) every message up to tag. */
  mdc::Status settle(uint64_t tag, bool stored) {
    const int rc = stored ? amqp_basic_ack(conn_, kChannel, tag, 1) : amqp_basic_nack(conn_, kChannel, tag, 1, 1);
    if (rc != AMQP_STATUS_OK) {
      open_ = false;
      return mdc::Error::make("amqp: " + where_ + ": settling up to " + std::to_string(tag) + ": " +
                              amqp_error_string2(rc));
    }
    return {};
  }
};

/** The nodes a connection tries in turn: it stays on one that works, moves
 *  to the next when one fails, and waits a pause that grows to 5 s. */
class Rotation {
 public:
  explicit Rotation(const std::vector<std::string>& uris) : uris_(uris) {}
  const std::string& uri() const { return uris_[next_ % uris_.size()]; }
  /** The node failed: the next one, after the pause this returns (ms). */
  int failed(int firstMs) {
    ++next_;
    return pause(firstMs);
  }
  /** The same node again, after the pause this returns (ms). */
  int pause(int firstMs) {
    backoffMs_ = backoffMs_ == 0 ? firstMs : std::min(backoffMs_ * 2, 5000);
    return backoffMs_;
  }
  /** It works: the next pause starts small again. */
  void worked() { backoffMs_ = 0; }

 private:
  const std::vector<std::string>& uris_;
  size_t next_ = 0;
  int backoffMs_ = 0;
};

}  // namespace

mdc::Result<std::vector<std::string>> parseUris(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string uri = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::vector<char> buf(uri.begin(), uri.end());
    buf.push_back('\0');
    amqp_connection_info info;
    if (uri.empty() || amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK)
      return mdc::Error::make("--amqp \"" + uri + "\": expected amqp://USER:PASSWORD@HOST:PORT or .../VHOST");
    out.push_back(uri);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string routingKeyOf(std::string_view topic) {
  std::string k(topic);
  for (char& c : k) c = c == '/' ? '.' : c == '.' ? '/' : c;
  return k;
}

std::string topicOfRoutingKey(std::string_view key) { return routingKeyOf(key); }

std::vector<std::string> Consumer::bindingKeys() {
  // MQTT's one-level wildcard '+' is AMQP's '*'.
  std::vector<std::string> keys;
  // The edge watchers' liveness notices (cad-edge-watch) come the same way.
  for (const std::string& filter :
       {mdc::topics::allUp(), mdc::topics::allPresence(), mdc::topics::allEdgeLiveness()}) {
    std::string k = routingKeyOf(filter);
    std::replace(k.begin(), k.end(), '+', '*');
    keys.push_back(k);
  }
  return keys;
}

Consumer::Consumer(Config config, Handler handler) : config_(std::move(config)), handler_(std::move(handler)) {}

Consumer::~Consumer() { stop(); }

void Consumer::start() {
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void Consumer::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Consumer::settle(uint64_t connection, uint64_t tag, bool stored) {
  std::lock_guard lock(mu_);
  settles_.push_back(Settle{connection, tag, stored});
}

void Consumer::run() {
  uint64_t connection = 0;
  Rotation nodes(config_.uris);
  while (!stop_) {
    auto session = std::make_unique<Session>();
    if (mdc::Status s = session->open(nodes.uri(), config_); !s) {
      handler_.state(false, s.error().message);
      const int pauseMs = nodes.failed(250);
      for (int waited = 0; waited < pauseMs && !stop_; waited += 50)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    nodes.worked();
    ++connection;
    {
      std::lock_guard lock(mu_);
      settles_.clear();  // of connections gone: their messages are back in the queue
    }
    handler_.state(true, "consuming " + config_.queue + " on " + session->where());
    std::string lost;
    std::vector<Delivery> batch;
    while (!stop_ && lost.empty()) {
      std::vector<Settle> settles;
      {
        std::lock_guard lock(mu_);
        settles.swap(settles_);
      }
      for (const auto& s : settles) {
        if (s.connection != connection) continue;
        if (mdc::Status st = session->settle(s.tag, s.stored); !st) {
          lost = st.error().message;
          break;
        }
      }
      if (!lost.empty()) break;
      // A few messages at a time: as many as come within 2 ms of the first,
      // up to 500, handed over together.
      auto got = session->next(batch.empty() ? 50 : 2);
      if (!got) {
        lost = got.error().message;
      } else if (*got) {
        (*got)->connection = connection;
        batch.push_back(std::move(**got));
        if (batch.size() < 500) continue;
      }
      if (!batch.empty()) {
        handler_.deliveries(std::move(batch));
        batch.clear();
      }
    }
    if (!batch.empty()) handler_.deliveries(std::move(batch));  // stored or not, the queue has them back
    if (!lost.empty()) handler_.state(false, lost + "; connecting again");
  }
}

Publisher::Publisher(std::vector<std::string> uris, Handler handler, size_t maxQueued)
    : uris_(std::move(uris)), handler_(std::move(handler)), maxQueued_(std::max<size_t>(1, maxQueued)) {}

Publisher::~Publisher() { stop(); }

void Publisher::start() {
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void Publisher::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Publisher::publish(const std::string& topic, std::string body, int qos) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= maxQueued_) {
      ++dropped_;
      return false;
    }
    queue_.push_back(Message{routingKeyOf(topic), std::move(body), std::clamp(qos, 0, 1)});
  }
  cv_.notify_one();
  return true;
}

void Publisher::requeue(std::deque<Message>& unsent, std::deque<Unconfirmed>& unconfirmed) {
  std::lock_guard lock(mu_);
  while (!unsent.empty()) {
    queue_.push_front(std::move(unsent.back()));
    unsent.pop_back();
  }
  for (auto it = unconfirmed.rbegin(); it != unconfirmed.rend(); ++it) queue_.push_front(std::move(it->message));
  unconfirmed.clear();
  while (queue_.size() > maxQueued_) {
    queue_.pop_back();
    ++dropped_;
  }
}

void Publisher::run() {
  Rotation nodes(uris_);
  auto wait = [this](int ms) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return bool(stop_); });
  };
  // Sent and not yet confirmed: sent again on the next connection.
  std::deque<Unconfirmed> unconfirmed;
  for (bool last = false; !last;) {
    last = stop_;  // stopping: what is queued goes out once more, then the thread ends
    Sender sender;
    if (mdc::Status s = sender.open(nodes.uri()); !s) {
      handler_.state(false, s.error().message);
      if (last) return;
      wait(nodes.failed(250));
      continue;
    }
    const auto openedAt = std::chrono::steady_clock::now();
    handler_.state(true, "publishing downlinks on " + sender.where());
    const std::string lost = serve(sender, unconfirmed);
    if (lost.empty()) return;  // stopped
    last = stop_;
    // A connection that failed at once (a queue with no leader yet refuses
    // what is sent to it) is made again after a pause that grows.
    if (std::chrono::steady_clock::now() - openedAt < std::chrono::seconds(2)) {
      const int pauseMs = nodes.pause(100);
      handler_.state(false, lost + "; connecting again in " + std::to_string(pauseMs) + " ms");
      wait(pauseMs);
    } else {
      nodes.worked();
      handler_.state(false, lost + "; connecting again");
    }
  }
}

std::string Publisher::serve(Sender& sender, std::deque<Unconfirmed>& unconfirmed) {
  auto dropConfirmed = [&] {
    while (!unconfirmed.empty() && sender.published() - unconfirmed.size() + 1 <= sender.confirmed())
      unconfirmed.pop_front();
  };
  std::deque<Message> batch;
  std::string lost;
  for (bool last = false; lost.empty();) {
    {
      std::unique_lock lock(mu_);
      // Awake at least every 100 ms: confirms and the connection's heartbeats.
      cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_ || !queue_.empty(); });
      batch.swap(queue_);
      last = stop_;
    }
    const auto now = std::chrono::steady_clock::now();
    while (!batch.empty()) {
      if (mdc::Status s = sender.publish(batch.front().key, batch.front().body, batch.front().qos); !s) {
        lost = s.error().message;
        break;
      }
      unconfirmed.push_back(Unconfirmed{std::move(batch.front()), now});
      batch.pop_front();
    }
    if (lost.empty())
      if (mdc::Status s = sender.service(); !s) lost = s.error().message;
    dropConfirmed();
    // A message refused (basic.nack) ends the connection above; one neither
    // confirmed nor refused within the limit does too: a new channel finds
    // the queues' new leaders.
    if (lost.empty() && !unconfirmed.empty() && now - unconfirmed.front().sentAt > kConfirmWithin)
      lost = "amqp: " + sender.where() + ": no confirm within " +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(kConfirmWithin).count()) +
             " ms for " + std::to_string(unconfirmed.size()) + " messages";
    if (last && lost.empty()) {
      // Stopping: the confirms of what was just sent, briefly.
      for (int i = 0; i < 20 && !unconfirmed.empty() && lost.empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (mdc::Status s = sender.service(); !s) lost = s.error().message;
        dropConfirmed();
      }
      if (lost.empty()) return {};
    }
  }
  requeue(batch, unconfirmed);
  return lost;
}

}  // namespace cad::amqp
