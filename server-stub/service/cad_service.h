#pragma once
// The running backend: ingest with group commit (MQTT subscriptions, or as
// one of several workers an AMQP queue), commit acks and downlinks published
// only after their transaction commits, resync on request, and a control
// socket through which cadctl runs dispatcher commands (stubs are the store's
// only writers; several share it through write_tx.cpp's locks).
#include <QJsonObject>
#include <QLocalServer>
#include <QTcpServer>
#include <QObject>
#include <QTimer>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server-stub/proto/control.pb.h"
#include "server-stub/service/amqp_ingest.h"
#include "server-stub/service/est_server.h"
#include "server-stub/service/liveness.h"
#include "server-stub/store/event_store.h"
#include "server-stub/domain/nearby.h"
#include "server-stub/domain/records.h"
#include "server-stub/domain/zones.h"
#include "shared/infra/mqtt.h"

class QLocalSocket;

namespace cad {

namespace control {
class FrameReader;
}

struct ServiceConfig {
  std::string dbPath = "cad.db";
  std::string broker = "tcp://127.0.0.1:1883";  ///< or a comma-separated list, tried in turn
  mdc::mqtt::Version mqttVersion = mdc::mqtt::Version::v5;  ///< 3.1.1 on RabbitMQ 3.10
  std::string clientId = "cad-stub-1";
  std::string sharedGroup;            ///< non-empty: $share/<group>/... (several instances)
  std::vector<std::string> amqpUris;  ///< non-empty: ingest from the AMQP queue, not MQTT subscriptions (a worker)
  std::string amqpQueue = "cad.ingest";
  std::string tlsCa, tlsCert, tlsKey;
  std::string controlPath;           ///< default: sideFileBase(dbPath) + ".ctl"
  int batchMax = 2000;               ///< messages per transaction at most
  int batchMs = 2;                   ///< longest a message waits for its batch's commit to start
  bool acceptAvlBatches = true;      ///< false: AVL batches refused whole (as by a backend from before them)
  int faultSlowCommitUs = 0;         ///< test hook (CAD_STUB_FAULT=slow-commit:US): each ingest commit takes US µs more per message (a slow disk)
  bool faultKillAfterCommit = false; ///< test hook (CAD_STUB_FAULT=kill-after-commit): SIGKILL itself between a command's commit and its publish
  int faultKillBeforeAckAfter = 0;   ///< test hook (CAD_STUB_FAULT=kill-before-ack:N): SIGKILL after the Nth ingest commit, before its AMQP ack
  int resendMs = 3000;               ///< a connected device that has not confirmed its downlinks gets them again after this
  int nearbyRadiusM = 5000;          ///< units within this are "nearby" (UnitsNearby)
  int nearbyIntervalMs = 5000;       ///< a unit hears of a change near it at most this often (emergencies at once); 0: off
  int nearbyRefreshMs = 30000;       ///< and again at least this often while connected
  int metricsPort = 0;               ///< > 0: Prometheus text metrics on 127.0.0.1:<port>/metrics
  std::string recordsPath;           ///< the records system's file; default: sideFileBase(dbPath) + ".records"
  int recordsDelayMs = 0;            ///< the records system answers this long after a query (to rehearse a slow one)
  /** A device that beats and is not heard this long is shown offline
   *  (registry.device_silent) until it is heard again; 0: off. Off by itself
   *  where the ingest is shared (AMQP workers, a shared subscription): no one
   *  instance hears all of a device's messages. */
  int silentAfterMs = 4000;
  EstConfig est;                     ///< enrolment over the network (est.port 0: off)
};

/** mosquitto's count of the messages it dropped (queue limits), every sys_interval. */
inline constexpr const char* kBrokerDroppedTopic = "$SYS/broker/publish/messages/dropped";

/** An ingest transaction longer than this is logged (its acks all waited for it). */
inline constexpr int64_t kSlowCommitMs = 100;

struct ServiceCounters {
  uint64_t received = 0, appended = 0, duplicates = 0, refused = 0, batches = 0, maxBatch = 0;
  uint64_t acksPublished = 0, downlinksPublished = 0, resyncs = 0, commands = 0, commitFailures = 0;
  uint64_t publishFailures = 0;   ///< downlinks the client refused to send (they go again from the outbox)
  uint64_t clockAheadClamped = 0;  ///< events recorded more than a minute ahead of their arrival (clamped)
  uint64_t downlinksResent = 0;   ///< sent again from the outbox to a device that had not confirmed them
  uint64_t nearbySent = 0;        ///< UnitsNearby downlinks published
  uint64_t boardsSent = 0;        ///< SupervisorBoard downlinks published
  uint64_t recordsQueries = 0;    ///< records queries answered (or refused by the records system)
  uint64_t recordsHits = 0;       ///< of which an officer-safety hit
  int64_t commitMsMax = 0;        ///< the longest ingest transaction, ms
  uint64_t slowCommits = 0;       ///< ingest transactions longer than kSlowCommitMs
  uint64_t avlBatches = 0;        ///< AVL batches received (each counted once in received)
  uint64_t batchedReports = 0;    ///< the reports they carried
  uint64_t redelivered = 0;       ///< AMQP: messages delivered again (a worker died, or a commit failed)
  std::map<std::string, uint64_t> refusedByReason;
  /** Events each device sent again after they were stored: a device that
   *  resends what is already committed shows here (its timeout is too short
   *  for this backend, or its acks are lost on the way down). */
  std::map<std::string, uint64_t> duplicatesByDevice;
  int64_t ingestBusyMs = 0;   ///< time spent in ingest transactions (with their fault-hook delay): the backend's own rate is appended / this
  int64_t ingestLagMs = 0;    ///< the last batch's lag: its oldest message's wait from arrival to commit
  int64_t ingestLagMsMax = 0;
  uint64_t brokerDropped = 0;  ///< messages the broker says it dropped since it started ($SYS/broker/publish/messages/dropped), last heard
  uint64_t beats = 0;          ///< beats heard (devices with nothing else to send; never stored)
  uint64_t silenced = 0;       ///< devices shown offline because they went silent
  uint64_t heardAgain = 0;     ///< of those, heard again (shown online)
  uint64_t edgeNotices = 0;    ///< edge watchers' liveness notices taken (cad-edge-watch)
};

class ServiceBridge;
class Exposition;

/** Thread-safety: lives on one thread (its event loop); paho's threads post to it. */
class CadService : public QObject {
  Q_OBJECT

