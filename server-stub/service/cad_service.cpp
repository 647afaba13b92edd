#include "server-stub/service/cad_service.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLocalSocket>
#include <QPointer>
#include <QTcpSocket>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <csignal>
#include <sys/stat.h>
#include <unistd.h>

#include "server-stub/domain/fleet_health.h"
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
  statsTimer_.setInterval(10000);
  connect(&statsTimer_, &QTimer::timeout, this, [this] { guarded("stats", [this] { logStats(); }); });
}

CadService::~CadService() {
  amqp_.reset();  // its thread stops before the service it posts to goes
  client_.reset();
}

mdc::Status CadService::start() {
  // QLocalServer takes a bare name as one in the temp dir: always give it a path.
  config_.controlPath = QFileInfo(QString::fromStdString(config_.controlPath)).absoluteFilePath().toStdString();
  QLocalServer::removeServer(QString::fromStdString(config_.controlPath));
  control_.setSocketOptions(QLocalServer::UserAccessOption | QLocalServer::GroupAccessOption);
  if (!control_.listen(QString::fromStdString(config_.controlPath)))
    return mdc::Error::make("control socket \"" + config_.controlPath + "\": " + control_.errorString().toStdString());
  connect(&control_, &QLocalServer::newConnection, this, [this] {
    while (QLocalSocket* s = control_.nextPendingConnection()) {
      connect(s, &QLocalSocket::disconnected, s, &QObject::deleteLater);
      connect(s, &QLocalSocket::readyRead, this, [this, s] {
        while (s->canReadLine()) {
          QByteArray line = s->readLine(1 << 20).trimmed();
          std::string reply;
          try {
            reply = handleControl(line.toStdString()) + "\n";
          } catch (const mdc::sql::DbError& e) {
            reply = QJsonDocument(QJsonObject{{"ok", false}, {"error", QString("store unavailable: ") + e.what()}})
                        .toJson(QJsonDocument::Compact)
                        .toStdString() +
                    "\n";
          }
          s->write(reply.data(), qint64(reply.size()));
        }
      });
    }
  });

  if (config_.est.port > 0) {
    est_ = std::make_unique<EstServer>(config_.est, store_);
    if (Status s = est_->start(); !s) return s;
  }
  if (config_.metricsPort > 0) {
    if (!metrics_.listen(QHostAddress::LocalHost, quint16(config_.metricsPort)))
      return mdc::Error::make("metrics: cannot listen on 127.0.0.1:" + std::to_string(config_.metricsPort) + ": " +
                              metrics_.errorString().toStdString());
    // One request per connection, answered at once: GET /metrics, else 404.
    connect(&metrics_, &QTcpServer::newConnection, this, [this] {
      while (QTcpSocket* s = metrics_.nextPendingConnection()) {
        connect(s, &QTcpSocket::disconnected, s, &QObject::deleteLater);
        connect(s, &QTcpSocket::readyRead, this, [this, s] {
          if (!s->canReadLine()) return;
          const QByteArray request = s->readLine(4096);
          const bool ok = request.startsWith("GET /metrics ") || request.startsWith("GET /metrics\r");
          std::string body, status = ok ? "200 OK" : "404 Not Found";
          try {
            body = ok ? metricsText() : "not found: GET /metrics\n";
          } catch (const mdc::sql::DbError& e) {
            status = "503 Service Unavailable";
            body = std::string("store unavailable: ") + e.what() + "\n";
          }
          const std::string head = "HTTP/1.0 " + status + "\r\n" +
                                   "Content-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                                   std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
          s->write((head + body).data(), qint64(head.size() + body.size()));
          s->disconnectFromHost();
        });
      }
    });
    log::info("stub", "metrics on http://127.0.0.1:" + std::to_string(config_.metricsPort) + "/metrics");
  }
  if (config_.recordsPath.empty()) config_.recordsPath = sideFileBase(config_.dbPath) + ".records";
  auto records = records::RecordsSystem::open(config_.recordsPath);
  if (!records) return records.error();
  records_ = std::move(*records);
  auto held = records_->counts();
  log::info("stub", "records system " + config_.recordsPath + ": " + std::to_string(held.vehicles) + " vehicles, " +
                        std::to_string(held.persons) + " persons, " + std::to_string(held.flags) + " flags");
  bridge_ = std::make_unique<ServiceBridge>(this);
  mdc::mqtt::Options o;
  for (size_t at = 0; at <= config_.broker.size();) {
    const size_t comma = std::min(config_.broker.find(',', at), config_.broker.size());
    brokers_.push_back(config_.broker.substr(at, comma - at));
    at = comma + 1;
  }
  o.uri = brokers_.front();
  o.version = config_.mqttVersion;
  o.clientId = config_.clientId;
  // A worker's MQTT session only publishes: a clean one, so no subscription
  // an earlier run left in it delivers ingest to it.
  o.cleanStart = config_.amqpUris.empty() ? false : true;
  o.maxInflight = 1024;
  o.caFile = config_.tlsCa;
  o.certFile = config_.tlsCert;
  o.keyFile = config_.tlsKey;
  client_ = std::make_unique<mdc::mqtt::Client>(o, *bridge_);
  statsTimer_.start();
  downlinkTimer_.start();
  if (config_.nearbyIntervalMs > 0) nearbyTimer_.start();
  scheduleTimer_.start();
  boardTimer_.start();
  runSchedules();  // occurrences missed while the stub was down: created now, marked late
  log::info("stub", "store " + store_.db().path() + " at event " + std::to_string(store_.stats().lastPos) +
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
    amqp_->start();
    log::info("stub", "ingest: queue " + config_.amqpQueue + " over AMQP (a worker); downlinks over MQTT");
  }
  if (mdc::Status s = client_->connect(); !s) onConnectFailed(s.error().message);
  return {};
}

