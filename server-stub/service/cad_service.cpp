#include "server-stub/store/read_models.h"
#include "server-stub/service/cad_service.h"

#include <QPointer>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <mutex>
#include <thread>
#include <csignal>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/wire/clock.h"
#include "shared/wire/codec.h"
#include "shared/infra/log.h"
#include "shared/wire/topics.h"

namespace cad {

namespace log = mdc::log;
namespace topics = mdc::topics;

class ServiceBridge final : public mdc::mqtt::Handler {
 public:
  explicit ServiceBridge(CadService* s) : s_(s) {}
  void onConnected(bool) override { post([](CadService* s) { s->onConnected(); }); }
  void onConnectFailed(const std::string& r, int) override { post([r](CadService* s) { s->onConnectFailed(r); }); }
  void onConnectionLost(const std::string& c) override { post([c](CadService* s) { s->onLost(c); }); }
  void onSubscribeResult(const std::string& filter, bool ok, int code) override {
    post([filter, ok, code](CadService* s) { s->onSubscribed(filter, ok, code); });
  }
  // Messages arrive on paho's thread one by one; posting each as its own
  // queued call cost more than storing it. They are collected here and handed
  // over in one call per wake-up of the service's loop, in arrival order.
  // Each is stamped with its arrival here: the wait behind a slow commit
  // counts in the ingest lag the acks report.
  void onMessage(std::string topic, std::string payload, bool) override {
    bool wake = false;
    const int64_t now = mdc::SystemClock::instance().nowMs();
    {
      std::lock_guard lock(mu_);
      wake = arrived_.empty();
      arrived_.push_back(Arrived{std::move(topic), std::move(payload), now});
    }
    if (wake)
      post([this](CadService* s) {
        std::vector<Arrived> batch;
        {
          std::lock_guard lock(mu_);
          batch.swap(arrived_);
        }
        for (auto& a : batch) s->onMessage(a.topic, std::move(a.payload), a.atMs);
      });
  }

