#pragma once
// The agent: owns the device's state on one thread (its Qt event loop). The
// responder's intents arrive through the local API, GPS fixes from hw/, and
// the network through the MQTT link; all of them are handled here, in order.
#include <QObject>
#include <QThread>
#include <QTimer>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "agent/avl_window.h"
#include "agent/config.h"
#include "agent/records_desk.h"
#include "agent/send_queues.h"
#include "agent/send_window.h"
#include "agent/store.h"
#include "hw/avl_policy.h"
#include "hw/fix_time.h"
#include "hw/gps_source.h"
#include "hw/vehicle_inputs.h"
#include "mdc/v1/local.pb.h"
#include "shared/wire/clock.h"
#include "shared/wire/codec.h"
#include "shared/infra/mqtt.h"
#include "shared/wire/uuid.h"

namespace mdc::agent {

class LinkBridge;
class GpsBridge;
class InputsBridge;

/** Counters readable through `mdcctl state --json`. */
struct AgentCounters {
  uint64_t published = 0;          ///< PUBLISH handed to the broker (including resends)
  uint64_t ackTimeouts = 0;        ///< retransmission timeouts (each sent the oldest event again, alone)
  uint64_t avlBatches = 0;         ///< AVL backlog batches published (their reports count in published)
  uint64_t avlBatchesRefused = 0;  ///< batches the backend refused whole (one from before batches): sent one per message
  uint64_t committed = 0;          ///< events the backend acknowledged as committed
  uint64_t downlinksApplied = 0;
  uint64_t downlinkDuplicates = 0;
  uint64_t downlinkGaps = 0;
  uint64_t avlDroppedUncommitted = 0;  ///< AVL reports lost because group commits kept failing (beyond 10 h held in memory)
  uint64_t gpsTimeCorrected = 0;  ///< fixes whose time was off by whole GPS rollover periods (corrected)
  uint64_t gpsTimeUntrusted = 0;  ///< fixes whose time disagreed with the system clock (system clock used)
  uint64_t held = 0;  ///< refusals for a cause that can be fixed: the event was held, not dropped
  uint64_t downlinkInvalid = 0;
  uint64_t connects = 0;
  uint64_t connectFailures = 0;
  uint64_t brokerFailovers = 0;  ///< moves to another broker of the list after a failure
  uint64_t freshSessions = 0;    ///< reconnects with a clean session because nothing came down
  uint64_t badRequests = 0;
  uint64_t recordsQueries = 0;     ///< records queries sent
  uint64_t recordsAnswers = 0;     ///< answers received for them
  uint64_t recordsRefusedOffline = 0;  ///< queries refused at once because the link was down
};

/** The device's brain. Thread-safety: every method runs on the thread that owns
 *  the object (the event loop); other threads reach it only through queued calls. */
class Agent : public QObject {
  Q_OBJECT

 public:
  Agent(AgentConfig config, Store& store, const Clock& clock, QObject* parent = nullptr);
  ~Agent() override;

  /** Starts the link (and the GPS source, if any); returns at once. */
  void start();
  /** Publishes an offline presence, disconnects, flushes pending AVL. */
  void stop();

  /** Handles one local API request and returns its reply (never throws). */
  v1::ApiReply handle(const v1::ApiRequest& request);
  /** The state the UI shows. */
  v1::AgentState snapshot();
  const AgentCounters& counters() const { return counters_; }
  /** Counts a local request that could not even be decoded (the API replied with the error). */
  void countBadRequest() { ++counters_.badRequests; }
  Store& store() { return store_; }
  const AgentConfig& config() const { return config_; }

  /** Entry points for the bridges (run on this object's thread). */
  void linkConnected(bool sessionPresent);
  void linkConnectFailed(const std::string& reason);
  void linkLost(const std::string& cause);
  void linkMessage(const std::string& topic, const std::string& payload);
  void linkPublishResult(int token, bool ok, int reasonCode);
  void linkSubscribeResult(const std::string& filter, bool ok, int reasonCode);
  void gpsFix(const hw::Fix& received);
  void gpsSourceState(bool connected, const std::string& detail);
  void vehicleInput(const hw::VehicleInputEvent& event);
  void vehicleInputsState(bool connected, const std::string& detail);

