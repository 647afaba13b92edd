// Records queries from the vehicle: sent at once while the link is up, never
// queued (a plate run an hour late is worth nothing, and a queued one would
// sit on disk); answered into memory and shown until records.show_s after the
// answer. The log records that a query was sent and what kind of answer came,
// never what the answer said: the answer exists only in memory and on the screen.
#include "agent/agent.h"
#include "shared/wire/codec.h"
#include "shared/infra/log.h"
#include "shared/wire/topics.h"

namespace mdc::agent {

v1::ApiReply Agent::runQuery(uint64_t requestId, const v1::RecordsQuery& query) {
  v1::ApiReply reply;
  reply.set_request_id(requestId);
  auto refuse = [&](v1::ApiErrorCode code, const std::string& why) {
    reply.set_ok(false);
    reply.set_error_code(code);
    reply.set_error(why);
    return reply;
  };
  if (link_ != v1::LINK_STATE_ONLINE || !client_) {
    ++counters_.recordsRefusedOffline;
    log::warn("records", "query refused: offline");
    return refuse(v1::API_ERROR_OFFLINE,
                  "records query: no link to dispatch (" + std::string(link_ == v1::LINK_STATE_CONNECTING
                                                                            ? "connecting"
                                                                            : "offline") +
                      "); queries are never queued: run it again when the link is back");
  }
  v1::Envelope env = newEnvelope();
  env.set_seq(0);
  *env.mutable_records_query() = query;
  auto bytes = codec::encodeEnvelope(env);
  if (!bytes) return refuse(v1::API_ERROR_BAD_REQUEST, bytes.error().message);
  auto sent = client_->publish(topics::up(config_.deviceId), *bytes, 1, false);
  if (!sent) {
    ++counters_.recordsRefusedOffline;
    return refuse(v1::API_ERROR_OFFLINE, "records query not sent: " + sent.error().message + "; run it again");
  }
  ++counters_.recordsQueries;
  ++counters_.published;
  records_.sent(env.event_id(), query, clock_.nowMs());
  log::info("records", "query " + env.event_id() + " sent (" + (query.has_plate() ? "plate" : "person") + ", " +
                           (query.incident_number().empty() ? query.reason_code() : "CFS " + query.incident_number()) +
                           ")");
  reply.set_ok(true);
  reply.mutable_query_sent()->set_query_id(env.event_id());
  emit stateChanged();
  return reply;
}

void Agent::applyRecordsAnswer(const v1::Downlink& dl) {
  const auto& a = dl.records_answer();
  if (!records_.answered(a, clock_.nowMs())) {
    log::info("records", "answer to query " + a.query_id() + " came after it left the screen: dropped");
    return;
  }
  ++counters_.recordsAnswers;
  if (a.hit()) log::warn("records", "answer to query " + a.query_id() + ": OFFICER SAFETY hit");
  else
    log::info("records", "answer to query " + a.query_id() + ": " + std::to_string(a.entries_size()) + " records" +
                             (a.refused().empty() ? "" : " (refused)"));
  emit stateChanged();
}

void Agent::fillRecords(v1::AgentState& s) {
  const int64_t now = clock_.nowMs();
  records_.fill(s, now);
  // Other units' hits on this unit's calls: from the encrypted inbox, while recent.
  for (auto& [seq, dl] : store_.inbox(config_.unitId, "safety_alert", 5)) {
    if (now - dl.safety_alert().at_ms() > int64_t(config_.recordsAlertShowS) * 1000) continue;
    auto* v = s.add_safety_alerts();
    *v->mutable_alert() = dl.safety_alert();
    v->set_downlink_seq(seq);
  }
}

}  // namespace mdc::agent