 private:
  struct Arrived {
    std::string topic, payload;
    int64_t atMs;
  };
  std::mutex mu_;
  std::vector<Arrived> arrived_;  // guarded by mu_
  template <class F>
  void post(F f) {
    QPointer<CadService> t(s_);
    QMetaObject::invokeMethod(s_, [t, f = std::move(f)]() mutable { if (t) f(t.data()); }, Qt::QueuedConnection);
  }
  CadService* s_;
};

namespace {
/** Runs f; a database error (a PostgreSQL server lost, a failover) is logged
 *  and the event loop carries on: what failed is done again by the next
 *  timer, message or request. */
template <class F>
void guarded(const char* what, F&& f) {
  try {
    f();
  } catch (const mdc::sql::DbError& e) {
    log::error("stub", std::string(what) + ": " + e.what());
  }
}
}  // namespace

CadService::CadService(ServiceConfig config, EventStore& store, QObject* parent)
    : QObject(parent), config_(std::move(config)), store_(store),
      nearby_(uint32_t(config_.nearbyRadiusM), config_.nearbyIntervalMs, config_.nearbyRefreshMs) {
  if (config_.controlPath.empty()) config_.controlPath = sideFileBase(config_.dbPath) + ".ctl";
  store_.setAcceptAvlBatches(config_.acceptAvlBatches);
  flushTimer_.setSingleShot(true);
  connect(&flushTimer_, &QTimer::timeout, this, [this] { guarded("ingest", [this] { flush(); }); });
  reconnectTimer_.setSingleShot(true);
  connect(&reconnectTimer_, &QTimer::timeout, this, [this] {
    if (mdc::Status s = client_->connect(); !s) onConnectFailed(s.error().message);
  });
  downlinkTimer_.setInterval(1000);
  connect(&downlinkTimer_, &QTimer::timeout, this,
          [this] { guarded("downlink resend", [this] { pumpDownlinks(); }); });
  scheduleTimer_.setInterval(1000);  // a scheduled call is created within a second of its time
  connect(&scheduleTimer_, &QTimer::timeout, this, [this] { guarded("schedules", [this] { runSchedules(); }); });
  nearbyTimer_.setInterval(1000);  // emergencies reach nearby units within a second
  connect(&nearbyTimer_, &QTimer::timeout, this, [this] { guarded("nearby units", [this] { publishNearby(); }); });
  boardTimer_.setInterval(1000);  // a supervisor sees a change within a second
  connect(&boardTimer_, &QTimer::timeout, this, [this] { guarded("boards", [this] { publishBoards(); }); });
  livenessTimer_.setInterval(250);
  connect(&livenessTimer_, &QTimer::timeout, this, [this] { guarded("liveness", [this] { watchLiveness(); }); });
  statsTimer_.setInterval(10000);
  connect(&statsTimer_, &QTimer::timeout, this, [this] { guarded("stats", [this] { logStats(); }); });
}

CadService::~CadService() {
  amqp_.reset();  // its thread stops before the service it posts to goes
  amqpOut_.reset();
  client_.reset();
}

mdc::Status CadService::start() {
  if (Status s = openControlSocket(); !s) return s;
  if (config_.est.port > 0) {
    est_ = std::make_unique<EstServer>(config_.est, store_);
    if (Status s = est_->start(); !s) return s;
  }
  if (config_.metricsPort > 0) {
    if (Status s = openMetrics(); !s) return s;
  }
  if (config_.recordsPath.empty()) config_.recordsPath = sideFileBase(config_.dbPath) + ".records";
  auto records = records::RecordsSystem::open(config_.recordsPath);
  if (!records) return records.error();
  records_ = std::move(*records);
  auto held = records_->counts();
  log::info("stub", "records system " + config_.recordsPath + ": " + std::to_string(held.vehicles) + " vehicles, " +
                        std::to_string(held.persons) + " persons, " + std::to_string(held.flags) + " flags");
  bridge_ = std::make_unique<ServiceBridge>(this);
  if (config_.amqpUris.empty()) makeMqttClient();
  statsTimer_.start();
  downlinkTimer_.start();
  if (config_.nearbyIntervalMs > 0) nearbyTimer_.start();
  scheduleTimer_.start();
  boardTimer_.start();
  if (config_.silentAfterMs > 0 && !sharesStore()) {
    liveness_ = std::make_unique<Liveness>(config_.silentAfterMs);
    livenessTimer_.start();
  }
  runSchedules();  // occurrences missed while the stub was down: created now, marked late
  log::info("stub", "store " + store_.db().path() + " at event " + std::to_string(store_.log().stats().lastPos) +
                        "; control socket " + config_.controlPath);
  if (!config_.amqpUris.empty()) {
    amqp::Config ac;
    ac.uris = config_.amqpUris;
    ac.queue = config_.amqpQueue;
    ac.prefetch = std::max(config_.batchMax, 100);
    QPointer<CadService> self(this);
    amqp::Consumer::Handler h;
    h.deliveries = [self](std::vector<amqp::Delivery> batch) {
      auto shared = std::make_shared<std::vector<amqp::Delivery>>(std::move(batch));
      QMetaObject::invokeMethod(
          self.data(), [self, shared] { if (self) self->onDeliveries(std::move(*shared)); }, Qt::QueuedConnection);
    };
    h.state = [self](bool up, const std::string& what) {
      QMetaObject::invokeMethod(
          self.data(), [self, up, what] { if (self) self->onAmqpState(up, what); }, Qt::QueuedConnection);
    };
    amqp_ = std::make_unique<amqp::Consumer>(ac, h);
    amqp::Publisher::Handler out;
    out.state = [self](bool up, const std::string& what) {
      QMetaObject::invokeMethod(
          self.data(), [self, up, what] { if (self) self->onAmqpOutState(up, what); }, Qt::QueuedConnection);
    };
    amqpOut_ = std::make_unique<amqp::Publisher>(config_.amqpUris, out);
    amqpOut_->start();
    amqp_->start();
    log::info("stub", "ingest: queue " + config_.amqpQueue + " over AMQP (a worker); commit acks and downlinks over AMQP");
    return {};
  }
  if (mdc::Status s = client_->connect(); !s) onConnectFailed(s.error().message);
  return {};
}

void CadService::makeMqttClient() {
  mdc::mqtt::Options o;
  for (size_t at = 0; at <= config_.broker.size();) {
    const size_t comma = std::min(config_.broker.find(',', at), config_.broker.size());
    brokers_.push_back(config_.broker.substr(at, comma - at));
    at = comma + 1;
  }
  o.uri = brokers_.front();
  o.version = config_.mqttVersion;
  o.clientId = config_.clientId;
  o.cleanStart = false;
  o.maxInflight = 1024;
  o.caFile = config_.tlsCa;
  o.certFile = config_.tlsCert;
  o.keyFile = config_.tlsKey;
  client_ = std::make_unique<mdc::mqtt::Client>(o, *bridge_);
}

void CadService::stop() {
  if (amqp_) amqp_->stop();  // what it delivered and this flush stores is acked by nobody: delivered again
  guarded("ingest", [this] { flush(); });
  statsTimer_.stop();
  guarded("stats", [this] { logStats(); });
  if (client_) client_->disconnect(500);
  if (amqpOut_) amqpOut_->stop();  // the last acks go out first
}

void CadService::linkUp() {
  online_ = true;
  lastResendMonoMs_.clear();  // whatever was sent before may be lost: the outbox goes again
}

void CadService::linkDown() {
  online_ = false;
  nearby_.reset();  // what was sent may be lost: every unit is told again
  boards_.reset();
}

void CadService::onConnected() {
  linkUp();  // the outbox goes again once subscribed (onSubscribed)
  backoffMs_ = 0;
  log::info("stub", "connected to " + brokers_[brokerIndex_]);
  auto filter = [&](const std::string& f) {
    return config_.sharedGroup.empty() ? f : topics::shared(config_.sharedGroup, f);
  };
  for (const auto& f : {filter(topics::allUp()), filter(topics::allPresence())})
    if (mdc::Status s = client_->subscribe(f, 1); !s) log::error("stub", s.error().message);
  if (liveness_)
    if (mdc::Status s = client_->subscribe(topics::allBeat(), 0); !s) log::error("stub", s.error().message);
  // mosquitto counts the messages it drops (a client's queue over
  // max_queued_messages): heard, so a drop towards this stub is logged.
  // Over MQTT 5 only: RabbitMQ (3.1.1 here) has no $SYS tree.
  if (config_.mqttVersion == mdc::mqtt::Version::v5)
    if (mdc::Status s = client_->subscribe(kBrokerDroppedTopic, 0); !s) log::warn("stub", s.error().message);
}

void CadService::brokerDropped(const std::string& payload) {
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), n);
  if (ec != std::errc() || end != payload.data() + payload.size()) {
    log::warn("stub", std::string(kBrokerDroppedTopic) + ": not a count: \"" + payload.substr(0, 40) + "\"");
    return;
  }
  // The broker's own total since it started (it restarted when it goes down).
  const uint64_t before = brokerDroppedHeard_ && n >= counters_.brokerDropped ? counters_.brokerDropped : 0;
  if (n > before)
    log::error("stub", "the broker dropped " + std::to_string(n - before) + " messages" +
                           (brokerDroppedHeard_ ? "" : " since it started") +
                           " (a client's queue over max_queued_messages: this stub's, or a slow device's); devices "
                           "send again what had no commit ack, and downlinks go again from the outbox; raise the "
                           "broker's limits (README, \"Under load\")");
  brokerDroppedHeard_ = true;
  counters_.brokerDropped = n;
}