  /** Records an AVL report for group commit (the reporting policy calls this). */
  void recordAvl(const hw::Fix& fix, v1::AvlTrigger trigger);

 signals:
  /** Something the UI shows changed (coalesced by the local API). */
  void stateChanged();

 private:
  // agent_api.cpp: the responder's actions.
  v1::Envelope newEnvelope();
  void fillPosition(v1::Position* p, const hw::Fix& fix) const;
  v1::ApiReply queue(uint64_t requestId, v1::Envelope env, v1::Lane lane, const ActionInfo& action,
                     const StateUpdates& stateUpdates);
  // agent_api.cpp: each of the responder's actions becomes an event in the outbox.
  v1::ApiReply setStatus(uint64_t id, const v1::SetStatusRequest& req);
  v1::ApiReply setEmergency(uint64_t id, const v1::SetEmergencyRequest& req);
  /** A self-initiated call for service, at the location entered, else at the fix (none: refused). */
  v1::ApiReply createCfs(uint64_t id, const v1::CreateCfsRequest& req);
  /** Acknowledges an assignment this unit received (NOT_FOUND for any other incident). */
  v1::ApiReply ackAssignment(uint64_t id, const std::string& incident);
  v1::ApiReply sendMessage(uint64_t id, const std::string& text);

  // link.cpp: connecting through the broker list, failing over, the session's subscription.
  void connectNow();
  void scheduleReconnect();
  /** After a failure on the current broker: the next one in the list (no-op with one). */
  void failOver(const std::string& why);
  const std::string& broker() const { return brokers_[brokerIndex_]; }
  /** The current broker, with its place in the list when there are several. */
  std::string brokerLabel() const;
  void setLink(v1::LinkState state, const std::string& detail = {});
  /** Subscribes to this device's down topic; the broker's answer comes to linkSubscribeResult. */
  void subscribeDown();

  // presence.cpp: this device's presence and the health it carries.
  void publishPresence(bool online);
  std::string presencePayload(bool online);
  /** What of the device's health the backend has (GPS fix, queue depth's power of ten, certificate). */
  std::string healthSignature() const;
  /** Publishes the presence again when the health changed, at most every link.health_interval_s. */
  void refreshPresence();
  /** A beat on the device's beat topic when nothing else went up for
   *  link.heartbeat_s: the backend hears a frozen device go silent. */
  void beatIfIdle();

  // agent_state.cpp: the state the UI shows.
  // agent_state.cpp: the snapshot, topic by topic.
  void fillUnit(v1::AgentState& s);
  void fillLink(v1::AgentState& s);
  void fillGps(v1::AgentState& s);
  void fillAgencyConfiguration(v1::AgentState& s);
  /** The send side's counters (window, round trip, acks) for `mdcctl state --json`. */
  void fillSendCounters(google::protobuf::Map<std::string, uint64_t>& c) const;
  /** The rest of the counters (downlinks, link, GPS, records, the AVL policy's). */
  void fillAgentCounters(google::protobuf::Map<std::string, uint64_t>& c) const;
  void fillInbox(v1::AgentState& s);
  /** Messages of the conversation before the cursor ("" = from the newest), newest first. */
  v1::MessagePage messagePage(const std::string& before, int limit);
  // What a state carries at most (each reply fits one frame: kStateBudgetBytes).
  static constexpr size_t kStateBudgetBytes = codec::kMaxLocalFrameBytes - 4096;
  static constexpr int kStateAssignments = 10;
  static constexpr int kStateTimelineLines = 20;
  static constexpr int kStateMessages = 20;

  // uplink.cpp: the send window over the send queues, publishes, commit acks, resends.
  void pump();
  bool publishRow(const OutboxRow& row);
  /** Publishes the AVL backlog's next reports (at most maxReports) as one batch;
   *  0 when the first cannot go in a batch, -1 when the publish failed. */
  int publishBacklogBatch(int maxReports);
  /** The backend refused a batch whole: its reports go one per message on this connection. */
  void batchRefused(const v1::Rejection& rejection);
  /** Sends again, oldest first and within the window, only what was lost or timed out (InFlight::expire). */
  void checkAckTimeouts();
  /** Events the backend committed: off the outbox and the flight; the window learns the round trip. */
  void applyCommitAck(const v1::CommitAck& ack);

