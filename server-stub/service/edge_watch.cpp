#include "server-stub/service/edge_watch.h"

#include <QPointer>

#include <algorithm>

#include "mdc/v1/mdc.pb.h"
#include "shared/infra/log.h"
#include "shared/wire/clock.h"
#include "shared/wire/topics.h"

namespace cad {

namespace log = mdc::log;
namespace topics = mdc::topics;

/** paho's callbacks, posted to the watcher's loop. */
class EdgeWatch::Bridge final : public mdc::mqtt::Handler {
 public:
  explicit Bridge(EdgeWatch* w) : w_(w) {}
  void onConnected(bool) override { post([](EdgeWatch* w) { w->onConnected(); }); }
  void onConnectFailed(const std::string& r, int) override { post([r](EdgeWatch* w) { w->onConnectFailed(r); }); }
  void onConnectionLost(const std::string& c) override { post([c](EdgeWatch* w) { w->onLost(c); }); }
  void onMessage(std::string topic, std::string payload, bool) override {
    // Only a presence's body matters (offline or not): the uplinks are not copied.
    if (topic.size() < 9 || topic.compare(topic.size() - 9, 9, "/presence") != 0) payload.clear();
    post([topic = std::move(topic), payload = std::move(payload)](EdgeWatch* w) { w->onMessage(topic, payload); });
  }
  void onPublishResult(int, bool ok, int code) override {
    if (!ok)
      post([code](EdgeWatch*) {
        log::error("edge-watch", "a liveness notice was refused by the edge (reason " + std::to_string(code) + ")");
      });
  }
  void onSubscribeResult(const std::string& filter, bool ok, int code) override {
    if (!ok)
      post([filter, code](EdgeWatch*) {
        log::error("edge-watch", "the edge refused " + filter + " (reason " + std::to_string(code) +
                                     "): its devices are not watched; check the edge's ACL (user cad-stub)");
      });
  }