void CadService::onSubscribed(const std::string& filter, bool ok, int code) {
  if (filter == topics::allBeat()) {
    if (!ok)
      log::error("stub", "the broker refused " + filter + " (reason " + std::to_string(code) +
                             "): a silent device is noticed only when the broker drops its connection");
    return;
  }
  if (filter == kBrokerDroppedTopic) {
    if (!ok) log::warn("stub", "the broker refused " + filter + " (reason " + std::to_string(code) + "): its drops go unseen");
    return;
  }
  if (!ok) {
    log::error("stub", "subscription to \"" + filter + "\" refused (reason " + std::to_string(code) + ")");
    return;
  }
  ++subscribed_;
  log::info("stub", "subscribed to " + filter);
  if (subscribed_ >= 2) guarded("downlink resend", [this] { pumpDownlinks(); });
}

void CadService::onConnectFailed(const std::string& reason) {
  online_ = false;
  subscribed_ = 0;
  backoffMs_ = backoffMs_ == 0 ? 250 : std::min(backoffMs_ * 2, 5000);
  const std::string failed = brokers_[brokerIndex_];
  if (brokers_.size() > 1) {
    // A cluster: the next node.
    brokerIndex_ = (brokerIndex_ + 1) % brokers_.size();
    client_->setUri(brokers_[brokerIndex_]);
  }
  log::warn("stub", "connect to " + failed + " failed: " + reason + "; retrying " +
                        (brokers_.size() > 1 ? "with " + brokers_[brokerIndex_] + " " : std::string()) + "in " +
                        std::to_string(backoffMs_) + " ms");
  reconnectTimer_.start(backoffMs_);
}

