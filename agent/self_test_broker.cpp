// The self-test's broker checks: each broker of the list reached over TLS
// with this device's identity, and a round trip through it to the backend.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "agent/self_test.h"
#include "mdc/v1/mdc.pb.h"
#include "shared/wire/clock.h"
#include "shared/wire/codec.h"
#include "shared/infra/mqtt.h"
#include "shared/wire/topics.h"
#include "shared/wire/uuid.h"

namespace mdc::provision {

namespace {

// host and port of tcp://host:port or ssl://host:port.
bool splitBroker(const std::string& uri, std::string& host, int& port) {
  auto scheme = uri.find("://");
  std::string rest = scheme == std::string::npos ? uri : uri.substr(scheme + 3);
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) return false;
  host = rest.substr(0, colon);
  port = std::atoi(rest.substr(colon + 1).c_str());
  return !host.empty() && port > 0 && port < 65536;
}

// A plain TCP connect with a timeout: "" when it connects, else the reason.
std::string tcpReachable(const std::string& host, int port, int timeoutMs) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
    return std::string("name not found: ") + gai_strerror(rc);
  std::string why = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, timeoutMs) == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        errno = ETIMEDOUT;
      }
    }
    if (rc == 0) {
      ::close(fd);
      ::freeaddrinfo(res);
      return "";
    }
    why = errno == ECONNREFUSED ? "connection refused" : errno == ETIMEDOUT ? "timed out" : std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return why;
}

// Collects one connection's outcome and the first downlink, from paho's threads.
class Probe final : public mqtt::Handler {
 public:
  void onConnected(bool) override { set([&] { connected = true; }); }
  void onConnectFailed(const std::string& reason, int code) override {
    set([&] {
      failed = true;
      failReason = reason + " (" + std::to_string(code) + ")";
    });
  }
  void onConnectionLost(const std::string& cause) override {
    set([&] {
      lost = true;
      lostCause = cause;
    });
  }
  void onMessage(std::string, std::string payload, bool) override {
    set([&] { downlinks.push_back(std::move(payload)); });
  }
  void onPublishResult(int, bool ok, int reasonCode) override {
    set([&] {
      published = true;
      publishOk = ok;
      publishReason = reasonCode;
    });
  }
  void onSubscribeResult(const std::string&, bool ok, int) override {
    set([&] {
      subscribed = true;
      subscribeOk = ok;
    });
  }
  template <class Pred>
  bool waitFor(Pred pred, int timeoutMs) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] { return pred(); });
  }

  std::mutex mu;
  std::condition_variable cv;
  bool connected = false, failed = false, lost = false, published = false, publishOk = false, subscribed = false,
       subscribeOk = false;
  int publishReason = 0;
  std::string failReason, lostCause;
  std::vector<std::string> downlinks;

 private:
  template <class F>
  void set(F f) {
    {
      std::lock_guard lock(mu);
      f();
    }
    cv.notify_all();
  }
};

// Words a technician understands for a TLS refusal, from OpenSSL's text.
std::string explainTls(const std::string& tls) {
  if (tls.find("revoked") != std::string::npos) return "the broker refused this device's certificate: it is revoked";
  if (tls.find("expired") != std::string::npos) return "the broker refused this device's certificate: it has expired";
  if (tls.find("unknown ca") != std::string::npos || tls.find("bad certificate") != std::string::npos)
    return "the broker refused this device's certificate: not issued by the fleet's CA";
  if (tls.find("certificate required") != std::string::npos || tls.find("handshake failure") != std::string::npos)
    return "the broker requires a device certificate and got none";
  if (tls.find("certificate verify failed") != std::string::npos)
    return "the broker's certificate is not signed by the CA this device trusts (tls.ca)";
  return "";
}

