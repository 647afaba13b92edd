// The responder's actions through the local API: each request becomes an
// event committed to the outbox before the reply says "queued".
#include <QString>

#include "agent/agent.h"
#include "agent/state_key.h"
#include "shared/wire/codec.h"
#include "shared/infra/log.h"

namespace mdc::agent {

namespace {

v1::ApiReply errorReply(uint64_t requestId, v1::ApiErrorCode code, const std::string& message) {
  v1::ApiReply r;
  r.set_request_id(requestId);
  r.set_ok(false);
  r.set_error_code(code);
  r.set_error(message);
  return r;
}

v1::ApiReply okReply(uint64_t requestId) {
  v1::ApiReply r;
  r.set_request_id(requestId);
  r.set_ok(true);
  return r;
}

}  // namespace

v1::Envelope Agent::newEnvelope() {
  v1::Envelope env;
  env.set_version(codec::kProtocolVersion);
  env.set_event_id(ids_.next());
  env.set_device_id(config_.deviceId);
  env.set_unit_id(config_.unitId);
  env.set_agency(config_.agency);
  // GPS time is the reference when the fix is good and fresh; otherwise the
  // system clock, and the envelope says which.
  int64_t now = clock_.nowMs();
  if (lastFix_ && lastFix_->hasPosition() && lastFix_->timeMs > 0 &&
      clock_.monotonicMs() - lastFix_->receivedMonoMs < 5000) {
    env.set_recorded_at_ms(lastFix_->timeMs + (clock_.monotonicMs() - lastFix_->receivedMonoMs));
    env.set_clock_source(v1::CLOCK_SOURCE_GPS);
  } else {
    env.set_recorded_at_ms(now);
    env.set_clock_source(v1::CLOCK_SOURCE_SYSTEM);
  }
  return env;
}

void Agent::fillPosition(v1::Position* p, const hw::Fix& f) const {
  p->set_lat(f.lat);
  p->set_lon(f.lon);
  p->set_alt_m(float(f.altM));
  p->set_speed_mps(float(f.speedMps));
  p->set_track_deg(float(f.trackDeg));
  p->set_eph_m(float(f.ephM));
  p->set_mode(f.mode == hw::Fix::Mode::Fix3D ? v1::FIX_MODE_3D : v1::FIX_MODE_2D);
  p->set_satellites(uint32_t(std::max(0, f.satellitesUsed)));
  p->set_fix_time_ms(f.timeMs);
}

v1::ApiReply Agent::queue(uint64_t requestId, v1::Envelope env, v1::Lane lane, const ActionInfo& action,
                          const StateUpdates& stateUpdates) {
  auto row = store_.enqueue(env, lane, action, stateUpdates);
  if (!row) {
    auto code = row.error().code == int(StoreErrorCode::Full) ? v1::API_ERROR_STORE_FULL : v1::API_ERROR_STORE_FAILED;
    log::error("agent", action.kind + " " + action.summary + " not queued: " + row.error().message);
    noteError(row.error().message);
    return errorReply(requestId, code, row.error().message);
  }
  log::info("agent", "queued " + action.kind + " " + action.summary + " seq " + std::to_string(row->seq) + " lane " +
                         laneName(lane));
  v1::ApiReply reply;
  reply.set_request_id(requestId);
  reply.set_ok(true);
  reply.mutable_queued()->set_event_id(row->eventId);
  reply.mutable_queued()->set_seq(row->seq);
  reply.mutable_queued()->set_lane(lane);
  emit stateChanged();
  pump();
  return reply;
}

v1::ApiReply Agent::handle(const v1::ApiRequest& req) {
  if (Status s = codec::validate(req); !s) {
    ++counters_.badRequests;
    return errorReply(req.request_id(), v1::API_ERROR_BAD_REQUEST, s.error().message);
  }
  const uint64_t id = req.request_id();
  switch (req.body_case()) {
    case v1::ApiRequest::kSetStatus:
      return setStatus(id, req.set_status());
    case v1::ApiRequest::kSetEmergency:
      return setEmergency(id, req.set_emergency());
    case v1::ApiRequest::kCreateCfs:
      return createCfs(id, req.create_cfs());
    case v1::ApiRequest::kAckAssignment:
      return ackAssignment(id, req.ack_assignment().incident_number());
    case v1::ApiRequest::kSendMessage:
      return sendMessage(id, req.send_message().text());
    case v1::ApiRequest::kGetState:
    case v1::ApiRequest::kSubscribe: {
      v1::ApiReply reply = okReply(id);
      *reply.mutable_state() = snapshot();
      return reply;
    }
    case v1::ApiRequest::kListMessages: {
      v1::ApiReply reply = okReply(id);
      *reply.mutable_messages_page() = messagePage(req.list_messages().before(), int(req.list_messages().limit()));
      return reply;
    }
    case v1::ApiRequest::kRecordsQuery:
      return runQuery(id, req.records_query());
    case v1::ApiRequest::BODY_NOT_SET:
      break;
  }
  ++counters_.badRequests;
  return errorReply(id, v1::API_ERROR_BAD_REQUEST, "request.body: required, none is set");
}

v1::ApiReply Agent::setStatus(uint64_t id, const v1::SetStatusRequest& req) {
  v1::Envelope env = newEnvelope();
  auto* s = env.mutable_status();
  s->set_status(req.status());
  s->set_incident_number(req.incident_number());
  if (lastFix_ && lastFix_->hasPosition()) fillPosition(s->mutable_position(), *lastFix_);
  std::string name = codec::statusName(req.status());
  // The status and which event carries it, in the enqueue's own transaction
  // (this loop is the store's only writer: the event gets nextSeq()).
  auto reply = queue(id, std::move(env), v1::LANE_STATUS, {"status", name},
                     {{StateKey(StateKind::Status), std::to_string(int(req.status()))},
                      {StateKey(StateKind::StatusSeq), std::to_string(store_.nextSeq())}});
  if (reply.ok()) statusChangedSinceFix_ = true;  // the next fix is reported with the STATUS trigger
  return reply;
}

v1::ApiReply Agent::setEmergency(uint64_t id, const v1::SetEmergencyRequest& req) {
  v1::Envelope env = newEnvelope();
  auto* e = env.mutable_emergency();
  e->set_active(req.active());
  e->set_source(req.source());
  if (lastFix_ && lastFix_->hasPosition()) fillPosition(e->mutable_position(), *lastFix_);
  bool active = req.active();
  StateUpdates updates{{StateKey(StateKind::EmergencyActive), active ? "1" : "0"}};
  if (active) updates[StateKey(StateKind::EmergencyAckBy)] = "";
  auto reply = queue(id, std::move(env), v1::LANE_EMERGENCY, {"emergency", active ? "ACTIVATED" : "CLEARED"}, updates);
  if (reply.ok())
    (void)store_.setState({{StateKey(StateKind::EmergencySeq), std::to_string(reply.queued().seq())}});
  return reply;
}

v1::ApiReply Agent::createCfs(uint64_t id, const v1::CreateCfsRequest& c) {
  v1::Envelope env = newEnvelope();
  auto* cfs = env.mutable_cfs();
  cfs->set_cfs_type(c.cfs_type());
  if (c.has_location()) *cfs->mutable_location() = c.location();
  else if (lastFix_ && lastFix_->hasPosition()) fillPosition(cfs->mutable_location(), *lastFix_);
  else
    return errorReply(id, v1::API_ERROR_BAD_REQUEST,
                      "create_cfs.location: required while the GPS has no fix; enter the location");
  cfs->set_address(c.address());
  cfs->set_note(c.note());
  return queue(id, std::move(env), v1::LANE_STATUS, {"cfs", c.cfs_type()}, {});
}

v1::ApiReply Agent::ackAssignment(uint64_t id, const std::string& incident) {
  uint64_t dlSeq = 0;
  for (const auto& [seq, dl] : store_.inbox(config_.unitId, "assignment", 200))
    if (dl.assignment().incident_number() == incident) {
      dlSeq = seq;
      break;
    }
  if (dlSeq == 0)
    return errorReply(id, v1::API_ERROR_NOT_FOUND,
                      "ack_assignment.incident_number: \"" + incident + "\" is not an assignment this unit received");
  v1::Envelope env = newEnvelope();
  env.mutable_assignment_ack()->set_incident_number(incident);
  env.mutable_assignment_ack()->set_downlink_seq(dlSeq);
  return queue(id, std::move(env), v1::LANE_STATUS, {"ack", incident}, {{StateKey::acknowledged(incident), "1"}});
}

v1::ApiReply Agent::sendMessage(uint64_t id, const std::string& text) {
  v1::Envelope env = newEnvelope();
  env.mutable_message()->set_text(text);
  // The text is kept encrypted (outbox, sent_messages): the action history
  // (plaintext metadata, see the README's "Data at rest") says its length.
  std::string summary = std::to_string(QString::fromStdString(text).size()) + " characters";
  return queue(id, std::move(env), v1::LANE_MESSAGE, {"message", summary, text}, {});
}

}  // namespace mdc::agent