void CadService::stop() {
  if (amqp_) amqp_->stop();  // what it delivered and this flush stores is acked by nobody: delivered again
  guarded("ingest", [this] { flush(); });
  statsTimer_.stop();
  guarded("stats", [this] { logStats(); });
  if (client_) client_->disconnect(500);
}

void CadService::onConnected() {
  online_ = true;
  backoffMs_ = 0;
  lastResendMonoMs_.clear();  // whatever was sent before may be lost: the outbox goes again once subscribed
  log::info("stub", "connected to " + brokers_[brokerIndex_]);
  if (amqp_) {
    // A worker takes its ingest from the queue: MQTT carries its downlinks.
    guarded("downlink resend", [this] { pumpDownlinks(); });
    return;
  }
  auto filter = [&](const std::string& f) {
    return config_.sharedGroup.empty() ? f : topics::shared(config_.sharedGroup, f);
  };
  for (const auto& f : {filter(topics::allUp()), filter(topics::allPresence())})
    if (mdc::Status s = client_->subscribe(f, 1); !s) log::error("stub", s.error().message);
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
  online_ = false;
  nearby_.reset();  // what was sent may be lost: every unit is told again
  boards_.reset();
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
  auto parsed = topics::parse(topic);
  if (!parsed || parsed->kind == topics::Kind::Down) {
    ++counters_.refused;
    ++counters_.refusedByReason["bad_topic"];
    log::warn("stub", "message on unexpected topic \"" + topic + "\" ignored");
    return;
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
  if (pending_.empty()) {
    settle(true);  // refused before the store (a topic not ours): nothing to store
    return;
  }
  if (sharesStore()) {
    // Other stubs commit too: units and downlink heads are read again.
    unitCache_.clear();
    headCache_.clear();
  }
  std::vector<Incoming> batch;
  batch.swap(pending_);
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
  if (!out) {
    // Nothing was committed and nothing is acked: the devices resend; over
    // AMQP the messages go back to the queue, after a pause (the database
    // may be failing over), for this worker or another.
    ++counters_.commitFailures;
    log::error("stub", out.error().message + " (" + std::to_string(batch.size()) + " messages; " +
                           (amqp_ ? "back to the queue" : "devices will resend") + ")");
    if (amqp_)
      QTimer::singleShot(500, this, [this, tags] {
        if (amqp_)
          for (const auto& [connection, tag] : tags) amqp_->settle(connection, tag, false);
      });
    return;
  }
  ++counters_.batches;
  counters_.maxBatch = std::max<uint64_t>(counters_.maxBatch, batch.size());
  counters_.appended += uint64_t(out->appended);
  counters_.duplicates += uint64_t(out->duplicates);
  for (const auto& [device, n] : out->duplicatesByDevice) counters_.duplicatesByDevice[device] += uint64_t(n);
  counters_.avlBatches += uint64_t(out->avlBatches);
  counters_.batchedReports += uint64_t(out->batchedReports);
  if (out->clamped > 0) {
    counters_.clockAheadClamped += uint64_t(out->clamped);
    log::warn("stub", std::to_string(out->clamped) + " events recorded more than " +
                          std::to_string(kMaxRecordedAheadMs / 1000) + " s ahead of their arrival: clamped to it");
  }
  for (const auto& r : out->refused) {
    ++counters_.refused;
    ++counters_.refusedByReason[r.reason];
    log::warn("stub", "refused from " + r.deviceId + ": " + r.reason + ": " + r.detail);
  }
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
  // How long this batch's oldest message waited here: the devices pace themselves by it.
  int64_t oldest = batch.front().receivedAtMs;
  for (const auto& in : batch) oldest = std::min(oldest, in.receivedAtMs);
  counters_.ingestLagMs = std::clamp<int64_t>(mdc::SystemClock::instance().nowMs() - oldest, 0, mdc::codec::kMaxIngestLagMs);
  counters_.ingestLagMsMax = std::max(counters_.ingestLagMsMax, counters_.ingestLagMs);
  publishAcks(out->acks, counters_.ingestLagMs);
  publish(out->downlinks);
  for (const auto& [device, after] : out->resyncs) handleResync(device, after);
  for (auto& q : out->queries) {
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

// Commit acks go with QoS 0. An ack is derived from the store and idempotent:
// one that is lost (the device's link dropped) leaves the events in the
// device's outbox, which sends them again, and they are acked again as
// duplicates. QoS 1 would only add the broker's own acknowledgement, and it
// cost the stub half its ingest: paho scans every message in flight for each
// publish and each PUBACK (README, "Measured figures").
constexpr int kAckQos = 0;

void CadService::publishAcks(const std::map<std::string, std::vector<uint64_t>>& acks, int64_t lagMs) {
  if (!online_) return;
  for (const auto& [device, seqsIn] : acks) {
    std::vector<uint64_t> seqs = seqsIn;
    std::sort(seqs.begin(), seqs.end());
    auto unit = unitCache_.find(device);
    if (unit == unitCache_.end()) unit = unitCache_.emplace(device, store_.unitOfDevice(device).value_or("unknown")).first;
    mdc::v1::Downlink dl = unsequenced(unit->second);
    auto* ack = dl.mutable_commit_ack();
    ack->set_downlink_head(headOf(unit->second));  // a device missing a tail asks for it
    ack->set_ingest_lag_ms(uint32_t(lagMs));
    for (size_t i = 0; i < seqs.size();) {
      size_t j = i;
      while (j + 1 < seqs.size() && seqs[j + 1] <= seqs[j] + 1) ++j;
      if (ack->committed_size() == 1024) {
        // Full: send this one and start another.
        std::string bytes = dl.SerializeAsString();
        (void)client_->publish(topics::down(device), bytes, kAckQos, false);
        ++counters_.acksPublished;
        ack->clear_committed();
      }
      auto* r = ack->add_committed();
      r->set_first(seqs[i]);
      r->set_last(seqs[j]);
      i = j + 1;
    }
    if (ack->committed_size() > 0) {
      auto r = client_->publish(topics::down(device), dl.SerializeAsString(), kAckQos, false);
      if (!r) log::warn("stub", r.error().message);
      ++counters_.acksPublished;
    }
  }
}

void CadService::publish(const std::vector<Outgoing>& out) {
  for (const auto& o : out)
    if (o.downlink.seq() > 0) {
      uint64_t& head = headCache_[o.downlink.unit_id()];
      head = std::max(head, o.downlink.seq());
    }
  // Offline, or refused by the client: kept in the store, the outbox sends
  // them again once the link is back (pumpDownlinks).
  if (!online_) return;
  for (const auto& o : out) {
    auto bytes = mdc::codec::encodeDownlink(o.downlink);
    if (!bytes) {
      log::error("stub", "downlink not sent: " + bytes.error().message);
      continue;
    }
    auto r = client_->publish(topics::down(o.deviceId), *bytes, 1, false);
    if (!r) {
      ++counters_.publishFailures;
      log::warn("stub", "downlink " + std::to_string(o.downlink.seq()) + " to " + o.deviceId +
                            " not sent (sent again from the outbox): " + r.error().message);
    } else {
      ++counters_.downlinksPublished;
    }
  }
}

void CadService::publishNearby() {
  if (!linkReady()) return;
  std::vector<nearby::UnitPlace> board;
  try {
    board = nearby::readBoard(store_.db());
  } catch (const mdc::sql::DbError& e) {
    log::warn("stub", std::string("units nearby not computed: ") + e.what());
    return;
  }
  for (auto& [unit, body, urgent] : nearby_.due(board, mdc::SystemClock::instance().monotonicMs())) {
    mdc::v1::Downlink dl = unsequenced(unit->unit);
    *dl.mutable_units_nearby() = std::move(body);
    auto bytes = mdc::codec::encodeDownlink(dl);
    if (!bytes) {
      log::error("stub", "units nearby for " + unit->unit + " not sent: " + bytes.error().message);
      continue;
    }
    if (client_->publish(topics::down(unit->device), *bytes, urgent ? 1 : 0, false)) ++counters_.nearbySent;
  }
}

void CadService::publishBoards() {
  if (!linkReady()) return;
  std::vector<zones::Supervisor> supervisors;
  std::vector<zones::Row> rows;
  try {
    supervisors = zones::readSupervisors(store_.db());
    if (!supervisors.empty()) rows = zones::readRows(store_.db());
  } catch (const mdc::sql::DbError& e) {
    log::warn("stub", std::string("supervisor boards not computed: ") + e.what());
    return;
  }
  for (auto& [unit, device, board, urgent] : boards_.due(supervisors, rows, mdc::SystemClock::instance().monotonicMs())) {
    mdc::v1::Downlink dl = unsequenced(unit);
    const bool withdrawn = board.scope().empty();
    *dl.mutable_supervisor_board() = std::move(board);
    auto bytes = mdc::codec::encodeDownlink(dl);
    if (!bytes) {
      log::error("stub", "board for supervisor " + unit + " not sent: " + bytes.error().message);
      continue;
    }
    if (withdrawn) log::info("stub", "board withdrawn from " + device + " (unit " + unit + " supervises nothing now)");
    if (client_->publish(topics::down(device), *bytes, urgent ? 1 : 0, false)) ++counters_.boardsSent;
  }
}

mdc::v1::Downlink CadService::unsequenced(const std::string& unit) {
  mdc::v1::Downlink dl;
  dl.set_version(mdc::codec::kProtocolVersion);
  dl.set_unit_id(unit);
  dl.set_seq(0);
  dl.set_sent_at_ms(mdc::SystemClock::instance().nowMs());
  return dl;
}

uint64_t CadService::headOf(const std::string& unit) {
  auto it = headCache_.find(unit);
  if (it == headCache_.end()) it = headCache_.emplace(unit, store_.downlinkHead(unit)).first;
  return it->second;
}

void CadService::pumpDownlinks() {
  if (!linkReady()) return;
  const int64_t now = mdc::SystemClock::instance().monotonicMs();
  for (const auto& lag : store_.laggingDevices()) {
    auto last = lastResendMonoMs_.find(lag.deviceId);
    if (last != lastResendMonoMs_.end() && now - last->second < config_.resendMs) continue;
    lastResendMonoMs_[lag.deviceId] = now;
    auto dls = store_.downlinksAfter(lag.unitId, lag.holds, 256);
    log::info("stub", "downlinks to " + lag.deviceId + " (unit " + lag.unitId + "): it holds up to seq " +
                          std::to_string(lag.holds) + " of " + std::to_string(lag.head) + "; sending " +
                          std::to_string(dls.size()) + " again");
    std::vector<Outgoing> out;
    for (auto& d : dls) out.push_back(Outgoing{lag.deviceId, std::move(d)});
    counters_.downlinksResent += out.size();
    publish(out);
  }
}

void CadService::handleResync(const std::string& device, uint64_t after) {
  ++counters_.resyncs;
  auto unit = store_.unitOfDevice(device);
  if (!unit) return;
  auto dls = store_.downlinksAfter(*unit, after);
  std::vector<Outgoing> out;
  for (auto& d : dls) out.push_back(Outgoing{device, std::move(d)});
  if (!out.empty())
    log::info("stub", "resync " + device + " (unit " + *unit + ") after " + std::to_string(after) + ": " +
                          std::to_string(out.size()) + " downlinks");
  publish(out);
  lastResendMonoMs_[device] = mdc::SystemClock::instance().monotonicMs();
  // The answer to every request: the unit's head, so the device knows what it holds is all.
  if (!online_ || headOf(*unit) == 0) return;
  mdc::v1::Downlink dl = unsequenced(*unit);
  dl.mutable_commit_ack()->set_downlink_head(headOf(*unit));
  if (auto r = client_->publish(topics::down(device), dl.SerializeAsString(), 1, false); !r) {
    ++counters_.publishFailures;
    log::warn("stub", r.error().message);
  }
}

std::string CadService::handleControl(const std::string& line) {
  QJsonParseError perr;
  QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(line), &perr);
  auto reply = [](bool ok, const std::string& msg) {
    return QJsonDocument(QJsonObject{{"ok", ok}, {ok ? "result" : "error", QString::fromStdString(msg)}})
        .toJson(QJsonDocument::Compact)
        .toStdString();
  };
  if (!doc.isObject()) return reply(false, "control: not a JSON object: " + perr.errorString().toStdString());
  QJsonObject j = doc.object();
  std::string cmdName = j.value("cmd").toString().toStdString();
  if (cmdName == "stats") {
    QJsonObject c{{"received", qint64(counters_.received)},
                  {"appended", qint64(counters_.appended)},
                  {"duplicates", qint64(counters_.duplicates)},
                  {"refused", qint64(counters_.refused)},
                  {"batches", qint64(counters_.batches)},
                  {"max_batch", qint64(counters_.maxBatch)},
                  {"commit_ms_max", qint64(counters_.commitMsMax)},
                  {"slow_commits", qint64(counters_.slowCommits)},
                  {"wal_checkpoints", qint64(store_.checkpointer() ? store_.checkpointer()->checkpoints() : 0)},
                  {"wal_checkpoint_ms_max", qint64(store_.checkpointer() ? store_.checkpointer()->longestMs() : 0)},
                  {"avl_batches", qint64(counters_.avlBatches)},
                  {"batched_reports", qint64(counters_.batchedReports)},
                  {"acks_published", qint64(counters_.acksPublished)},
                  {"downlinks_published", qint64(counters_.downlinksPublished)},
                  {"resyncs", qint64(counters_.resyncs)},
                  {"commit_failures", qint64(counters_.commitFailures)},
                  {"publish_failures", qint64(counters_.publishFailures)},
                  {"downlinks_resent", qint64(counters_.downlinksResent)},
                  {"nearby_sent", qint64(counters_.nearbySent)},
                  {"boards_sent", qint64(counters_.boardsSent)},
                  {"records_queries", qint64(counters_.recordsQueries)},
                  {"records_hits", qint64(counters_.recordsHits)},
                  {"clock_ahead_clamped", qint64(counters_.clockAheadClamped)},
                  {"online", online_},
                  {"ingest", amqp_ ? "amqp" : "mqtt"},
                  {"amqp_up", amqpUp_},
                  {"redelivered", qint64(counters_.redelivered)},
                  // Ready: both subscriptions acknowledged, so no device message is missed.
                  {"ready", linkReady() && (!amqp_ || amqpUp_)}};
    QJsonObject reasons;
    for (const auto& [k, v] : counters_.refusedByReason) reasons[QString::fromStdString(k)] = qint64(v);
    c["refused_by_reason"] = reasons;
    QJsonObject dups;
    for (const auto& [k, v] : counters_.duplicatesByDevice) dups[QString::fromStdString(k)] = qint64(v);
    c["duplicates_by_device"] = dups;
    c["ingest_busy_ms"] = qint64(counters_.ingestBusyMs);
    c["ingest_lag_ms"] = qint64(counters_.ingestLagMs);
    c["ingest_lag_ms_max"] = qint64(counters_.ingestLagMsMax);
    c["broker_dropped"] = qint64(counters_.brokerDropped);
    return QJsonDocument(QJsonObject{{"ok", true}, {"stats", c}}).toJson(QJsonDocument::Compact).toStdString();
  }
  flush();  // a command sees every event received before it
  Command cmd;
  cmd.kind = cmdName;
  cmd.actor = j.value("actor").toString().toStdString();
  cmd.agency = j.value("agency").toString().toStdString();
  cmd.incident = j.value("incident").toString().toStdString();
  cmd.unit = j.value("unit").toString().toStdString();
  cmd.device = j.value("device").toString().toStdString();
  cmd.cfsType = j.value("type").toString().toStdString();
  cmd.priority = j.value("priority").toInt(3);
  cmd.address = j.value("address").toString().toStdString();
  cmd.text = j.value("text").toString().toStdString();
  cmd.force = j.value("force").toBool(false);
  for (const auto& v : j.value("statuses").toArray()) cmd.statuses.push_back(v.toString().toStdString());
  cmd.avlMovingS = j.value("avl_moving_s").toInt(0);
  cmd.avlStationaryS = j.value("avl_stationary_s").toInt(0);
  if (j.contains("lat") || j.contains("lon")) cmd.location = {j.value("lat").toDouble(NAN), j.value("lon").toDouble(NAN)};
  cmd.tokenHash = j.value("token_sha256").toString().toStdString();
  cmd.scheduleId = j.value("schedule").toString().toStdString();
  cmd.everyS = j.value("every_s").toInteger(0);
  cmd.fromMs = j.value("from_ms").toInteger(0);
  cmd.untilMs = j.value("until_ms").toInteger(0);
  cmd.ttlS = j.value("ttl_s").toInteger(0);
  cmd.label = j.value("label").toString().toStdString();
  cmd.apcoCode = j.value("apco").toString().toStdString();
  cmd.document = j.value("document").toObject();
  cmd.zone = j.value("zone").toString().toStdString();
  cmd.district = j.value("district").toString().toStdString();
  for (const auto& v : j.value("zones").toArray()) cmd.zones.push_back(v.toString().toStdString());
  if (cmd.kind == "enroll_token" && !cmd.unit.empty() && mdc::topics::isValidDeviceId(cmd.device) &&
      !store_.unitOfDevice(cmd.device)) {
    // A token for a device not registered yet registers it to the unit given.
    Command add = cmd;
    add.kind = "device_add";
    auto added = store_.execute(add, mdc::SystemClock::instance().nowMs());
    if (!added) return reply(false, added.error().message);
    unitCache_.clear();
    headCache_.clear();
    log::info("stub", "dispatcher " + cmd.actor + " (" + cmd.agency + "): " + added->summary);
    publish(added->downlinks);
  }
  auto out = store_.execute(cmd, mdc::SystemClock::instance().nowMs());
  if (!out) {
    log::warn("stub", "command " + cmd.kind + " by " + cmd.actor + " refused: " + out.error().message);
    return reply(false, out.error().message);
  }
  ++counters_.commands;
  if (config_.faultKillAfterCommit) {
    log::error("stub", "CAD_STUB_FAULT=kill-after-commit: killed after committing " + cmd.kind + ", before publishing");
    ::kill(::getpid(), SIGKILL);
  }
  // Only registry commands move devices between units: keep the cache (one
  // lookup per device, not one per device per batch) until one does.
  if (cmd.kind == "device_add" || cmd.kind == "device_move" || cmd.kind == "device_remove") {
    unitCache_.clear();
    headCache_.clear();  // downlinks of a unit without a device were not published
  }
  log::info("stub", "dispatcher " + cmd.actor + " (" + cmd.agency + "): " + out->summary);
  publish(out->downlinks);
  return reply(true, out->summary);
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

std::string CadService::metricsText() {
  std::string o;
  auto metric = [&](const char* name, const char* type, const char* help, const std::string& samples) {
    o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + samples;
  };
  auto one = [&](const char* name, const char* type, const char* help, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    metric(name, type, help, std::string(name) + " " + buf + "\n");
  };
  one("cad_events_received_total", "counter", "messages received from devices (MQTT, or the AMQP ingest queue)",
      double(counters_.received));
  if (amqp_)
    one("cad_amqp_redelivered_total", "counter",
        "ingest messages delivered again by the queue (a worker died, or a commit failed, before they were acked)",
        double(counters_.redelivered));
  one("cad_events_appended_total", "counter", "events appended to the log", double(counters_.appended));
  one("cad_events_duplicate_total", "counter", "events received again and acknowledged without a second copy",
      double(counters_.duplicates));
  std::string dups;
  for (const auto& [device, n] : counters_.duplicatesByDevice)
    dups += "cad_device_duplicates_total{device=\"" + device + "\"} " + std::to_string(n) + "\n";
  metric("cad_device_duplicates_total", "counter",
         "events a device sent again after they were stored, by device (only devices with any)", dups);
  one("cad_ingest_lag_ms", "gauge", "the last batch's lag: its oldest message's wait from arrival to commit (told to devices)",
      double(counters_.ingestLagMs));
  one("cad_ingest_lag_ms_max", "gauge", "the longest ingest lag since the stub started", double(counters_.ingestLagMsMax));
  one("cad_ingest_busy_seconds_total", "counter", "time spent in ingest transactions", double(counters_.ingestBusyMs) / 1000);
  one("cad_broker_dropped_total", "counter",
      "messages the broker says it dropped since it started, last heard ($SYS/broker/publish/messages/dropped)",
      double(counters_.brokerDropped));
  one("cad_avl_batches_total", "counter", "AVL backlog batches received (each one MQTT message)",
      double(counters_.avlBatches));
  one("cad_avl_batched_reports_total", "counter", "AVL reports that came in batches", double(counters_.batchedReports));
  std::string refused;
  for (const auto& [reason, n] : counters_.refusedByReason)
    refused += "cad_events_refused_total{reason=\"" + reason + "\"} " + std::to_string(n) + "\n";
  metric("cad_events_refused_total", "counter", "input refused, by reason", refused);
  one("cad_commit_acks_published_total", "counter", "commit acks published", double(counters_.acksPublished));
  one("cad_downlinks_published_total", "counter", "downlinks published (first sends)",
      double(counters_.downlinksPublished));
  one("cad_downlinks_resent_total", "counter", "downlinks sent again to a device that had not confirmed them",
      double(counters_.downlinksResent));
  one("cad_records_queries_total", "counter", "records queries answered", double(counters_.recordsQueries));
  one("cad_records_hits_total", "counter", "records answers with an officer-safety flag", double(counters_.recordsHits));
  if (est_) {
    one("cad_enrolments_total", "counter", "certificates issued to devices with an enrolment token",
        double(est_->counters().enrolled));
    one("cad_renewals_total", "counter", "certificates renewed by devices before they expired",
        double(est_->counters().renewed));
    one("cad_enrolment_refusals_total", "counter",
        "enrolment and renewal requests refused (wrong, used, expired or locked tokens; expired or revoked "
        "certificates)", double(est_->counters().refused));
  }
  one("cad_broker_connected", "gauge", "1 while the stub's link to the broker is up and subscribed",
      linkReady() && (!amqp_ || amqpUp_) ? 1 : 0);
  try {
    const int64_t connected = store_.db().queryInt("SELECT COUNT(*) FROM units WHERE online=1");
    one("cad_devices_connected", "gauge", "units whose device says it is online (its presence)", double(connected));
    const auto lagging = store_.laggingDevices();
    uint64_t behind = 0;
    for (const auto& l : lagging) behind += l.head - l.holds;
    one("cad_downlink_lagging_devices", "gauge", "connected devices that do not yet hold every downlink",
        double(lagging.size()));
    one("cad_downlink_lag_downlinks", "gauge", "downlinks those devices have yet to confirm, in all", double(behind));
    one("cad_log_events", "gauge", "events in the log", double(store_.stats().events));
    const int64_t now = mdc::SystemClock::instance().nowMs();
    const auto oldest = store_.oldestUnconfirmedDownlinkMs();
    one("cad_downlink_oldest_unconfirmed_seconds", "gauge",
        "age of the oldest downlink a registered device has not confirmed holding (0: none), online or not",
        oldest ? double(std::max<int64_t>(0, now - *oldest)) / 1000.0 : 0.0);
    const fleet::Thresholds t;  // cadctl devices list's defaults
    int64_t expiring = 0, deep = 0;
    for (const auto& d : fleet::readFleet(store_, "")) {
      if (d.certNotAfterMs > 0 && d.certNotAfterMs - now <= t.certExpiringMs) ++expiring;
      if (d.queueDepth >= t.deepQueue) ++deep;
    }
    one("cad_devices_cert_expiring", "gauge", "devices whose certificate expires within 30 days or has expired",
        double(expiring));
    one("cad_devices_deep_queue", "gauge", "devices that last reported 1000 or more events queued", double(deep));
  } catch (const mdc::sql::DbError& e) {
    o += "# store unreadable: " + std::string(e.what()) + "\n";
  }
  return o;
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