 public:
  CadService(ServiceConfig config, EventStore& store, QObject* parent = nullptr);
  ~CadService() override;

  /** Opens the control socket and starts connecting to the broker. */
  Status start();
  void stop();
  const ServiceCounters& counters() const { return counters_; }

  // Bridge entry points (on this thread).
  void onConnected();
  void onConnectFailed(const std::string& reason);
  void onLost(const std::string& cause);
  /** A message from the broker; receivedAtMs: when it arrived (paho's thread), for the ingest lag. */
  void onMessage(const std::string& topic, std::string payload, int64_t receivedAtMs);
  void onSubscribed(const std::string& filter, bool ok, int code);
  void onDeliveries(std::vector<amqp::Delivery> batch);
  void onAmqpState(bool up, const std::string& what);
  /** A worker's AMQP publisher connected or lost: its way to the devices. */
  void onAmqpOutState(bool up, const std::string& what);

 private:
  /** The way to the devices (MQTT, or a worker's AMQP publisher) is up:
   *  what was sent before may be lost, so the outbox goes again. */
  void linkUp();
  /** It is down: nearby units and boards are sent whole once it is back. */
  void linkDown();
  /** Commits what is pending in one transaction, then acks, publishes and answers what it produced. */
  void flush();
  /** store_.ingest(batch), its time counted (and logged when slow). */
  Result<BatchOutcome> commitTimed(const std::vector<Incoming>& batch);
  /** Nothing stored: counted, logged; over AMQP the messages go back to the queue after a pause. */
  void commitFailed(const Error& error, size_t messages, const std::map<uint64_t, uint64_t>& tags);
  void countCommitted(const BatchOutcome& out, size_t messages);
  /** After COMMIT: the ingest lag, acks, downlinks, resync answers, records queries. */
  void publishCommitted(const std::vector<Incoming>& batch, const BatchOutcome& out);
  /** Downlinks can go out: connected to the broker, and (ingesting over
   *  MQTT) subscribed, so what a device answers is heard. */
  bool linkReady() const { return online_ && (amqp_ || subscribed_ >= 2); }
  /** Queues one message for the next batch (MQTT or AMQP). */
  void receive(const std::string& topic, std::string payload, int64_t receivedAtMs);
  /** Several stubs write the store (AMQP workers, a shared subscription):
   *  what one remembers of units and downlink heads may be old. */
  bool sharesStore() const { return amqp_ || !config_.sharedGroup.empty(); }
  void publish(const std::vector<Outgoing>& out);
  /** The MQTT client (config_.broker, a list is a cluster's nodes): not for a worker. */
  void makeMqttClient();
  /** One message to a device's down topic: over AMQP from a worker, else over MQTT. */
  Status sendDown(const std::string& device, std::string bytes, int qos);
  /** lagMs: the batch's ingest lag, carried on each ack (CommitAck.ingest_lag_ms). */
  void publishAcks(const std::map<std::string, std::vector<uint64_t>>& acks, int64_t lagMs);
  /** The broker's count of dropped messages ($SYS), logged when it grows. */
  void brokerDropped(const std::string& payload);
  void handleResync(const std::string& device, uint64_t after);
  /** The downlink outbox: sends each connected device what it has not yet
   *  confirmed holding (every second; at once when the broker link is back). */
  void pumpDownlinks();
  /** Sends each connected supervisor the board of its zones, when it changed (zones::Planner). */
  void publishBoards();
  /** Tells each connected unit who is near it, when that changed (nearby::Planner). */
  void publishNearby();
  /** Reads the state a planner works on (a store error: logged, this round skipped), then sends what is due. */
  template <class Read, class Send>
  void publishPlanned(const char* what, Read read, Send send);
  /** One planned downlink to device; note, if any, is logged once it is encoded. True: the client took it. */
  bool sendPlanned(const mdc::v1::Downlink& dl, const std::string& device, bool urgent, const std::string& what,
                   const std::string& note = {});
  uint64_t headOf(const std::string& unit);
  /** Asks the records system, logs its answer as an event, and sends it (and any safety alert). */
  void answerQuery(const PendingQuery& query);
  /** A downlink outside the unit's sequence (commit acks, head reports), addressed and timed now. */
  static mdc::v1::Downlink unsequenced(const std::string& unit);
  /** Listens on config_.controlPath (made absolute) for cadctl's requests. */
  Status openControlSocket();
  /** Answers each whole request frame the socket holds; an oversized frame
   *  is refused and the connection closed. */
  void serveControl(QLocalSocket& socket, control::FrameReader& frames);
  /** One control request and its reply; a store error propagates. */
  control::ControlReply handleControl(const control::ControlRequest& req);
  control::ControlReply controlStats();
  /** Runs a dispatcher command after flushing what was received before it. */
  control::ControlReply controlCommand(const control::ControlRequest& req);
  /** An enrolment token for an unregistered device registers it first; the refusal, if any. */
  std::optional<std::string> registerForToken(const control::ControlRequest& req);
  /** Serves metricsText() on 127.0.0.1:config_.metricsPort (GET /metrics). */
  Status openMetrics();
  /** The Prometheus text exposition of the counters and the store's state. */
  std::string metricsText();
  void ingestMetrics(Exposition& o) const;
  void linkMetrics(Exposition& o) const;
  /** Throws mdc::sql::DbError when the store cannot be read. */
  void storeMetrics(Exposition& o);
  /** liveness.cpp: devices that went silent shown offline, those heard again online. */
  void watchLiveness();
  /** liveness.cpp: writes registry.device_silent (silent) or device_heard
   *  for the devices as actor, and counts and logs those it changed: each
   *  line opens with who ("", or "edge NAME: "), and notHeard says why a
   *  device is shown offline. The devices written, or the store's error (logged). */
  Result<std::vector<std::string>> showLiveness(const std::vector<DeviceSilence>& devices, bool silent,
                                                const std::string& actor, const std::string& who,
                                                const std::string& notHeard);
  /** liveness.cpp: an edge watcher's notice, kept for the next flush. */
  void edgeNotice(const std::string& edge, const std::string& payload);
  /** liveness.cpp: writes the edge notices kept; false when the store failed. */
  bool recordEdgeNotices();
  /** Creates the scheduled calls that are due and publishes their offers. */
  void runSchedules();
  void logStats();

