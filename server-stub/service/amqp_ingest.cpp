#include "server-stub/service/amqp_ingest.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <algorithm>
#include <chrono>
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

/** One connection, its channel, the queue declared, bound and consumed. */
class Session {
 public:
  ~Session() {
    if (!conn_) return;
    if (open_) {
      amqp_channel_close(conn_, kChannel, AMQP_REPLY_SUCCESS);
      amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(conn_);
  }

  /** Connects and starts consuming; an error names the URI and the step. */
  mdc::Status open(const std::string& uri, const Config& config) {
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

  const std::string& where() const { return where_; }

 private:
  mdc::Status fail(const std::string& step, const amqp_rpc_reply_t& r) {
    return mdc::Error::make("amqp: " + where_ + " " + step + ": " + replyText(r));
  }
  amqp_connection_state_t conn_ = nullptr;
  bool open_ = false;
  std::string where_;
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
  for (const std::string& filter : {mdc::topics::allUp(), mdc::topics::allPresence()}) {
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
  size_t next = 0;  // the URI to try next
  int backoffMs = 0;
  while (!stop_) {
    auto session = std::make_unique<Session>();
    const std::string& uri = config_.uris[next % config_.uris.size()];
    ++next;
    if (mdc::Status s = session->open(uri, config_); !s) {
      handler_.state(false, s.error().message);
      backoffMs = backoffMs == 0 ? 250 : std::min(backoffMs * 2, 5000);
      for (int waited = 0; waited < backoffMs && !stop_; waited += 50)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    backoffMs = 0;
    --next;  // stay on the node that works
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

}  // namespace cad::amqp