void CadService::onLost(const std::string& cause) {
  linkDown();
  log::warn("stub", "connection lost: " + cause);
  onConnectFailed("connection lost");
}

void CadService::onMessage(const std::string& topic, std::string payload, int64_t receivedAtMs) {
  if (topic == kBrokerDroppedTopic) return brokerDropped(payload);
  receive(topic, std::move(payload), receivedAtMs);
}

void CadService::onAmqpState(bool up, const std::string& what) {
  amqpUp_ = up;
  (up ? log::info : log::warn)("stub", what);
}

void CadService::onAmqpOutState(bool up, const std::string& what) {
  (up ? log::info : log::warn)("stub", what);
  if (up == online_) return;
  if (!up) return linkDown();
  linkUp();
  guarded("downlink resend", [this] { pumpDownlinks(); });
}

void CadService::onDeliveries(std::vector<amqp::Delivery> batch) {
  for (auto& d : batch) {
    if (d.redelivered) ++counters_.redelivered;
    uint64_t& last = pendingTags_[d.connection];
    last = std::max(last, d.tag);
    receive(d.topic, std::move(d.body), mdc::SystemClock::instance().nowMs());
  }
  if (pending_.empty() && !pendingTags_.empty()) guarded("ingest", [this] { flush(); });  // nothing but refusals
}

void CadService::receive(const std::string& topic, std::string payload, int64_t receivedAtMs) {
  ++counters_.received;
  if (auto edge = topics::parseEdgeLiveness(topic)) return edgeNotice(*edge, payload);
  auto parsed = topics::parse(topic);
  if (!parsed || parsed->kind == topics::Kind::Down) {
    ++counters_.refused;
    ++counters_.refusedByReason["bad_topic"];
    log::warn("stub", "message on unexpected topic \"" + topic + "\" ignored");
    return;
  }
  const bool beat = parsed->kind == topics::Kind::Beat;
  if (liveness_) {
    if (parsed->kind == topics::Kind::Presence && isOfflinePresence(payload)) liveness_->gone(parsed->deviceId);
    else liveness_->heard(parsed->deviceId, beat, mdc::SystemClock::instance().monotonicMs(), receivedAtMs);
  }
  if (beat) {
    ++counters_.beats;
    return;  // heard, nothing to store
  }
  pending_.push_back(Incoming{parsed->deviceId, parsed->kind == topics::Kind::Presence, std::move(payload),
                              receivedAtMs});
  if (int(pending_.size()) >= config_.batchMax) guarded("ingest", [this] { flush(); });
  else if (!flushTimer_.isActive()) flushTimer_.start(config_.batchMs);
}

