#include "agent/records_desk.h"

#include <algorithm>

#include "shared/wire/codec.h"

namespace mdc::agent {

namespace {
bool isWaiting(const v1::RecordsQueryView& q) {
  return q.state() == v1::RECORDS_QUERY_STATE_WAITING || q.state() == v1::RECORDS_QUERY_STATE_SLOW;
}
}  // namespace

void RecordsDesk::sent(const std::string& queryId, const v1::RecordsQuery& query, int64_t nowMs) {
  v1::RecordsQueryView q;
  q.set_query_id(queryId);
  q.set_subject(codec::recordsSubjectText(query));
  q.set_incident_number(query.incident_number());
  q.set_reason_code(query.reason_code());
  q.set_state(v1::RECORDS_QUERY_STATE_WAITING);
  q.set_sent_at_ms(nowMs);
  items_.push_front(std::move(q));
  while (items_.size() > kKeep) items_.pop_back();
}

void RecordsDesk::finish(v1::RecordsQueryView& q, v1::RecordsQueryState state, const std::string& detail,
                         int64_t nowMs) {
  q.set_state(state);
  q.set_detail(detail);
  q.set_answered_at_ms(nowMs);
  q.set_expires_at_ms(nowMs + timing_.showMs);
}

bool RecordsDesk::answered(const v1::RecordsAnswer& answer, int64_t nowMs) {
  for (auto& q : items_)
    if (q.query_id() == answer.query_id()) {
      *q.mutable_answer() = answer;
      if (!answer.refused().empty())
        finish(q, v1::RECORDS_QUERY_STATE_FAILED, "refused by the records system: " + answer.refused(), nowMs);
      else
        finish(q, v1::RECORDS_QUERY_STATE_ANSWERED, "", nowMs);
      return true;
    }
  return false;
}

bool RecordsDesk::refused(const std::string& queryId, const std::string& detail, int64_t nowMs) {
  for (auto& q : items_)
    if (q.query_id() == queryId && isWaiting(q)) {
      finish(q, v1::RECORDS_QUERY_STATE_FAILED, "refused by dispatch: " + detail, nowMs);
      return true;
    }
  return false;
}

int RecordsDesk::linkLost(int64_t nowMs) {
  int n = 0;
  for (auto& q : items_)
    if (isWaiting(q)) {
      finish(q, v1::RECORDS_QUERY_STATE_FAILED, "the link to dispatch went down before the answer; run it again", nowMs);
      ++n;
    }
  return n;
}

bool RecordsDesk::tick(int64_t nowMs) {
  bool changed = false;
  for (auto& q : items_) {
    const int64_t waited = nowMs - q.sent_at_ms();
    if (isWaiting(q) && waited >= timing_.timeoutMs) {
      finish(q, v1::RECORDS_QUERY_STATE_FAILED,
             "no answer from the records system in " + std::to_string(timing_.timeoutMs / 1000) + " s; run it again",
             nowMs);
      changed = true;
    } else if (q.state() == v1::RECORDS_QUERY_STATE_WAITING && waited >= timing_.slowMs) {
      q.set_state(v1::RECORDS_QUERY_STATE_SLOW);
      changed = true;
    }
  }
  auto gone = std::remove_if(items_.begin(), items_.end(), [&](const v1::RecordsQueryView& q) {
    return !isWaiting(q) && q.expires_at_ms() > 0 && nowMs >= q.expires_at_ms();
  });
  if (gone != items_.end()) {
    items_.erase(gone, items_.end());
    changed = true;
  }
  return changed;
}

void RecordsDesk::fill(v1::AgentState& s, int64_t nowMs) const {
  for (const auto& q : items_) {
    auto* v = s.add_records();
    *v = q;
    if (isWaiting(q))
      v->set_detail(std::string(q.state() == v1::RECORDS_QUERY_STATE_SLOW
                                    ? "the records system is slow to answer: waiting "
                                    : "waiting ") +
                    std::to_string((nowMs - q.sent_at_ms()) / 1000) + " s");
  }
}

bool RecordsDesk::waiting(const std::string& queryId) const {
  return std::any_of(items_.begin(), items_.end(),
                     [&](const v1::RecordsQueryView& q) { return q.query_id() == queryId && isWaiting(q); });
}

}  // namespace mdc::agent