 private:
  template <class F>
  void post(F f) {
    QPointer<EdgeWatch> t(w_);
    QMetaObject::invokeMethod(w_, [t, f = std::move(f)]() mutable { if (t) f(t.data()); }, Qt::QueuedConnection);
  }
  EdgeWatch* w_;
};

EdgeWatch::EdgeWatch(EdgeWatchConfig config, QObject* parent)
    : QObject(parent), config_(std::move(config)), bridge_(std::make_unique<Bridge>(this)),
      liveness_(config_.silentAfterMs) {
  tickTimer_.setInterval(config_.tickMs);
  connect(&tickTimer_, &QTimer::timeout, this, [this] { tick(); });
  reconnectTimer_.setSingleShot(true);
  connect(&reconnectTimer_, &QTimer::timeout, this, [this] {
    if (mdc::Status s = client_->connect(); !s) onConnectFailed(s.error().message);
  });
  statsTimer_.setInterval(60'000);
  connect(&statsTimer_, &QTimer::timeout, this, [this] {
    log::info("edge-watch", "edge " + config_.edge + ": " + std::to_string(liveness_.size()) + " devices watched, " +
                                std::to_string(counters_.beats) + " beats and " + std::to_string(counters_.heard) +
                                " messages heard, " + std::to_string(counters_.silent) + " reported silent, " +
                                std::to_string(counters_.heardAgain) + " heard again");
  });
}

EdgeWatch::~EdgeWatch() = default;

mdc::Status EdgeWatch::start() {
  mdc::mqtt::Options o;
  o.uri = config_.broker;
  o.clientId = config_.clientId;
  o.cleanStart = true;  // it only listens: nothing to keep while it is away
  o.sessionExpiryS = 0;
  o.caFile = config_.tlsCa;
  o.certFile = config_.tlsCert;
  o.keyFile = config_.tlsKey;
  try {
    client_ = std::make_unique<mdc::mqtt::Client>(o, *bridge_);
  } catch (const std::exception& e) {
    return mdc::Error::make(std::string("cad-edge-watch: --broker \"") + config_.broker + "\": " + e.what());
  }
  statsTimer_.start();
  if (mdc::Status s = client_->connect(); !s) onConnectFailed(s.error().message);
  return {};
}

void EdgeWatch::stop() {
  tickTimer_.stop();
  reconnectTimer_.stop();
  if (client_) client_->disconnect(500);
}

void EdgeWatch::onConnected() {
  backoffMs_ = 0;
  // Nothing was heard while the connection was down: the limit counts from now.
  liveness_.restartClock(mdc::SystemClock::instance().monotonicMs());
  for (const auto& f : {topics::allBeat(), topics::allUp(), topics::allPresence()})
    if (mdc::Status s = client_->subscribe(f, 0); !s) log::error("edge-watch", s.error().message);
  tickTimer_.start();
  log::info("edge-watch", "watching edge " + config_.edge + " on " + config_.broker + ": a device that beats and is "
                          "not heard for " + std::to_string(config_.silentAfterMs) + " ms is reported on " +
                          topics::edgeLiveness(config_.edge));
}

void EdgeWatch::onConnectFailed(const std::string& reason) {
  tickTimer_.stop();
  backoffMs_ = backoffMs_ == 0 ? 250 : std::min(backoffMs_ * 2, 5000);
  log::warn("edge-watch", "connect to " + config_.broker + " failed: " + reason + "; retrying in " +
                              std::to_string(backoffMs_) + " ms");
  reconnectTimer_.start(backoffMs_);
}

void EdgeWatch::onLost(const std::string& cause) {
  log::warn("edge-watch", "connection to " + config_.broker + " lost: " + cause);
  onConnectFailed("connection lost");
}

void EdgeWatch::onMessage(const std::string& topic, const std::string& payload) {
  auto parsed = topics::parse(topic);
  if (!parsed || parsed->kind == topics::Kind::Down) return;
  if (parsed->kind == topics::Kind::Presence && isOfflinePresence(payload)) return liveness_.gone(parsed->deviceId);
  const bool beat = parsed->kind == topics::Kind::Beat;
  ++(beat ? counters_.beats : counters_.heard);
  auto& clock = mdc::SystemClock::instance();
  liveness_.heard(parsed->deviceId, beat, clock.monotonicMs(), clock.nowMs());
}

void EdgeWatch::tick() {
  auto silent = liveness_.silentNow(mdc::SystemClock::instance().monotonicMs());
  auto heard = liveness_.takeHeardAgain();
  if (silent.empty() && heard.empty()) return;
  // The watcher cannot know whose unit is online: every device reported
  // counts as reported, and the worker writes only what changes the board.
  auto ids = [](const std::vector<DeviceSilence>& v) {
    std::vector<std::string> out;
    for (const auto& d : v) out.push_back(d.device);
    return out;
  };
  liveness_.reportedSilent(ids(silent));
  counters_.silent += silent.size();
  counters_.heardAgain += heard.size();
  if (!silent.empty())
    log::warn("edge-watch", "not heard for " + std::to_string(config_.silentAfterMs) + " ms: " + deviceNames(ids(silent)));
  if (!heard.empty()) log::info("edge-watch", "heard again: " + deviceNames(ids(heard)));
  publish(silent, heard);
}

void EdgeWatch::publish(const std::vector<DeviceSilence>& silent, const std::vector<DeviceSilence>& heard) {
  const size_t per = size_t(std::max(1, config_.maxPerNotice));
  size_t s = 0, h = 0;
  while (s < silent.size() || h < heard.size()) {
    mdc::v1::EdgeLiveness notice;
    notice.set_edge(config_.edge);
    for (size_t n = 0; n < per && s < silent.size(); ++n, ++s) {
      auto* d = notice.add_silent();
      d->set_device_id(silent[s].device);
      d->set_last_heard_ms(silent[s].lastHeardMs);
    }
    for (size_t n = size_t(notice.silent_size()); n < per && h < heard.size(); ++n, ++h) {
      auto* d = notice.add_heard();
      d->set_device_id(heard[h].device);
      d->set_last_heard_ms(heard[h].lastHeardMs);
    }
    if (auto r = client_->publish(topics::edgeLiveness(config_.edge), notice.SerializeAsString(), 1); !r)
      log::error("edge-watch", "liveness notice not sent: " + r.error().message);
  }
}

}  // namespace cad
