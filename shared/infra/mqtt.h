#pragma once
// MQTT 5 or 3.1.1 client over paho.mqtt.c (async, paho-mqtt3as). The library calls the
// handler from its own threads: a handler must only hand the work to its own
// event loop and return, never call back into this client from the callback
// (paho's callback thread holds locks; re-entering it has deadlocked clients).
#include <MQTTAsync.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "shared/wire/error.h"

namespace mdc::mqtt {

struct Will {
  std::string topic;
  std::string payload;
  bool retained = true;
  int qos = 1;
};

/** The protocol spoken on the wire. 3.1.1 is for brokers that speak nothing
 *  newer (RabbitMQ 3.10's MQTT plugin); it has no PUBACK or SUBACK reason
 *  codes beyond success/failure, no session expiry (the broker's own setting
 *  decides), no receive maximum and no CONNACK reason strings. */
enum class Version { v5, v311 };

/** "5" or "3.1.1", as configuration files and command lines say it; nullopt otherwise. */
std::optional<Version> parseVersion(std::string_view text);

struct Options {
  std::string uri;            ///< "tcp://127.0.0.1:1883" or "ssl://host:8883"
  std::string clientId;       ///< the device id for devices
  Version version = Version::v5;
  bool cleanStart = false;    ///< persistent sessions by default
  uint32_t sessionExpiryS = 7 * 24 * 3600;  ///< how long the broker keeps the session offline (MQTT 5 only)
  int keepAliveS = 5;         ///< heartbeat; a dead link is noticed within ~1.5x this
  int connectTimeoutS = 10;
  int maxInflight = 64;       ///< QoS 1 publishes in flight before paho queues locally
  std::optional<Will> will;
  std::string caFile;         ///< TLS: CA certificate(s) to trust
  std::string certFile;       ///< TLS: client certificate (PEM)
  std::string keyFile;        ///< TLS: client private key (PEM)
  bool verifyHostname = true; ///< TLS: check the server certificate's name
};

/** Receives the client's events. Called on paho's threads; see the file comment. */
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void onConnected(bool sessionPresent) = 0;
  /** A connect attempt failed; reason is readable ("TLS: certificate verify failed"). */
  virtual void onConnectFailed(const std::string& reason, int code) = 0;
  virtual void onConnectionLost(const std::string& cause) = 0;
  virtual void onMessage(std::string topic, std::string payload, bool dup) = 0;
  /** The broker acknowledged (PUBACK) or refused a publish. reasonCode is the MQTT 5
   *  reason; on 3.1.1 a PUBACK carries none, so it is 0 on success and paho's
   *  error code on failure (a 3.1.1 broker that drops a publish still acks it). */
  virtual void onPublishResult(int token, bool ok, int reasonCode) { (void)token; (void)ok; (void)reasonCode; }
  virtual void onSubscribeResult(const std::string& filter, bool ok, int reasonCode) {
    (void)filter; (void)ok; (void)reasonCode;
  }
};

/** One MQTT connection. Thread-safety: the methods may be called from any one
 *  owning thread; callbacks arrive on paho's threads. */
class Client {
 public:
  /** Creates the client (no network yet); throws std::runtime_error on a bad URI. */
  Client(Options options, Handler& handler);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /** Starts a connect attempt; the outcome arrives as onConnected/onConnectFailed.
   *  Not while connected: call it after onConnectionLost or onConnectFailed.
   *  freshSession: this once, a clean start whatever Options::cleanStart says
   *  (the broker discards the session it holds for this client id). */
  Status connect(bool freshSession = false);
  /** The broker the next connect() goes to (a cluster's next node); not while connected. */
  void setUri(std::string uri);
  /** The will the next connect() leaves with the broker; not while connected. */
  void setWill(std::optional<Will> will);
  /** Publishes; on success token identifies the PUBACK in onPublishResult. */
  Result<int> publish(const std::string& topic, const std::string& payload, int qos = 1, bool retained = false);
  /** Subscribes; the outcome arrives as onSubscribeResult. */
  Status subscribe(const std::string& filter, int qos = 1);
  /** Disconnects cleanly (the will is not sent), waiting up to timeoutMs. */
  void disconnect(int timeoutMs = 1000);
  bool isConnected() const;
  /** Messages handed to paho and not yet acknowledged by the broker. */
  int pendingDeliveries() const;
  /** How long ago the last publish was handed to paho (ms; very large: none yet). */
  int64_t msSinceLastPublish() const;
  const Options& options() const { return opts_; }
  /** Last TLS error reported by OpenSSL during a connect, if any. */
  std::string lastTlsError() const;

 private:
  // paho calls the *5 variants on MQTT 5 connections and the others on 3.1.1.
  static void onConnectSuccess(void* ctx, MQTTAsync_successData5* r);
  static void onConnectFailure(void* ctx, MQTTAsync_failureData5* r);
  static void onConnectSuccess3(void* ctx, MQTTAsync_successData* r);
  static void onConnectFailure3(void* ctx, MQTTAsync_failureData* r);
  static void onLost(void* ctx, char* cause);
  static int onArrived(void* ctx, char* topic, int topicLen, MQTTAsync_message* m);
  static void onSendSuccess(void* ctx, MQTTAsync_successData5* r);
  static void onSendFailure(void* ctx, MQTTAsync_failureData5* r);
  static void onSendSuccess3(void* ctx, MQTTAsync_successData* r);
  static void onSendFailure3(void* ctx, MQTTAsync_failureData* r);
  static void onSubSuccess(void* ctx, MQTTAsync_successData5* r);
  static void onSubFailure(void* ctx, MQTTAsync_failureData5* r);
  static void onSubSuccess3(void* ctx, MQTTAsync_successData* r);
  static void onSubFailure3(void* ctx, MQTTAsync_failureData* r);
  void connectFailed(std::string reason, int code);
  bool v5() const { return opts_.version == Version::v5; }
  static int onSslError(const char* str, size_t len, void* ctx);
  void create();
  /** The TLS options of an ssl:// or mqtts:// URI; false for a plain one. */
  bool tlsOptions(MQTTAsync_SSLOptions& ssl);
  void destroy(int timeoutMs);

  Options opts_;
  Handler& handler_;
  MQTTAsync handle_ = nullptr;
  bool attempted_ = false;  ///< connect() was called on handle_ already, or its URI changed: make a new one
  mutable std::mutex tlsMu_;
  std::string tlsError_;
  std::atomic<int64_t> lastPublishMonoMs_{0};
};

/** paho's text for an error code. */
std::string errorText(int code);

}  // namespace mdc::mqtt
