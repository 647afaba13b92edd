// What comes down from dispatch: the unit's sequenced downlinks (applied in
// order, once, each committed with its effects on the agent's state) and the
// transient ones (commit acks, rejections, units nearby, a supervisor's board,
// records answers), applied at once and never stored in the sequence.
#include <map>
#include <set>
#include <string>

#include "agent/agent.h"
#include "agent/state_key.h"
#include "agent/state_text.h"
#include "shared/wire/codec.h"
#include "shared/infra/log.h"
#include "shared/wire/topics.h"

namespace mdc::agent {

namespace {

StateUpdates cfsAccepted(Store& store, const v1::CfsAccepted& a) {
  if (auto seq = store.actionSeqForEvent(a.event_id())) (void)store.setActionDetail(*seq, a.incident_number());
  log::info("link", "self-initiated CFS accepted as incident " + a.incident_number());
  return {{StateKey::cfsIncident(a.event_id()), a.incident_number()}};
}

StateUpdates emergencyAcknowledged(const v1::EmergencyAcknowledged& a) {
  log::info("link", "emergency acknowledged by " + a.by());
  return {{StateKey(StateKind::EmergencyAckBy), a.by()},
          {StateKey(StateKind::EmergencyAckAt), std::to_string(a.at_ms())}};
}

StateUpdates assigned(const v1::Assignment& a) {
  log::info("link", "assignment " + a.incident_number() + " (" + a.cfs_type() + ")");
  return {{StateKey::cleared(a.incident_number()), ""}};  // assigned (again): current
}

StateUpdates cleared(const v1::AssignmentCleared& c) {
  log::info("link", "off " + c.incident_number() + ": " + c.reason());
  return {{StateKey::cleared(c.incident_number()), c.reason().empty() ? "cleared" : c.reason()}};
}

StateUpdates configured(const v1::Configuration& c) {
  std::string statuses;
  for (int s : c.statuses()) statuses += (statuses.empty() ? "" : ",") + std::to_string(s);
  log::info("link", "agency configuration: " + std::to_string(c.statuses_size()) + " status buttons, AVL moving " +
                        std::to_string(c.avl_moving_interval_s()) + " s, stationary " +
                        std::to_string(c.avl_stationary_interval_s()) + " s (0: this device's own), " +
                        std::to_string(c.cfs_types_size()) + " call types");
  return {{StateKey(StateKind::ConfigStatuses), statuses},
          {StateKey(StateKind::ConfigAvlMovingS), std::to_string(c.avl_moving_interval_s())},
          {StateKey(StateKind::ConfigAvlStationaryS), std::to_string(c.avl_stationary_interval_s())},
          {StateKey(StateKind::ConfigCfsTypes), cfsTypesState(c)}};
}

}  // namespace

// The backend sends each downlink again until the device says it holds it
// (a ResyncRequest carries the cursor), and answers every request with the
// unit's head: a connected vehicle missing a tail asks for it at once,
// without waiting for a reconnect. Called every second.
void Agent::exchangeDownlinkCursor() {
  if (link_ != v1::LINK_STATE_ONLINE || !client_) return;
  const uint64_t cursor = store_.downlinkCursor(config_.unitId);
  const int64_t now = clock_.monotonicMs(), sinceLast = now - lastResyncMonoMs_;
  // A gap that lasts a second is not a downlink still on its way.
  bool missing = false;
  if (knownHead_ <= cursor) gapSinceMonoMs_ = 0;
  else if (gapSinceMonoMs_ == 0) gapSinceMonoMs_ = now;
  else missing = now - gapSinceMonoMs_ >= 1000 && sinceLast > 2000;
  if (missing) {
    ++counters_.downlinkGaps;
    log::warn("link", "the backend holds downlinks up to seq " + std::to_string(knownHead_) + ", this device up to " +
                          std::to_string(cursor) + "; asking for the rest");
  }
  const bool due = sinceLast >= int64_t(config_.downlinkCheckS) * 1000;
  if (due && downRefused_) {
    // An ACL may have been mended since: ask again, as often as the check.
    log::info("link", "subscribing again to " + topics::down(config_.deviceId));
    subscribeDown();
  }
  if (cursor != reportedCursor_ || missing || due) publishResync();
}

void Agent::publishResync() {
  v1::Envelope env = newEnvelope();
  env.set_seq(0);
  env.mutable_resync()->set_after_seq(store_.downlinkCursor(config_.unitId));
  reportedCursor_ = env.resync().after_seq();
  auto bytes = codec::encodeEnvelope(env);
  if (!bytes) return;
  lastResyncMonoMs_ = clock_.monotonicMs();
  auto r = client_->publish(topics::up(config_.deviceId), *bytes, 1, false);
  if (!r) {
    log::warn("link", "resync request not sent: " + r.error().message);
    noteError(r.error().message);
  } else log::info("link", "asked for downlinks after seq " + std::to_string(env.resync().after_seq()));
}

void Agent::linkMessage(const std::string& topic, const std::string& payload) {
  auto parsed = topics::parse(topic);
  if (!parsed || parsed->kind != topics::Kind::Down || parsed->deviceId != config_.deviceId) {
    log::warn("link", "ignored a message on unexpected topic \"" + topic + "\"");
    return;
  }
  silentRetransmits_ = 0;  // the way down works
  lastDownMonoMs_ = clock_.monotonicMs();
  freshSessionTried_ = false;
  auto dl = codec::decodeDownlink(payload);
  if (!dl) {
    ++counters_.downlinkInvalid;
    log::warn("link", "invalid downlink ignored: " + dl.error().message);
    noteError("invalid downlink: " + dl.error().message);
    return;
  }
  applyDownlink(*dl, payload);
}

void Agent::applyDownlink(const v1::Downlink& dl, const std::string& raw) {
  // Commit acks and rejections name events by this device's seq: they apply
  // whatever unit the backend now files the device under.
  if (dl.seq() == 0) {
    applyTransient(dl);
    return;
  }
  if (dl.unit_id() != config_.unitId && !followUnitMove(dl.unit_id())) return;
  if (!nextInSequence(dl)) return;
  if (Status s = store_.storeDownlink(dl, raw, sequencedEffects(dl)); !s) {
    noteError(s.error().message);
    return;
  }
  ++counters_.downlinksApplied;
  if (dl.has_configuration()) applyAgencyConfiguration();
  // A sequenced downlink: the backend knows this device now (the registry may
  // have changed), so what it held back goes again.
  if (int n = store_.releaseHeld(true); n > 0) {
    log::info("link", std::to_string(n) + " held events sent again: the backend knows this device now");
    queues_.reset();
  }
  emit stateChanged();
  pump();
}

bool Agent::followUnitMove(const std::string& unitId) {
  // Only the backend writes this device's down topic (the broker's ACL), and
  // it sends sequenced downlinks for the unit it has the device serving: a
  // dispatcher moved this vehicle's device to another unit.
  log::warn("link", "the backend moved this device from unit " + config_.unitId + " to unit " + unitId);
  if (Status st = store_.setState({{StateKey(StateKind::UnitConfigured), configuredUnitId_},
                                   {StateKey(StateKind::UnitAssigned), unitId}});
      !st) {
    noteError(st.error().message);
    return false;
  }
  config_.unitId = unitId;
  knownHead_ = 0;  // the old unit's
  nearby_.Clear();  // the old unit's neighbours; the new unit's list follows
  nearbyAtMs_ = 0;
  board_.Clear();  // a supervisor's board belongs to its unit
  boardAtMs_ = 0;
  gapSinceMonoMs_ = 0;
  emit stateChanged();
  return true;
}

bool Agent::nextInSequence(const v1::Downlink& dl) {
  uint64_t cursor = store_.downlinkCursor(dl.unit_id());
  if (dl.seq() <= cursor) {
    ++counters_.downlinkDuplicates;
    return false;
  }
  if (dl.seq() > cursor + 1) {
    // Missed some (the broker's offline queue is bounded): ask the backend to
    // resend from the cursor rather than apply out of order.
    ++counters_.downlinkGaps;
    if (clock_.monotonicMs() - lastResyncMonoMs_ > 2000) {
      log::warn("link", "downlink gap: got seq " + std::to_string(dl.seq()) + " after " + std::to_string(cursor) +
                            "; asking for a resend");
      publishResync();
    }
    return false;
  }
  return true;
}

StateUpdates Agent::sequencedEffects(const v1::Downlink& dl) {
  switch (dl.body_case()) {
    case v1::Downlink::kCommitAck:
    case v1::Downlink::kUnitsNearby:
    case v1::Downlink::kRecordsAnswer:
    case v1::Downlink::kSupervisorBoard:
      break;  // always unsequenced (codec)
    case v1::Downlink::kSafetyAlert:
      // What was found stays in the encrypted inbox, not in the log.
      log::warn("records", "officer safety: unit " + dl.safety_alert().unit_id() + " on " +
                               dl.safety_alert().incident_number() + " has a hit");
      break;
    case v1::Downlink::kRejection:
      applyTransient(dl);  // a stored event that lost a conflict
      break;
    case v1::Downlink::kCfsAccepted:
      return cfsAccepted(store_, dl.cfs_accepted());
    case v1::Downlink::kEmergencyAck:
      return emergencyAcknowledged(dl.emergency_ack());
    case v1::Downlink::kAssignment:
      return assigned(dl.assignment());
    case v1::Downlink::kAssignmentCleared:
      return cleared(dl.assignment_cleared());
    case v1::Downlink::kMessage:
      log::info("link", "message from " + dl.message().from());
      break;
    case v1::Downlink::kConfiguration:
      return configured(dl.configuration());
    case v1::Downlink::BODY_NOT_SET:
      break;
  }
  return {};
}

void Agent::applyAgencyConfiguration() {
  if (!avl_) return;
  const int64_t moving = store_.stateInt(StateKey(StateKind::ConfigAvlMovingS), 0);
  const int64_t stationary = store_.stateInt(StateKey(StateKind::ConfigAvlStationaryS), 0);
  int64_t movingMs = (moving > 0 ? moving : config_.avlMovingIntervalS) * 1000;
  int64_t stationaryMs = (stationary > 0 ? stationary : config_.avlStationaryIntervalS) * 1000;
  if (auto err = avl_->setIntervals(movingMs, stationaryMs)) {
    log::warn("agent", "agency AVL intervals not applied: " + *err);
    noteError("agency AVL intervals not applied: " + *err);
  }
}

// Commit acks, rejections and the units nearby: applied at once, idempotent,
// not part of the downlink sequence (see mdc.proto, Downlink.seq).
void Agent::applyTransient(const v1::Downlink& dl) {
  if (dl.has_records_answer()) {
    applyRecordsAnswer(dl);
    return;
  }
  if (dl.has_rejection() && dl.rejection().seq() == 0 && records_.waiting(dl.rejection().event_id())) {
    log::warn("records", "query " + dl.rejection().event_id() + " refused by the backend: " + dl.rejection().detail());
    records_.refused(dl.rejection().event_id(), dl.rejection().detail(), clock_.nowMs());
    emit stateChanged();
    return;
  }
  if (dl.has_units_nearby()) {
    if (dl.unit_id() == config_.unitId) applyNearby(dl);  // else for the unit this device served before a move
    return;
  }
  if (dl.has_supervisor_board()) {
    if (dl.unit_id() == config_.unitId) applyBoard(dl);
    return;
  }
  if (dl.has_commit_ack() && dl.commit_ack().downlink_head() > 0 && dl.unit_id() == config_.unitId)
    knownHead_ = dl.commit_ack().downlink_head();  // a tail still missing in a second is asked for
  if (dl.has_commit_ack() && dl.commit_ack().committed_size() == 0) return;  // a head report only
  if (dl.has_commit_ack()) {
    applyCommitAck(dl.commit_ack());
    return;
  }
  if (dl.has_rejection() && batchesInFlight_.count(dl.rejection().event_id())) {
    batchRefused(dl.rejection());
    return;
  }
  if (dl.has_rejection()) applyRejection(dl.rejection());
}

void Agent::applyNearby(const v1::Downlink& dl) {
  // An emergency that starts near this vehicle is logged once.
  std::set<std::string> before;
  for (const auto& u : nearby_.units())
    if (u.emergency()) before.insert(u.unit_id());
  for (const auto& u : dl.units_nearby().units())
    if (u.emergency() && !before.count(u.unit_id()))
      log::warn("link", "nearby unit " + u.unit_id() + " has an active emergency, " + std::to_string(u.distance_m()) +
                            " m away");
  nearby_ = dl.units_nearby();
  nearbyAtMs_ = dl.sent_at_ms();
  emit stateChanged();
}

void Agent::applyBoard(const v1::Downlink& dl) {
  if (dl.supervisor_board().scope().empty()) {
    if (boardAtMs_ > 0) log::info("link", "supervisor board withdrawn");
    board_.Clear();
    boardAtMs_ = 0;
  } else {
    if (boardAtMs_ == 0) log::info("link", "supervisor board: " + dl.supervisor_board().scope());
    board_ = dl.supervisor_board();
    boardAtMs_ = dl.sent_at_ms();
  }
  emit stateChanged();
}

void Agent::applyRejection(const v1::Rejection& rejection) {
  bool held = false;
  auto seq = store_.applyRejection(rejection, &held);
  if (!seq) {
    noteError(seq.error().message);
    return;
  }
  if (*seq) inflight_.forget(**seq);
  if (held) {
    ++counters_.held;
    log::warn("link", "backend refused event " + rejection.event_id() + " for a cause that can be fixed (" +
                          v1::RejectReason_Name(rejection.reason()) + " " + rejection.detail() +
                          "): held, sent again later");
    noteError("held by the backend: " + rejection.detail());
    emit stateChanged();
    return;
  }
  log::warn("link", "backend rejected event " + rejection.event_id() + ": " + v1::RejectReason_Name(rejection.reason()) +
                        " " + rejection.detail());
  noteError("backend rejected an event: " + rejection.detail());
  emit stateChanged();
}

}  // namespace mdc::agent