  // agent.cpp: AVL recorded in groups.
  void flushAvl();
  bool commitPendingAvl();

  // downlink.cpp: what comes down, applied in order (sequenced) or at once (transient),
  // and the downlink cursor told to the backend.
  void publishResync();
  void exchangeDownlinkCursor();
  void applyDownlink(const v1::Downlink& dl, const std::string& raw);
  /** The backend serves this device as another unit now; false when the store refused to keep that. */
  bool followUnitMove(const std::string& unitId);
  /** True when dl is the next of its unit's sequence (a duplicate is counted, a gap asked for). */
  bool nextInSequence(const v1::Downlink& dl);
  /** What a sequenced downlink changes in the agent's state, committed with it. */
  StateUpdates sequencedEffects(const v1::Downlink& dl);
  void applyTransient(const v1::Downlink& dl);
  void applyNearby(const v1::Downlink& dl);
  void applyBoard(const v1::Downlink& dl);
  /** An event the backend refused: held for a cause that can be fixed, else rejected for good. */
  void applyRejection(const v1::Rejection& rejection);
  /** Applies the agency's AVL intervals from the last committed Configuration
   *  (0: the device's own value from its config file). */
  void applyAgencyConfiguration();

  void noteError(const std::string& error);
  /** Reads the device certificate's subject and expiry for the diagnostics. */
  void readCertificate();
  // agent_renewal.cpp: the certificate renewed before it expires, through
  // tls.enroll_server, on a thread of its own (the HTTPS exchange blocks).
  void startRenewalChecks();
  void checkRenewal();
  void renewalFinished(bool ok, const std::string& detail);
  std::string presenceHealth_;
  int64_t presenceMonoMs_ = 0;

  AgentConfig config_;             ///< unitId: the unit served now (the backend's, after a move)
  std::string configuredUnitId_;   ///< the unit of the configuration file
  Store& store_;
  const Clock& clock_;
  UuidV7Generator ids_;
  std::unique_ptr<LinkBridge> bridge_;
  std::unique_ptr<mqtt::Client> client_;
  std::unique_ptr<GpsBridge> gpsBridge_;
  std::unique_ptr<hw::GpsSource> gps_;
  std::unique_ptr<InputsBridge> inputsBridge_;
  std::unique_ptr<hw::VehicleInputs> inputs_;
  std::unique_ptr<hw::AvlPolicy> avl_;
  bool statusChangedSinceFix_ = false;  ///< the next reported fix carries the STATUS trigger
  bool firstFixAfterConnect_ = false;   ///< the next fix after a reconnect is reported at once

  v1::LinkState link_ = v1::LINK_STATE_OFFLINE;
  int64_t linkSinceMs_ = 0;
  std::string linkDetail_;
  int backoffMs_ = 0;
  std::vector<std::string> brokers_;  ///< config broker list: one cluster's nodes
  size_t brokerIndex_ = 0;            ///< the one connected to, or tried next
  int failuresOnList_ = 0;            ///< connect failures since the last connection
  std::mt19937 rng_{std::random_device{}()};
  QTimer reconnectTimer_;
  QTimer housekeeping_;
  QTimer beatTimer_;
  QTimer avlTimer_;
  QTimer backfillTimer_;