  ServiceConfig config_;
  EventStore& store_;
  std::unique_ptr<ServiceBridge> bridge_;
  std::unique_ptr<mdc::mqtt::Client> client_;
  std::vector<Incoming> pending_;
  std::vector<EdgeNotice> edgeNotices_;  ///< taken since the last flush, written by it
  QTimer flushTimer_;
  QTimer reconnectTimer_;
  QTimer statsTimer_;
  QLocalServer control_;
  QTcpServer metrics_;
  QTimer scheduleTimer_;
  std::unique_ptr<EstServer> est_;
  bool online_ = false;
  int subscribed_ = 0;
  int backoffMs_ = 0;
  ServiceCounters counters_;
  uint64_t loggedReceived_ = 0;
  bool brokerDroppedHeard_ = false;  ///< the broker's drop count was heard on this run
  std::map<std::string, std::string> unitCache_;
  std::map<std::string, uint64_t> headCache_;        // unit -> latest downlink seq (read again per batch when sharesStore())
  std::map<std::string, int64_t> lastResendMonoMs_;  // device -> when the outbox last sent it its tail
  QTimer downlinkTimer_;
  QTimer nearbyTimer_;
  nearby::Planner nearby_;
  QTimer boardTimer_;
  zones::Planner boards_{1000, 30000};
  std::unique_ptr<records::RecordsSystem> records_;
  std::unique_ptr<amqp::Consumer> amqp_;
  std::unique_ptr<amqp::Publisher> amqpOut_;  ///< a worker's way to the devices (no MQTT client then)
  std::unique_ptr<Liveness> liveness_;  ///< null: off
  QTimer livenessTimer_;
  bool amqpUp_ = false;
  int faultBatches_ = 0;
  std::vector<std::string> brokers_;  ///< config_.broker split
  size_t brokerIndex_ = 0;            ///< the one connected to, or tried next
  std::map<uint64_t, uint64_t> pendingTags_;  ///< AMQP connection -> highest delivery tag in pending_ (or refused)
};

}  // namespace cad
