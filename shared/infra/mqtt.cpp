#include "shared/infra/mqtt.h"

#include <chrono>

#include <MQTTProperties.h>
#include <MQTTReasonCodes.h>

#include <cstdint>
#include <stdexcept>

namespace mdc::net {
bool tcpNoDelayInstalled();  // shared/tcp_nodelay.cpp
}

namespace {
int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

namespace mdc::mqtt {

namespace {
// Subscriptions keep their filter string until the SUBACK arrives.
struct SubContext {
  Client* client;
  Handler* handler;
  std::string filter;
};
}  // namespace

namespace {
// A 3.1.1 CONNACK's return codes (MQTT 3.1.1 section 3.2.2.3).
std::string connackText(int code) {
  switch (code) {
    case 1:
      return "broker refused: unacceptable protocol version (1)";
    case 2:
      return "broker refused: identifier rejected (2)";
    case 3:
      return "broker refused: server unavailable (3)";
    case 4:
      return "broker refused: bad user name or password (4)";
    case 5:
      return "broker refused: not authorized (5)";
    default:
      return "";
  }
}
}  // namespace

std::optional<Version> parseVersion(std::string_view text) {
  if (text == "5") return Version::v5;
  if (text == "3.1.1") return Version::v311;
  return std::nullopt;
}

std::string errorText(int code) {
  const char* s = MQTTAsync_strerror(code);
  return s ? std::string(s) + " (" + std::to_string(code) + ")" : "error " + std::to_string(code);
}

Client::Client(Options options, Handler& handler) : opts_(std::move(options)), handler_(handler) {
  (void)net::tcpNoDelayInstalled();  // small QoS 1 packets must not wait for Nagle (see tcp_nodelay.cpp)
  create();
}

Client::~Client() { destroy(200); }

void Client::create() {
  MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
  co.MQTTVersion = v5() ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
  co.sendWhileDisconnected = 0;   // the caller's own outbox holds what waits for the network
  co.maxBufferedMessages = 100000;
  int rc = MQTTAsync_createWithOptions(&handle_, opts_.uri.c_str(), opts_.clientId.c_str(),
                                       MQTTCLIENT_PERSISTENCE_NONE, nullptr, &co);
  if (rc != MQTTASYNC_SUCCESS)
    throw std::runtime_error("mqtt: broker \"" + opts_.uri + "\": " + errorText(rc));
  rc = MQTTAsync_setCallbacks(handle_, this, &Client::onLost, &Client::onArrived, nullptr);
  if (rc != MQTTASYNC_SUCCESS) throw std::runtime_error("mqtt: setCallbacks: " + errorText(rc));
}

void Client::destroy(int timeoutMs) {
  if (!handle_) return;
  if (MQTTAsync_isConnected(handle_)) {
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
    if (!v5()) d = MQTTAsync_disconnectOptions_initializer;
    d.timeout = timeoutMs;
    MQTTAsync_disconnect(handle_, &d);
  }
  MQTTAsync_destroy(&handle_);
  handle_ = nullptr;
}

Status Client::connect(bool freshSession) {
  // Each connection gets a fresh paho handle. Reconnecting on the handle of a
  // lost connection, with its in-flight window still full, lets paho 1.3.12's
  // threads read a message that another of its threads has freed (seen under
  // AddressSanitizer; eclipse-paho/paho.mqtt.c#1483). The caller's outbox
  // sends again whatever was in flight, so nothing lives only in paho.
  if (attempted_) {
    destroy(0);
    try {
      create();
    } catch (const std::exception& e) {
      return Error::make(e.what());
    }
  }
  attempted_ = true;
  MQTTAsync_connectOptions c = MQTTAsync_connectOptions_initializer5;
  MQTTProperties props = MQTTProperties_initializer;
  if (v5()) {
    c.cleanstart = opts_.cleanStart || freshSession ? 1 : 0;
    c.onSuccess5 = &Client::onConnectSuccess;
    c.onFailure5 = &Client::onConnectFailure;
    MQTTProperty p;
    p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
    p.value.integer4 = opts_.sessionExpiryS;
    MQTTProperties_add(&props, &p);
    MQTTProperty rm;
    rm.identifier = MQTTPROPERTY_CODE_RECEIVE_MAXIMUM;
    rm.value.integer2 = 1024;  // let the broker keep many deliveries in flight to us
    MQTTProperties_add(&props, &rm);
    c.connectProperties = &props;
  } else {
    // 3.1.1 has no session expiry: a persistent session lasts as long as the
    // broker's own setting (mosquitto: persistent_client_expiration; RabbitMQ
    // 3.10: mqtt.subscription_ttl, 24 h unless set).
    c = MQTTAsync_connectOptions_initializer;
    c.MQTTVersion = MQTTVERSION_3_1_1;
    c.cleansession = opts_.cleanStart || freshSession ? 1 : 0;
    c.onSuccess = &Client::onConnectSuccess3;
    c.onFailure = &Client::onConnectFailure3;
  }
  c.keepAliveInterval = opts_.keepAliveS;
  c.connectTimeout = opts_.connectTimeoutS;
  c.maxInflight = opts_.maxInflight;
  c.context = this;
  c.automaticReconnect = 0;  // the owner reconnects with its own backoff and jitter

  MQTTAsync_willOptions w = MQTTAsync_willOptions_initializer;
  MQTTProperties willProps = MQTTProperties_initializer;
  if (opts_.will) {
    w.topicName = opts_.will->topic.c_str();
    w.message = nullptr;
    w.payload.data = opts_.will->payload.data();
    w.payload.len = int(opts_.will->payload.size());
    w.retained = opts_.will->retained ? 1 : 0;
    w.qos = opts_.will->qos;
    c.will = &w;
    if (v5()) c.willProperties = &willProps;
  }

  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
  if (tlsOptions(ssl)) c.ssl = &ssl;
  {
    std::lock_guard lock(tlsMu_);
    tlsError_.clear();
  }
  int rc = MQTTAsync_connect(handle_, &c);
  MQTTProperties_free(&props);
  MQTTProperties_free(&willProps);
  if (rc != MQTTASYNC_SUCCESS) return Error::make("mqtt: connect to \"" + opts_.uri + "\": " + errorText(rc), rc);
  return {};
}

bool Client::tlsOptions(MQTTAsync_SSLOptions& ssl) {
  if (opts_.uri.rfind("ssl://", 0) != 0 && opts_.uri.rfind("mqtts://", 0) != 0) return false;
  ssl.trustStore = opts_.caFile.empty() ? nullptr : opts_.caFile.c_str();
  ssl.keyStore = opts_.certFile.empty() ? nullptr : opts_.certFile.c_str();
  ssl.privateKey = opts_.keyFile.empty() ? nullptr : opts_.keyFile.c_str();
  ssl.enableServerCertAuth = 1;
  ssl.verify = opts_.verifyHostname ? 1 : 0;
  ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
  ssl.ssl_error_cb = &Client::onSslError;
  ssl.ssl_error_context = this;
  return true;
}

void Client::setUri(std::string uri) {
  if (uri == opts_.uri) return;
  opts_.uri = std::move(uri);
  attempted_ = true;  // paho binds a handle to its URI: the next connect() makes a new one
}

void Client::setWill(std::optional<Will> will) { opts_.will = std::move(will); }

Result<int> Client::publish(const std::string& topic, const std::string& payload, int qos, bool retained) {
  MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
  if (v5()) {
    r.onSuccess5 = &Client::onSendSuccess;
    r.onFailure5 = &Client::onSendFailure;
  } else {
    r.onSuccess = &Client::onSendSuccess3;
    r.onFailure = &Client::onSendFailure3;
  }
  r.context = this;
  MQTTAsync_message m = MQTTAsync_message_initializer;
  m.payload = const_cast<char*>(payload.data());
  m.payloadlen = int(payload.size());
  m.qos = qos;
  m.retained = retained ? 1 : 0;
  int rc = MQTTAsync_sendMessage(handle_, topic.c_str(), &m, &r);
  if (rc != MQTTASYNC_SUCCESS) return Error::make("mqtt: publish to \"" + topic + "\": " + errorText(rc), rc);
  lastPublishMonoMs_.store(steadyMs(), std::memory_order_relaxed);
  return r.token;
}

int64_t Client::msSinceLastPublish() const {
  const int64_t last = lastPublishMonoMs_.load(std::memory_order_relaxed);
  return last == 0 ? INT64_MAX : steadyMs() - last;
}

Status Client::subscribe(const std::string& filter, int qos) {
  auto* ctx = new SubContext{this, &handler_, filter};
  MQTTAsync_responseOptions r = MQTTAsync_responseOptions_initializer;
  if (v5()) {
    r.onSuccess5 = &Client::onSubSuccess;
    r.onFailure5 = &Client::onSubFailure;
  } else {
    r.onSuccess = &Client::onSubSuccess3;
    r.onFailure = &Client::onSubFailure3;
  }
  r.context = ctx;
  int rc = MQTTAsync_subscribe(handle_, filter.c_str(), qos, &r);
  if (rc != MQTTASYNC_SUCCESS) {
    delete ctx;
    return Error::make("mqtt: subscribe \"" + filter + "\": " + errorText(rc), rc);
  }
  return {};
}

void Client::disconnect(int timeoutMs) {
  if (!MQTTAsync_isConnected(handle_)) return;
  MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
  if (!v5()) d = MQTTAsync_disconnectOptions_initializer;
  d.timeout = timeoutMs;
  MQTTAsync_disconnect(handle_, &d);
}

bool Client::isConnected() const { return MQTTAsync_isConnected(handle_) != 0; }

int Client::pendingDeliveries() const {
  MQTTAsync_token* tokens = nullptr;
  if (MQTTAsync_getPendingTokens(handle_, &tokens) != MQTTASYNC_SUCCESS || !tokens) return 0;
  int n = 0;
  while (tokens[n] != -1) ++n;
  MQTTAsync_free(tokens);
  return n;
}

std::string Client::lastTlsError() const {
  std::lock_guard lock(tlsMu_);
  return tlsError_;
}

void Client::onConnectSuccess(void* ctx, MQTTAsync_successData5* r) {
  auto* self = static_cast<Client*>(ctx);
  self->handler_.onConnected(r ? r->alt.connect.sessionPresent != 0 : false);
}

void Client::onConnectFailure(void* ctx, MQTTAsync_failureData5* r) {
  auto* self = static_cast<Client*>(ctx);
  std::string reason;
  int code = r ? r->code : -1;
  if (r && r->reasonCode != MQTTREASONCODE_SUCCESS)
    reason = std::string("broker refused: ") + MQTTReasonCode_toString(r->reasonCode);
  else if (r && r->message)
    reason = r->message;
  else
    reason = errorText(code);
  self->connectFailed(std::move(reason), r && r->reasonCode ? int(r->reasonCode) : code);
}

void Client::onConnectSuccess3(void* ctx, MQTTAsync_successData* r) {
  auto* self = static_cast<Client*>(ctx);
  self->handler_.onConnected(r ? r->alt.connect.sessionPresent != 0 : false);
}

void Client::onConnectFailure3(void* ctx, MQTTAsync_failureData* r) {
  auto* self = static_cast<Client*>(ctx);
  int code = r ? r->code : -1;
  std::string reason = connackText(code);
  if (reason.empty()) reason = r && r->message ? std::string(r->message) : errorText(code);
  self->connectFailed(std::move(reason), code);
}

void Client::connectFailed(std::string reason, int code) {
  std::string tls = lastTlsError();
  if (!tls.empty()) reason += "; TLS: " + tls;
  handler_.onConnectFailed(reason, code);
}

void Client::onLost(void* ctx, char* cause) {
  auto* self = static_cast<Client*>(ctx);
  self->handler_.onConnectionLost(cause ? cause : "connection lost");
  if (cause) MQTTAsync_free(cause);
}

int Client::onArrived(void* ctx, char* topic, int topicLen, MQTTAsync_message* m) {
  auto* self = static_cast<Client*>(ctx);
  std::string t = topicLen > 0 ? std::string(topic, size_t(topicLen)) : std::string(topic);
  std::string payload(static_cast<const char*>(m->payload), size_t(m->payloadlen));
  bool dup = m->dup != 0;
  MQTTAsync_freeMessage(&m);
  MQTTAsync_free(topic);
  self->handler_.onMessage(std::move(t), std::move(payload), dup);
  return 1;
}

void Client::onSendSuccess(void* ctx, MQTTAsync_successData5* r) {
  auto* self = static_cast<Client*>(ctx);
  self->handler_.onPublishResult(r->token, true, r->reasonCode);
}

void Client::onSendFailure(void* ctx, MQTTAsync_failureData5* r) {
  auto* self = static_cast<Client*>(ctx);
  self->handler_.onPublishResult(r->token, false, r->reasonCode ? int(r->reasonCode) : r->code);
}

void Client::onSendSuccess3(void* ctx, MQTTAsync_successData* r) {
  auto* self = static_cast<Client*>(ctx);
  self->handler_.onPublishResult(r->token, true, 0);
}

void Client::onSendFailure3(void* ctx, MQTTAsync_failureData* r) {
  auto* self = static_cast<Client*>(ctx);
  self->handler_.onPublishResult(r->token, false, r->code);
}

void Client::onSubSuccess(void* ctx, MQTTAsync_successData5* r) {
  auto* sc = static_cast<SubContext*>(ctx);
  // MQTT v5 single-topic SUBACK: the granted QoS or failure is in reasonCode.
  int rc = r ? int(r->reasonCode) : 0;
  sc->handler->onSubscribeResult(sc->filter, rc < 0x80, rc);
  delete sc;
}

void Client::onSubFailure(void* ctx, MQTTAsync_failureData5* r) {
  auto* sc = static_cast<SubContext*>(ctx);
  sc->handler->onSubscribeResult(sc->filter, false, r ? int(r->reasonCode ? r->reasonCode : r->code) : -1);
  delete sc;
}

void Client::onSubSuccess3(void* ctx, MQTTAsync_successData* r) {
  auto* sc = static_cast<SubContext*>(ctx);
  // 3.1.1 SUBACK: the granted QoS, or 0x80 for a refusal.
  int qos = r ? r->alt.qos : 0;
  sc->handler->onSubscribeResult(sc->filter, qos < 0x80, qos);
  delete sc;
}

void Client::onSubFailure3(void* ctx, MQTTAsync_failureData* r) {
  auto* sc = static_cast<SubContext*>(ctx);
  sc->handler->onSubscribeResult(sc->filter, false, r ? r->code : -1);
  delete sc;
}

int Client::onSslError(const char* str, size_t len, void* ctx) {
  auto* self = static_cast<Client*>(ctx);
  std::lock_guard lock(self->tlsMu_);
  self->tlsError_.assign(str, len);
  while (!self->tlsError_.empty() && (self->tlsError_.back() == '\n' || self->tlsError_.back() == '\r'))
    self->tlsError_.pop_back();
  return 0;
}

}  // namespace mdc::mqtt