void CadService::flush() {
  flushTimer_.stop();
  // The AMQP messages of this batch: acknowledged once it is committed,
  // returned to the queue if it is not.
  std::map<uint64_t, uint64_t> tags;
  tags.swap(pendingTags_);
  auto settle = [this, &tags](bool stored) {
    if (!amqp_) return;
    for (const auto& [connection, tag] : tags) amqp_->settle(connection, tag, stored);
  };
  // What edge watchers saw, before the batch: a failure returns both to the queue.
  if (!recordEdgeNotices()) {
    const size_t n = pending_.size();
    if (amqp_) pending_.clear();  // they go back to the queue with the notices
    return commitFailed(Error::make("store: edge liveness notices not written"), n, tags);
  }
  if (pending_.empty()) {
    settle(true);  // refused before the store (a topic not ours), or notices only: nothing more to store
    return;
  }
  std::vector<Incoming> batch;
  batch.swap(pending_);
  auto out = commitTimed(batch);
  if (!out) return commitFailed(out.error(), batch.size(), tags);
  countCommitted(*out, batch.size());
  // The batch's devices, their units and downlink heads as the transaction
  // read them: nothing is read again to ack. Where other stubs commit too,
  // what was remembered of other units may be stale and is forgotten.
  if (sharesStore()) {
    unitCache_.clear();
    headCache_.clear();
  }
  for (const auto& [device, unit] : out->unitOf) unitCache_[device] = unit;
  for (const auto& [unit, head] : out->downlinkHeads) headCache_[unit] = head;
  // Only now, after COMMIT, may anything leave: acks first, then what the
  // events produced, then resync answers. The queue hears first: its
  // messages are stored, and a worker that dies before this leaves them to
  // be delivered again (a device that misses its ack sends again anyway).
  if (amqp_ && config_.faultKillBeforeAckAfter > 0 && ++faultBatches_ >= config_.faultKillBeforeAckAfter) {
    log::error("stub", "CAD_STUB_FAULT=kill-before-ack: killed after committing " + std::to_string(batch.size()) +
                           " messages, before acknowledging them to the queue");
    ::kill(::getpid(), SIGKILL);
  }
  settle(true);
  publishCommitted(batch, *out);
}

Result<BatchOutcome> CadService::commitTimed(const std::vector<Incoming>& batch) {
  const int64_t t0 = mdc::SystemClock::instance().monotonicMs();
  auto out = store_.ingest(batch);
  if (config_.faultSlowCommitUs > 0)  // a slow disk: the commit takes longer, the loop waits for it
    std::this_thread::sleep_for(std::chrono::microseconds(int64_t(config_.faultSlowCommitUs) * int64_t(batch.size())));
  const int64_t commitMs = mdc::SystemClock::instance().monotonicMs() - t0;
  counters_.ingestBusyMs += commitMs;
  counters_.commitMsMax = std::max(counters_.commitMsMax, commitMs);
  if (commitMs > kSlowCommitMs) {
    // Every ack of the batch waited this long: say so.
    ++counters_.slowCommits;
    log::warn("stub",
              "slow commit: " + std::to_string(batch.size()) + " messages in " + std::to_string(commitMs) + " ms");
  }
  if (log::level() <= log::Level::Debug)
    log::debug("stub", "batch of " + std::to_string(batch.size()) + " committed in " + std::to_string(commitMs) +
                           " ms, first received " +
                           std::to_string(mdc::SystemClock::instance().nowMs() - batch.front().receivedAtMs) +
                           " ms ago");
  return out;
}

void CadService::commitFailed(const Error& error, size_t messages, const std::map<uint64_t, uint64_t>& tags) {
  // Nothing was committed and nothing is acked: the devices resend; over
  // AMQP the messages go back to the queue, after a pause (the database
  // may be failing over), for this worker or another.
  ++counters_.commitFailures;
  log::error("stub", error.message + " (" + std::to_string(messages) + " messages; " +
                         (amqp_ ? "back to the queue" : "devices will resend") + ")");
  if (amqp_)
    QTimer::singleShot(500, this, [this, tags] {
      if (amqp_)
        for (const auto& [connection, tag] : tags) amqp_->settle(connection, tag, false);
    });
}

