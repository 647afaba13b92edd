// What the agent shows: its state snapshot (bounded to one local API frame)
// and pages of the conversation with dispatch.
#include <QString>

#include <algorithm>
#include <cmath>

#include "agent/agent.h"
#include "agent/state_key.h"
#include "agent/state_text.h"
#include "shared/wire/codec.h"
#include "shared/wire/geo.h"

namespace mdc::agent {

v1::AgentState Agent::snapshot() {
  v1::AgentState s;
  fillUnit(s);
  fillLink(s);
  fillGps(s);
  s.set_dropped_avl(uint64_t(store_.stateInt(StateKey(StateKind::DroppedAvl))));
  s.set_rejected_events(uint64_t(store_.stateInt(StateKey(StateKind::RejectedEvents))));
  fillAgencyConfiguration(s);
  s.set_cert_subject(certSubject_);
  s.set_cert_not_after_ms(certNotAfterMs_);
  s.set_cert_detail(certDetail_);
  for (auto& a : store_.recentActions(50)) *s.add_recent_actions() = std::move(a);
  for (const auto& e : lastErrors_) s.add_last_errors(e);
  s.set_downlink_cursor(store_.downlinkCursor(config_.unitId));
  s.set_next_seq(store_.nextSeq());
  s.set_now_ms(clock_.nowMs());
  s.set_store_bytes(store_.outboxBytes());
  s.set_store_cap_bytes(store_.capBytes());
  s.set_link_detail(linkDetail_);
  fillSendCounters(*s.mutable_counters());
  fillAgentCounters(*s.mutable_counters());
  fillSituation(s);
  fillInbox(s);
  fillCall(s);
  fillRecords(s);
  return s;
}

void Agent::fillUnit(v1::AgentState& s) {
  s.set_device_id(config_.deviceId);
  s.set_unit_id(config_.unitId);
  s.set_agency(config_.agency);
  s.set_agent_version(MDC_VERSION);
  s.set_status(v1::UnitStatus(store_.stateInt(StateKey(StateKind::Status), 0)));
  if (auto a = store_.action(uint64_t(store_.stateInt(StateKey(StateKind::StatusSeq), 0))))
    s.set_status_delivery(a->delivery());
  s.set_emergency_active(store_.stateInt(StateKey(StateKind::EmergencyActive), 0) == 1);
  if (auto a = store_.action(uint64_t(store_.stateInt(StateKey(StateKind::EmergencySeq), 0))))
    s.set_emergency_delivery(a->delivery());
  s.set_emergency_acknowledged_by(store_.state(StateKey(StateKind::EmergencyAckBy)));
}

void Agent::fillLink(v1::AgentState& s) {
  s.set_link(link_);
  s.set_link_since_ms(linkSinceMs_);
  s.set_broker(broker());
  for (auto lane : kLanes) {
    auto d = store_.laneDepth(lane);
    auto* l = s.add_lanes();
    l->set_lane(lane);
    l->set_count(uint32_t(d.count));
    l->set_oldest_at_ms(d.oldestQueuedAtMs);
  }
  s.set_last_commit_ack_ms(lastCommitAckMs_);
}

void Agent::fillGps(v1::AgentState& s) {
  auto* g = s.mutable_gps();
  g->set_has_fix(lastFix_ && lastFix_->hasPosition() && noFixSinceMs_ == 0);
  if (lastFix_ && lastFix_->hasPosition()) fillPosition(g->mutable_last_fix(), *lastFix_);
  g->set_last_fix_at_ms(lastFixAtMs_);
  g->set_no_fix_since_ms(noFixSinceMs_);
  g->set_source(gps_ ? gps_->describe() : config_.gpsSource);
  g->set_detail(gpsDetail_);
}

void Agent::fillAgencyConfiguration(v1::AgentState& s) {
  const std::string buttons = store_.state(StateKey(StateKind::ConfigStatuses));
  for (const auto& item : QString::fromStdString(buttons).split(',', Qt::SkipEmptyParts))
    if (int status = item.toInt(); v1::UnitStatus_IsValid(status) && status != v1::UNIT_STATUS_UNSPECIFIED)
      s.add_statuses(v1::UnitStatus(status));
  addCfsTypes(store_.state(StateKey(StateKind::ConfigCfsTypes)), s);
}

void Agent::fillSendCounters(google::protobuf::Map<std::string, uint64_t>& c) const {
  c["published"] = counters_.published;
  c["resent"] = inflight_.resent();
  c["avl_batches"] = counters_.avlBatches;
  c["avl_batches_refused"] = counters_.avlBatchesRefused;
  c["committed"] = counters_.committed;
  c["inflight"] = inflight_.size();
  c["ack_rtt_ms"] = uint64_t(sendWindow_.srttMs());
  c["retransmit_timeout_ms"] = uint64_t(sendWindow_.rtoMs());
  c["send_window"] = uint64_t(std::min(config_.window, sendWindow_.window()));
  c["ack_timeouts"] = counters_.ackTimeouts;
  c["duplicate_acks"] = inflight_.duplicateAcks();
  c["lost_resent"] = inflight_.lost();
  c["spurious_timeouts"] = sendWindow_.spuriousTimeouts();
  c["backend_lag_ms"] = uint64_t(sendWindow_.backendLagMs());
  c["backend_behind_cuts"] = sendWindow_.lagCuts();
}

void Agent::fillAgentCounters(google::protobuf::Map<std::string, uint64_t>& c) const {
  c["downlinks_applied"] = counters_.downlinksApplied;
  c["downlink_duplicates"] = counters_.downlinkDuplicates;
  c["downlink_gaps"] = counters_.downlinkGaps;
  c["held"] = counters_.held;
  c["gps_time_corrected"] = counters_.gpsTimeCorrected;
  c["gps_time_untrusted"] = counters_.gpsTimeUntrusted;
  c["avl_dropped_uncommitted"] = counters_.avlDroppedUncommitted;
  c["held_now"] = uint64_t(store_.heldCount());
  c["downlink_invalid"] = counters_.downlinkInvalid;
  c["connects"] = counters_.connects;
  c["connect_failures"] = counters_.connectFailures;
  c["broker_failovers"] = counters_.brokerFailovers;
  c["fresh_sessions"] = counters_.freshSessions;
  c["bad_requests"] = counters_.badRequests;
  c["records_queries"] = counters_.recordsQueries;
  c["records_answers"] = counters_.recordsAnswers;
  c["records_refused_offline"] = counters_.recordsRefusedOffline;
  if (!avl_) return;
  const hw::AvlCounters a = avl_->counters();
  c["avl_fixes"] = a.offered;
  c["avl_reports"] = a.reports;
  // The intervals in force (the agency's, else this device's): for technicians.
  c["avl_moving_interval_s"] = uint64_t(avl_->config().movingIntervalMs / 1000);
  c["avl_stationary_interval_s"] = uint64_t(avl_->config().stationaryIntervalMs / 1000);
  for (int r = 1; r < int(hw::kAvlFilterReasonCount); ++r)
    if (a.byFilter[size_t(r)] > 0)
      c[std::string("avl_filtered_") + hw::toString(hw::AvlFilterReason(r))] = a.byFilter[size_t(r)];
}

std::optional<std::pair<uint32_t, float>> Agent::fromFix(double lat, double lon) const {
  if (!lastFix_ || !lastFix_->hasPosition()) return std::nullopt;
  return std::pair{uint32_t(std::lround(geo::distanceM(lastFix_->lat, lastFix_->lon, lat, lon))),
                   float(geo::bearingDeg(lastFix_->lat, lastFix_->lon, lat, lon))};
}

// The current call: the newest assignment the unit is still on, when it has a
// location (after fillInbox, which put the newest assignments in the state).
void Agent::fillCall(v1::AgentState& s) {
  for (const auto& a : s.assignments()) {
    if (a.cleared()) continue;
    if (!a.assignment().has_location()) return;
    auto* c = s.mutable_call();
    c->set_incident_number(a.assignment().incident_number());
    c->set_lat(a.assignment().location().lat());
    c->set_lon(a.assignment().location().lon());
    if (auto d = fromFix(c->lat(), c->lon())) {
      c->set_from_fix(true);
      c->set_distance_m(d->first);
      c->set_bearing_deg(d->second);
    }
    return;
  }
}

void Agent::fillSituation(v1::AgentState& s) {
  if (boardAtMs_ > 0) {
    *s.mutable_supervisor_board() = board_;
    s.set_supervisor_board_at_ms(boardAtMs_);
  }
  if (nearbyAtMs_ == 0) return;
  s.set_nearby_at_ms(nearbyAtMs_);
  s.set_nearby_radius_m(nearby_.radius_m());
  for (const auto& u : nearby_.units()) {
    auto* v = s.add_nearby();
    v->set_unit_id(u.unit_id());
    v->set_status(u.status());
    v->set_lat(u.lat());
    v->set_lon(u.lon());
    v->set_position_at_ms(u.position_at_ms());
    v->set_emergency(u.emergency());
    v->set_on_same_call(u.on_same_call());
    v->set_incident_number(u.incident_number());
    const auto d = fromFix(u.lat(), u.lon());
    v->set_distance_m(d ? d->first : u.distance_m());
    v->set_bearing_deg(d ? d->second : -1.0f);
  }
  // The vehicle moved since the backend's list: nearest first from here.
  std::stable_sort(s.mutable_nearby()->begin(), s.mutable_nearby()->end(),
                   [](const auto& a, const auto& b) { return a.distance_m() < b.distance_m(); });
}

// Every reply fits one local API frame by construction: after the fixed
// fields, the newest assignments (each with its latest timeline lines) and
// then the newest messages of the conversation go in while they fit the
// budget; the totals say what else the agent holds (older messages:
// ListMessagesRequest).
void Agent::fillInbox(v1::AgentState& s) {
  s.set_assignments_total(uint32_t(store_.inboxCount(config_.unitId, "assignment")));
  s.set_messages_total(uint32_t(store_.conversationCount(config_.unitId)));
  s.set_inbox_pruned(uint64_t(store_.stateInt(StateKey(StateKind::InboxPruned), 0)));
  size_t used = s.ByteSizeLong();
  for (auto& [seq, dl] : store_.inbox(config_.unitId, "assignment", kStateAssignments)) {
    v1::ReceivedAssignment ra;
    *ra.mutable_assignment() = std::move(*dl.mutable_assignment());
    auto* timeline = ra.mutable_assignment()->mutable_timeline();
    ra.set_timeline_total(uint32_t(timeline->size()));
    if (timeline->size() > kStateTimelineLines) timeline->DeleteSubrange(0, timeline->size() - kStateTimelineLines);
    ra.set_downlink_seq(seq);
    ra.set_acknowledged(store_.state(StateKey::acknowledged(ra.assignment().incident_number())) == "1");
    ra.set_received_at_ms(dl.sent_at_ms());
    const std::string cleared = store_.state(StateKey::cleared(ra.assignment().incident_number()));
    ra.set_cleared(!cleared.empty());
    ra.set_cleared_reason(cleared);
    const size_t need = ra.ByteSizeLong() + 8;  // + tag and length
    if (used + need > kStateBudgetBytes) break;
    used += need;
    *s.add_assignments() = std::move(ra);
  }
  for (auto& m : store_.conversation(config_.unitId, std::nullopt, kStateMessages)) {
    const size_t need = m.ByteSizeLong() + 8;
    if (used + need > kStateBudgetBytes) break;
    used += need;
    *s.add_messages() = std::move(m);
  }
}

v1::MessagePage Agent::messagePage(const std::string& before, int limit) {
  v1::MessagePage page;
  size_t used = 0;
  auto rows = store_.conversation(config_.unitId, codec::MessageCursor::parse(before), limit + 1);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (int(i) == limit) {
      page.set_more(true);
      break;
    }
    const size_t need = rows[i].ByteSizeLong() + 8;
    if (used + need > kStateBudgetBytes) {
      page.set_more(true);
      break;
    }
    used += need;
    *page.add_messages() = std::move(rows[i]);
  }
  return page;
}

}  // namespace mdc::agent
