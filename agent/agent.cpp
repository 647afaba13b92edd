#include "agent/agent.h"
#include "agent/state_key.h"

#include <QMetaObject>
#include <QPointer>
#include <QString>

#include <chrono>
#include <cmath>
#include <utility>

#include "hw/gps_source_factory.h"
#include "shared/wire/codec.h"
#include "shared/wire/geo.h"
#include "shared/infra/log.h"
#include "shared/infra/pki.h"
#include "shared/wire/topics.h"

namespace mdc::agent {

// paho calls these on its own threads. Each hands the event to the agent's
// loop and returns; nothing here touches the store or calls back into paho.
class LinkBridge final : public mqtt::Handler {
 public:
  explicit LinkBridge(Agent* agent) : agent_(agent) {}

  void onConnected(bool sessionPresent) override {
    post([sessionPresent](Agent* a) { a->linkConnected(sessionPresent); });
  }
  void onConnectFailed(const std::string& reason, int) override {
    post([reason](Agent* a) { a->linkConnectFailed(reason); });
  }
  void onConnectionLost(const std::string& cause) override {
    post([cause](Agent* a) { a->linkLost(cause); });
  }
  void onMessage(std::string topic, std::string payload, bool) override {
    // paho sends the PUBACK when this returns, before the loop commits the
    // downlink. That is safe: the device's cursor advances only when the
    // downlink is committed, and every (re)connect asks the backend for all
    // downlinks after the cursor, so one lost in a crash here comes again.
    // Waiting here for the commit would deadlock: paho holds its lock during
    // this callback, and the loop publishes through the same client.
    post([topic = std::move(topic), payload = std::move(payload)](Agent* a) { a->linkMessage(topic, payload); });
  }
  void onPublishResult(int token, bool ok, int reasonCode) override {
    post([token, ok, reasonCode](Agent* a) { a->linkPublishResult(token, ok, reasonCode); });
  }
  void onSubscribeResult(const std::string& filter, bool ok, int reasonCode) override {
    post([filter, ok, reasonCode](Agent* a) { a->linkSubscribeResult(filter, ok, reasonCode); });
  }

 private:
  template <class F>
  void post(F f) {
    QPointer<Agent> target(agent_);
    QMetaObject::invokeMethod(agent_, [target, f = std::move(f)]() mutable {
      if (target) f(target.data());
    }, Qt::QueuedConnection);
  }
  Agent* agent_;
};

class GpsBridge final : public hw::GpsSink {
 public:
  explicit GpsBridge(Agent* agent) : agent_(agent) {}
  void onFix(const hw::Fix& fix) override {
    QPointer<Agent> t(agent_);
    QMetaObject::invokeMethod(agent_, [t, fix] { if (t) t->gpsFix(fix); }, Qt::QueuedConnection);
  }
  void onSourceState(bool connected, const std::string& detail) override {
    QPointer<Agent> t(agent_);
    QMetaObject::invokeMethod(agent_, [t, connected, detail] { if (t) t->gpsSourceState(connected, detail); },
                              Qt::QueuedConnection);
  }

 private:
  Agent* agent_;
};

class InputsBridge final : public hw::VehicleInputsSink {
 public:
  explicit InputsBridge(Agent* agent) : agent_(agent) {}
  void onInput(const hw::VehicleInputEvent& e) override {
    QPointer<Agent> t(agent_);
    QMetaObject::invokeMethod(agent_, [t, e] { if (t) t->vehicleInput(e); }, Qt::QueuedConnection);
  }
  void onInputsState(bool connected, const std::string& detail) override {
    QPointer<Agent> t(agent_);
    QMetaObject::invokeMethod(agent_, [t, connected, detail] { if (t) t->vehicleInputsState(connected, detail); },
                              Qt::QueuedConnection);
  }