void CadService::countCommitted(const BatchOutcome& out, size_t messages) {
  ++counters_.batches;
  counters_.maxBatch = std::max<uint64_t>(counters_.maxBatch, messages);
  counters_.appended += uint64_t(out.appended);
  counters_.duplicates += uint64_t(out.duplicates);
  for (const auto& [device, n] : out.duplicatesByDevice) counters_.duplicatesByDevice[device] += uint64_t(n);
  counters_.avlBatches += uint64_t(out.avlBatches);
  counters_.batchedReports += uint64_t(out.batchedReports);
  if (out.clamped > 0) {
    counters_.clockAheadClamped += uint64_t(out.clamped);
    log::warn("stub", std::to_string(out.clamped) + " events recorded more than " +
                          std::to_string(kMaxRecordedAheadMs / 1000) + " s ahead of their arrival: clamped to it");
  }
  for (const auto& r : out.refused) {
    ++counters_.refused;
    ++counters_.refusedByReason[r.reason];
    log::warn("stub", "refused from " + r.deviceId + ": " + r.reason + ": " + r.detail);
  }
}

void CadService::publishCommitted(const std::vector<Incoming>& batch, const BatchOutcome& out) {
  // How long this batch's oldest message waited here: the devices pace themselves by it.
  int64_t oldest = batch.front().receivedAtMs;
  for (const auto& in : batch) oldest = std::min(oldest, in.receivedAtMs);
  counters_.ingestLagMs = std::clamp<int64_t>(mdc::SystemClock::instance().nowMs() - oldest, 0, mdc::codec::kMaxIngestLagMs);
  counters_.ingestLagMsMax = std::max(counters_.ingestLagMsMax, counters_.ingestLagMs);
  publishAcks(out.acks, counters_.ingestLagMs);
  publish(out.downlinks);
  for (const auto& [device, after] : out.resyncs) handleResync(device, after);
  for (const auto& q : out.queries) {
    if (config_.recordsDelayMs <= 0) answerQuery(q);
    // Precise: a coarse timer may fire up to 5 % early.
    else
      QTimer::singleShot(config_.recordsDelayMs, Qt::PreciseTimer, this,
                         [this, q] { guarded("records answer", [&] { answerQuery(q); }); });
  }
}

void CadService::answerQuery(const PendingQuery& q) {
  const auto answer = records_->answer(q.query);
  auto out = store_.answerQuery(q, answer, "records-stub", mdc::SystemClock::instance().nowMs());
  if (!out) {
    // The query stays in the audit without an answer; the device gives up after its timeout.
    log::error("stub", "records query " + q.eventId + " of " + q.unitId + " not answered: " + out.error().message);
    return;
  }
  ++counters_.recordsQueries;
  if (answer.hit()) ++counters_.recordsHits;
  (answer.hit() ? log::warn : log::info)("stub", "records query " + q.eventId + " of " + q.unitId + " (" +
                                                     (q.query.incident_number().empty() ? q.query.reason_code()
                                                                                        : q.query.incident_number()) +
                                                     "): " + out->summary);
  publish(out->downlinks);
}

void CadService::runSchedules() {
  auto out = store_.runSchedules(mdc::SystemClock::instance().nowMs());
  if (!out) {
    log::error("stub", out.error().message);
    return;
  }
  if (out->summary.empty()) return;
  log::info("stub", out->summary);
  publish(out->downlinks);
}

void CadService::logStats() {
  if (counters_.received == loggedReceived_) return;
  loggedReceived_ = counters_.received;
  log::info("stub", "received " + std::to_string(counters_.received) + " appended " +
                        std::to_string(counters_.appended) + " duplicates " + std::to_string(counters_.duplicates) +
                        " refused " + std::to_string(counters_.refused) + " batches " +
                        std::to_string(counters_.batches) + " (max " + std::to_string(counters_.maxBatch) +
                        ") avl batches " + std::to_string(counters_.avlBatches) + " (" +
                        std::to_string(counters_.batchedReports) + " reports)");
}

}  // namespace cad