  // Send side: the events published but not yet acknowledged as committed,
  // and what is read from the outbox to send next.
  SendWindow sendWindow_;  ///< how much may be in flight, and the retransmission timeout (send_window.h)
  InFlight inflight_{sendWindow_};  ///< what awaits its commit ack, and what goes again
  SendQueues queues_{store_, inflight_};  ///< what is read from the outbox to send (send_queues.h)
  double backfillTokens_ = 0;
  int64_t backfillRefillMonoMs_ = 0;
  std::map<int, uint64_t> tokenToSeq_;  ///< publish token -> its event's seq (a batch's: its first report's)
  /** AVL batches in flight: the batch's id -> its reports' seqs (until one is acked or the link resets). */
  std::map<std::string, std::vector<uint64_t>> batchesInFlight_;
  bool batchesRefused_ = false;  ///< the backend refused a batch on this connection
  int64_t lastCommitAckMs_ = 0;
  int64_t lastResyncMonoMs_ = -100000;
  hw::FixTimeCondition fixTimeCondition_ = hw::FixTimeCondition::None;
  bool downRefused_ = false;      // the broker refused the down topic's subscription on this connection
  uint64_t reportedCursor_ = 0;   // the downlink cursor last told to the backend (ResyncRequest)
  uint64_t knownHead_ = 0;        // the unit's downlink head the backend last told (CommitAck)
  int64_t gapSinceMonoMs_ = 0;    // since when knownHead_ is above the cursor (0: it is not)
  /** Retransmission rounds since anything last arrived on the down topic. */
  int silentRetransmits_ = 0;
  int64_t lastDownMonoMs_ = 0;  ///< when anything last arrived on the down topic (or the link came up)
  /** A fresh session is asked for only after this long without a sign of life
   *  (and kSilentRetransmitsBeforeFreshSession rounds): a backend that pauses
   *  for a few seconds (a slow disk, a failover) is waited for. */
  static constexpr int64_t kSilenceBeforeFreshSessionMs = 30000;
  /** A fresh session was asked for and nothing has arrived since: do not ask again. */
  bool freshSessionTried_ = false;
  bool freshSessionNext_ = false;  ///< the next connect starts a clean session
  static constexpr int kSilentRetransmitsBeforeFreshSession = 3;
  /** Slots of the window kept free of AVL so a status never waits behind a backlog. */
  static constexpr int kReservedForPriority = 8;
  AvlWindow avlWindow_;  ///< the AVL share of the window, following the link (avl_window.h)

  std::vector<v1::Envelope> avlPending_;
  std::optional<hw::Fix> lastFix_;
  std::optional<hw::Fix> shownFix_;  ///< the position of the last state pushed for a move
  int64_t lastFixAtMs_ = 0;
  int64_t noFixSinceMs_ = 0;
  bool gpsConnected_ = false;
  std::string gpsDetail_ = "no GPS source configured";

  std::string certSubject_;
  int64_t certNotAfterMs_ = 0;
  std::string certDetail_;
  QTimer renewTimer_;
  QThread* renewThread_ = nullptr;   ///< a renewal under way
  int64_t expiredLoggedMs_ = 0;      ///< when the agent last said the certificate expired

  v1::UnitsNearby nearby_;        ///< the backend's latest (not stored)
  int64_t nearbyAtMs_ = 0;        ///< its sent_at_ms; 0: none yet
  v1::SupervisorBoard board_;     ///< a supervisor's board, the backend's latest (not stored)
  int64_t boardAtMs_ = 0;         ///< its sent_at_ms; 0: none (not a supervisor, or not yet)
  /** Who is near, with distance and bearing from this vehicle's fix. */
  void fillSituation(v1::AgentState& s);
  /** Where the current call is, from this vehicle's fix. */
  void fillCall(v1::AgentState& s);
  /** Distance (m) and bearing (degrees true) from this vehicle's fix; nullopt without one. */
  std::optional<std::pair<uint32_t, float>> fromFix(double lat, double lon) const;

  // Records queries (agent_records.cpp): in memory only.
  RecordsDesk records_{RecordsDesk::Timing{}};
  /** Sends a query at once while online; refuses it (nothing sent) offline. */
  v1::ApiReply runQuery(uint64_t requestId, const v1::RecordsQuery& query);
  void applyRecordsAnswer(const v1::Downlink& dl);
  /** This device's queries, and other units' officer-safety hits on its calls. */
  void fillRecords(v1::AgentState& s);

  std::deque<std::string> lastErrors_;
  AgentCounters counters_;
};

}  // namespace mdc::agent