 private:
  Agent* agent_;
};

Agent::Agent(AgentConfig config, Store& store, const Clock& clock, QObject* parent)
    : QObject(parent),
      config_(std::move(config)),
      store_(store),
      clock_(clock),
      ids_(clock),
      sendWindow_(config_.window, int64_t(config_.ackTimeoutS) * 1000) {
  linkSinceMs_ = clock_.nowMs();
  noFixSinceMs_ = clock_.nowMs();
  records_ = RecordsDesk(RecordsDesk::Timing{int64_t(config_.recordsSlowS) * 1000, int64_t(config_.recordsTimeoutS) * 1000,
                                             int64_t(config_.recordsShowS) * 1000});
  // The backend may have moved this device to another unit (cadctl devices
  // move): that holds until the device is provisioned for another unit.
  configuredUnitId_ = config_.unitId;
  if (store_.state(StateKey(StateKind::UnitConfigured)) == config_.unitId &&
      !store_.state(StateKey(StateKind::UnitAssigned)).empty())
    config_.unitId = store_.state(StateKey(StateKind::UnitAssigned));
  reconnectTimer_.setSingleShot(true);
  connect(&reconnectTimer_, &QTimer::timeout, this, [this] { connectNow(); });
  housekeeping_.setInterval(1000);
  connect(&housekeeping_, &QTimer::timeout, this, [this] {
    checkAckTimeouts();
    exchangeDownlinkCursor();
    if (records_.tick(clock_.nowMs())) emit stateChanged();
    refreshPresence();
    if (store_.releaseHeld(false) > 0) {
      queues_.reset();  // the released events are behind the send cursors
      emit stateChanged();
    }
    pump();
  });
  beatTimer_.setInterval(250);
  connect(&beatTimer_, &QTimer::timeout, this, [this] { beatIfIdle(); });
  backfillTimer_.setSingleShot(true);
  backfillTimer_.setTimerType(Qt::PreciseTimer);  // it paces the backfill rate
  connect(&backfillTimer_, &QTimer::timeout, this, [this] { pump(); });
  avlTimer_.setInterval(config_.avlCommitMs);
  connect(&avlTimer_, &QTimer::timeout, this, [this] { flushAvl(); });
}

Agent::~Agent() {
  if (renewThread_) {
    renewThread_->wait();  // its result, queued to this object, is dropped with it
    delete renewThread_;
  }
  if (inputs_) inputs_->stop();
  if (gps_) gps_->stop();
  client_.reset();  // joins paho's threads before the bridge goes
}

void Agent::start() {
  bridge_ = std::make_unique<LinkBridge>(this);
  // A fleet given the same list spreads over its brokers, and so do the
  // devices of one that fails: each device has an order of its own.
  brokers_ = config_.brokersInOrder();
  brokerIndex_ = 0;
  mqtt::Options o;
  o.uri = broker();
  o.version = *mqtt::parseVersion(config_.mqttVersion);  // checked by the config
  o.clientId = config_.deviceId;
  o.cleanStart = false;
  o.keepAliveS = config_.keepAliveS;
  o.maxInflight = std::max(config_.window, 16);
  o.caFile = config_.tlsCa;
  o.certFile = config_.tlsCert;
  o.keyFile = config_.tlsKey;
  client_ = std::make_unique<mqtt::Client>(o, *bridge_);
  hw::AvlPolicyConfig avl;
  avl.movingIntervalMs = int64_t(config_.avlMovingIntervalS) * 1000;
  avl.stationaryIntervalMs = int64_t(config_.avlStationaryIntervalS) * 1000;
  avl.distanceM = config_.avlDistanceM;
  avl.headingDeg = config_.avlHeadingDeg;
  avl.maxEphM = config_.avlMaxEphM;
  avl_ = std::make_unique<hw::AvlPolicy>(avl);  // throws "config: avl...." on a bad combination (start-up error)
  applyAgencyConfiguration();
  startRenewalChecks();  // completes an interrupted renewal before the certificate is read
  readCertificate();
  hw::GpsSourceConfig gps;
  gps.kind = config_.gpsSource;
  gps.gpsd.host = config_.gpsdHost;
  gps.gpsd.port = uint16_t(config_.gpsdPort);
  gps.simulator.seed = uint64_t(config_.simSeed);
  gps.simulator.speedup = config_.simSpeedup;
  gps.replay.path = config_.replayFile;
  gps.replay.speedup = config_.replaySpeedup;
  gps.replay.loop = config_.replayLoop;
  gps.replay.rebaseToNow = true;  // a replayed drive happens now
  gps_ = hw::makeGpsSource(gps, clock_);
  if (gps_) {
    gpsBridge_ = std::make_unique<GpsBridge>(this);
    gpsDetail_ = "starting " + gps_->describe();
    gps_->start(*gpsBridge_);
  }
  if (config_.inputsSource == "evdev") {
    hw::EvdevOptions e;
    e.device = config_.inputsDevice;
    e.emergency = *hw::parseInputCode(config_.inputsEmergencyCode);
    inputs_ = std::make_unique<hw::EvdevVehicleInputs>(e, clock_);
    inputsBridge_ = std::make_unique<InputsBridge>(this);
    inputs_->start(*inputsBridge_);
  }
  housekeeping_.start();
  beatTimer_.start();
  avlTimer_.start();
  log::info("agent", "device " + config_.deviceId + " unit " + config_.unitId + " agency " + config_.agency +
                         ": " + std::to_string(store_.outboxCount()) + " events in the outbox, next seq " +
                         std::to_string(store_.nextSeq()));
  connectNow();
}

void Agent::stop() {
  flushAvl();
  housekeeping_.stop();
  beatTimer_.stop();
  avlTimer_.stop();
  reconnectTimer_.stop();
  if (client_ && link_ == v1::LINK_STATE_ONLINE) {
    publishPresence(false);
    client_->disconnect(1000);
  }
  if (inputs_) inputs_->stop();
  if (gps_) gps_->stop();
}

void Agent::readCertificate() {
  if (config_.tlsCert.empty()) return;
  auto info = pki::readCert(config_.tlsCert);
  if (!info) {
    certDetail_ = info.error().message;
    log::warn("agent", "device certificate: " + certDetail_);
    return;
  }
  certSubject_ = "CN=" + info->subjectCn;
  certNotAfterMs_ = int64_t(info->notAfter) * 1000;
  int64_t daysLeft = (certNotAfterMs_ - clock_.nowMs()) / 86'400'000;
  if (daysLeft < pki::kCertificateWarnDays)
    log::warn("agent", "device certificate " + certSubject_ + " expires " + pki::formatTime(info->notAfter) +
                           (daysLeft < 0 ? " (expired)" : " (in " + std::to_string(daysLeft) + " days)"));
}

// ------------------------------------------------------------------ intents

void Agent::gpsFix(const hw::Fix& received) {
  // The receiver's time stamps events only when the system clock agrees with
  // it (corrected by whole week-number rollovers if that makes it agree);
  // otherwise the fix keeps its position and the system clock stamps events.
  hw::Fix fix = received;
  const hw::FixTimeJudgement time = hw::judgeFixTime(fix.timeMs, clock_.nowMs());
  if (time.condition != fixTimeCondition_) {
    const bool fine = time.condition == hw::FixTimeCondition::Agrees || time.condition == hw::FixTimeCondition::None;
    (fine ? log::info : log::warn)("gps", hw::describe(time));  // once per change of condition
    if (!fine) noteError(hw::describe(time));
    fixTimeCondition_ = time.condition;
  }
  if (time.condition == hw::FixTimeCondition::RolloverCorrected) ++counters_.gpsTimeCorrected;
  if (time.condition == hw::FixTimeCondition::Untrusted) ++counters_.gpsTimeUntrusted;
  fix.timeMs = time.timeMs;
  // The reporting policy decides; a filtered fix (too inaccurate, an
  // impossible jump) is neither reported nor shown as the current position.
  hw::AvlVehicleState vs{store_.stateInt(StateKey(StateKind::EmergencyActive), 0) == 1, statusChangedSinceFix_,
                         firstFixAfterConnect_};
  hw::AvlDecision d = avl_ ? avl_->offer(fix, vs, clock_.monotonicMs()) : hw::AvlDecision{};
  if (fix.hasPosition() && d.filtered != hw::AvlFilterReason::None) {
    log::debug("gps", std::string("fix filtered: ") + hw::toString(d.filtered));
    return;
  }
  if (d.report) {
    recordAvl(fix, v1::AvlTrigger(int(d.trigger)));
    statusChangedSinceFix_ = false;
    firstFixAfterConnect_ = false;
    if (d.trigger == hw::AvlTrigger::Connect || d.trigger == hw::AvlTrigger::Emergency) flushAvl();
  }
  if (fix.hasPosition()) {
    bool had = lastFix_ && lastFix_->hasPosition();
    lastFix_ = fix;
    lastFixAtMs_ = clock_.nowMs();
    noFixSinceMs_ = 0;
    // The screen's distance and bearing (to the call, to nearby units) follow
    // the vehicle: a new state once it has moved 10 m from the last one shown.
    if (!had || !shownFix_ || geo::distanceM(shownFix_->lat, shownFix_->lon, fix.lat, fix.lon) >= 10.0) {
      shownFix_ = fix;
      emit stateChanged();
    }
  } else if (noFixSinceMs_ == 0) {
    noFixSinceMs_ = clock_.nowMs();
    emit stateChanged();
  }
}

void Agent::gpsSourceState(bool connected, const std::string& detail) {
  gpsConnected_ = connected;
  gpsDetail_ = detail;
  if (!connected && noFixSinceMs_ == 0) noFixSinceMs_ = clock_.nowMs();
  log::info("gps", detail);
  emit stateChanged();
}

// The hardware emergency switch takes the same path as the screen's button,
// without the UI: committed to the emergency lane, sent first. Releasing the
// switch does not clear an emergency (only the responder does, on purpose).
void Agent::vehicleInput(const hw::VehicleInputEvent& e) {
  if (e.input != hw::VehicleInput::EmergencySwitch || !e.active) return;
  log::warn("inputs", "emergency switch pressed");
  v1::ApiRequest r;
  r.mutable_set_emergency()->set_active(true);
  r.mutable_set_emergency()->set_source(v1::EMERGENCY_SOURCE_SWITCH);
  auto reply = handle(r);
  if (!reply.ok()) log::error("inputs", "emergency from the switch not queued: " + reply.error());
}

void Agent::vehicleInputsState(bool connected, const std::string& detail) {
  (connected ? log::info : log::warn)("inputs", detail);
  if (!connected) noteError("vehicle inputs: " + detail);
}

void Agent::recordAvl(const hw::Fix& fix, v1::AvlTrigger trigger) {
  if (!fix.hasPosition()) return;
  v1::Envelope env = newEnvelope();
  if (fix.timeMs > 0) {
    env.set_recorded_at_ms(fix.timeMs);
    env.set_clock_source(v1::CLOCK_SOURCE_GPS);
  }
  auto* avl = env.mutable_avl();
  fillPosition(avl->mutable_position(), fix);
  avl->set_trigger(trigger);
  avlPending_.push_back(std::move(env));
}

void Agent::flushAvl() {
  if (commitPendingAvl()) pump();
}

bool Agent::commitPendingAvl() {
  if (avlPending_.empty()) return false;
  std::vector<v1::Envelope> batch;
  batch.swap(avlPending_);
  auto dropped = store_.appendAvl(batch);
  if (!dropped) {
    // Kept for the next group commit (a busy or briefly full disk loses
    // nothing), up to ten hours of reports at 1 Hz; beyond, the oldest go
    // and are counted as dropped, as the store's cap would.
    noteError(dropped.error().message);
    log::error("store", dropped.error().message + "; " + std::to_string(batch.size()) + " reports kept for the next commit");
    batch.insert(batch.end(), std::make_move_iterator(avlPending_.begin()), std::make_move_iterator(avlPending_.end()));
    avlPending_.swap(batch);
    constexpr size_t kMaxPendingAvl = 36'000;
    if (avlPending_.size() > kMaxPendingAvl) {
      const size_t over = avlPending_.size() - kMaxPendingAvl;
      avlPending_.erase(avlPending_.begin(), avlPending_.begin() + std::ptrdiff_t(over));
      counters_.avlDroppedUncommitted += over;
    }
    return false;
  }
  return true;
}

// ------------------------------------------------------------------ state

void Agent::noteError(const std::string& error) {
  lastErrors_.push_front(formatIsoUtc(clock_.nowMs()) + " " + error);
  while (lastErrors_.size() > 10) lastErrors_.pop_back();
}

}  // namespace mdc::agent