// What the broker says about this identity in a TLS 1.2 handshake of our own:
// with TLS 1.2 the broker checks the client certificate inside the handshake and
// names its objection in an alert ("certificate revoked", "unknown ca"), where
// TLS 1.3 (paho's choice) only closes the connection afterwards. "" when the
// handshake succeeds; otherwise OpenSSL's reason.
std::string tlsHandshakeVerdict(const std::string& host, int port, const agent::AgentConfig& cfg, int timeoutMs) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res) return "name not found";
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  bool connected = fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0;
  ::freeaddrinfo(res);
  if (!connected) {
    if (fd >= 0) ::close(fd);
    return "connect failed";
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  std::string verdict;
  if (!ctx) verdict = "no TLS context";
  if (ctx) {
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    if (!cfg.tlsCa.empty()) SSL_CTX_load_verify_locations(ctx, cfg.tlsCa.c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (!cfg.tlsCert.empty() && !cfg.tlsKey.empty() &&
        (SSL_CTX_use_certificate_chain_file(ctx, cfg.tlsCert.c_str()) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx, cfg.tlsKey.c_str(), SSL_FILETYPE_PEM) != 1))
      ERR_clear_error();  // the identity checks above report unreadable files
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, host.c_str());
    ERR_clear_error();
    if (SSL_connect(ssl) != 1) {
      unsigned long e = ERR_get_error();
      char buf[256] = "handshake failed";
      if (e) ERR_error_string_n(e, buf, sizeof buf);
      verdict = buf;
      ERR_clear_error();
    } else {
      // The broker may still refuse after the handshake: read briefly for an alert.
      char b;
      if (SSL_read(ssl, &b, 1) <= 0) {
        unsigned long e = ERR_get_error();
        if (e) {
          char buf[256];
          ERR_error_string_n(e, buf, sizeof buf);
          verdict = buf;
        }
        ERR_clear_error();
      }
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
  ::close(fd);
  return verdict;
}

// The self-test's own MQTT session with uri, with this device's identity.
mqtt::Options probeOptions(const SelfTestRun& r, const std::string& uri) {
  mqtt::Options mo;
  mo.uri = uri;
  mo.version = *mqtt::parseVersion(r.cfg.mqttVersion);  // checked by the config
  // Its own client id, so a running agent's session is not taken over.
  mo.clientId = r.cfg.deviceId + ".selftest";
  mo.cleanStart = true;
  mo.sessionExpiryS = 0;
  mo.connectTimeoutS = r.o.timeoutS;
  if (uri.rfind("ssl://", 0) == 0) {
    mo.caFile = r.cfg.tlsCa;
    if (r.identityOk || !r.certProblem.empty()) {
      mo.certFile = r.cfg.tlsCert;
      mo.keyFile = r.cfg.tlsKey;
    }
  }
  return mo;
}

// The broker's refusal, in words where they are known, with the raw reason.
void reportRefusal(SelfTestRun& r, mqtt::Client& client, const Probe& probe, const mqtt::Options& mo,
                   const std::string& host, int port, const std::string& brokerName) {
  std::string tls = client.lastTlsError();
  if (tls.empty() && mo.uri.rfind("ssl://", 0) == 0) tls = tlsHandshakeVerdict(host, port, r.cfg, r.o.timeoutS * 1000);
  std::string words = !r.certProblem.empty()     ? "the broker refused this device: " + r.certProblem
                      : !explainTls(tls).empty() ? explainTls(tls)
                      : mo.certFile.empty()      ? "the broker requires a device certificate: none installed"
                                                 : "";
  std::string raw = probe.failed ? probe.failReason
                    : probe.lost ? "connection lost: " + probe.lostCause
                                 : "no answer";
  if (!tls.empty()) raw += "; TLS: " + tls;
  r.add(brokerName, Level::Fail,
        (words.empty() ? "broker at " + host + ":" + std::to_string(port) + " refused the connection" : words) +
            " [" + raw + "]");
}

// The round trip's probe: a Presence on the up topic. The backend stores
// nothing for it and answers on the down topic, with UNKNOWN_DEVICE when the
// device is not registered and otherwise with a "wrong_topic" rejection:
// either answer proves broker -> stub -> broker -> device works with this identity.
v1::Envelope presenceProbe(const agent::AgentConfig& cfg) {
  v1::Envelope env;
  env.set_version(1);
  env.set_event_id(UuidV7Generator().next());
  env.set_device_id(cfg.deviceId);
  env.set_unit_id(cfg.unitId);
  env.set_agency(cfg.agency);
  env.set_seq(0);
  env.set_recorded_at_ms(SystemClock::instance().nowMs());
  env.set_clock_source(v1::CLOCK_SOURCE_SYSTEM);
  env.mutable_presence()->set_online(true);
  env.mutable_presence()->set_agent_version("self-test");
  return env;
}

// 6. round trip through the backend, over a connected client.
void checkRoundTrip(SelfTestRun& r, mqtt::Client& client, Probe& probe, const std::string& tripName) {
  const agent::AgentConfig& cfg = r.cfg;
  (void)client.subscribe(topics::down(cfg.deviceId), 1);
  probe.waitFor([&] { return probe.subscribed; }, r.o.timeoutS * 1000);
  auto bytes = codec::encodeEnvelope(presenceProbe(cfg));
  if (!bytes) {
    r.add(tripName, Level::Fail, "cannot build the probe: " + bytes.error().message);
    return;
  }
  if (auto tok = client.publish(topics::up(cfg.deviceId), *bytes, 1, false); !tok) {
    r.add(tripName, Level::Fail, "publish failed: " + tok.error().message);
    return;
  }
  bool answered = probe.waitFor(
      [&] { return !probe.downlinks.empty() || (probe.published && !probe.publishOk) || probe.lost; },
      r.o.timeoutS * 1000);
  std::lock_guard lock(probe.mu);
  if (probe.published && !probe.publishOk) {
    char reason[8];
    std::snprintf(reason, sizeof reason, "%02x", probe.publishReason);
    r.add(tripName, Level::Fail,
          std::string("the broker refused this device's publish on its own topic (reason 0x") + reason +
              "): check the broker's ACL");
  } else if (!answered || probe.downlinks.empty()) {
    r.add(tripName, Level::Fail,
          "the backend did not answer within " + std::to_string(r.o.timeoutS) + " s (is cad-stub running?)");
  } else {
    auto dl = codec::decodeDownlink(probe.downlinks.front());
    if (dl && dl->has_rejection() && dl->rejection().reason() == v1::REJECT_REASON_UNKNOWN_DEVICE)
      r.add(tripName, Level::Fail,
            "the backend answered, but does not know this device (register it: cadctl devices add " + cfg.deviceId +
                " --unit UNIT)");
    else
      r.add(tripName, Level::Pass, "the backend answered through the broker");
  }
}

// 5. one broker over TLS with this identity, then 6. through it to the backend.
void checkBroker(SelfTestRun& r, const std::string& uri, const std::string& brokerName, const std::string& tripName) {
  std::string host;
  int port = 0;
  if (!splitBroker(uri, host, port)) {
    r.add(brokerName, Level::Fail, "broker \"" + uri + "\" has no host:port");
    return;
  }
  if (std::string why = tcpReachable(host, port, r.o.timeoutS * 1000); !why.empty()) {
    r.add(brokerName, Level::Fail, "broker not reachable at " + host + ":" + std::to_string(port) + " (" + why + ")");
    r.add(tripName, Level::Fail, "not tried: the broker is not reachable");
    return;
  }
  Probe probe;
  const mqtt::Options mo = probeOptions(r, uri);
  std::unique_ptr<mqtt::Client> client;
  try {
    client = std::make_unique<mqtt::Client>(mo, probe);
  } catch (const std::exception& e) {
    r.add(brokerName, Level::Fail, std::string("broker \"") + uri + "\": " + e.what());
  }
  if (client && client->connect().ok() &&
      probe.waitFor([&] { return probe.connected || probe.failed || probe.lost; }, (r.o.timeoutS + 2) * 1000) &&
      probe.connected) {
    // TLS 1.3 reports a refused client certificate only after the handshake: settle.
    probe.waitFor([&] { return probe.lost; }, 300);
  }
  bool up = client && probe.connected && !probe.lost;
  if (up)
    r.add(brokerName, Level::Pass, "connected to " + host + ":" + std::to_string(port) + " as " + r.cfg.deviceId);
  else if (client)
    reportRefusal(r, *client, probe, mo, host, port, brokerName);
  if (!up) {
    r.add(tripName, Level::Fail, "not tried: no connection to the broker");
    return;
  }
  checkRoundTrip(r, *client, probe, tripName);
  client->disconnect(500);
  // Freed only once the disconnect is done: paho destroyed with its
  // disconnect still queued could leave work behind it (seen as a
  // sanitizer abort of this short-lived probe on a loaded machine).
  for (int i = 0; i < 150 && client->isConnected(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace

// 5. and 6. for each node of a broker list, since the agent may be on any of them.
void checkBrokers(SelfTestRun& r) {
  const auto brokerList = r.cfg.brokers();
  for (size_t bi = 0; bi < brokerList.size(); ++bi) {
    const std::string place =
        brokerList.size() == 1 ? "" : " " + std::to_string(bi + 1) + " of " + std::to_string(brokerList.size());
    checkBroker(r, brokerList[bi], "broker" + place, "backend round trip" + (place.empty() ? "" : " via broker" + place));
  }
}

}  // namespace mdc::provision
