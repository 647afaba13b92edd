#include "agent/state_text.h"

#include <cmath>
#include <sstream>

#include "agent/store.h"
#include "shared/wire/codec.h"
#include "shared/wire/clock.h"
#include "shared/wire/geo.h"

namespace mdc::agent {

namespace {
std::string linkName(v1::LinkState l) {
  switch (l) {
    case v1::LINK_STATE_ONLINE: return "online";
    case v1::LINK_STATE_CONNECTING: return "connecting";
    case v1::LINK_STATE_OFFLINE: return "offline";
    default: return "unknown";
  }
}
}  // namespace

std::string deliveryName(v1::Delivery d) {
  switch (d) {
    case v1::DELIVERY_QUEUED: return "queued";
    case v1::DELIVERY_DELIVERED: return "delivered";
    case v1::DELIVERY_REJECTED: return "rejected";
    case v1::DELIVERY_HELD: return "held";
    default: return "-";
  }
}

namespace {
std::string age(int64_t nowMs, int64_t atMs) {
  if (atMs <= 0) return "-";
  int64_t s = (nowMs - atMs) / 1000;
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  return std::to_string(s / 3600) + " h";
}
}  // namespace

std::string stateLine(const v1::AgentState& s) {
  std::ostringstream o;
  int64_t queued = 0;
  for (const auto& l : s.lanes()) queued += l.count();
  o << formatIsoUtc(s.now_ms()) << " " << s.unit_id() << " " << codec::statusName(s.status()) << " ("
    << deliveryName(s.status_delivery()) << ") link " << linkName(s.link()) << " outbox " << queued;
  if (s.emergency_active()) o << " EMERGENCY(" << deliveryName(s.emergency_delivery()) << ")";
  o << " gps " << (s.gps().has_fix() ? "fix" : "no-fix");
  return o.str();
}

namespace {

void writeIdentity(std::ostringstream& o, const v1::AgentState& s) {
  o << "device      " << s.device_id() << "  unit " << s.unit_id() << "  agency " << s.agency() << "  agent "
    << s.agent_version() << "\n";
  o << "status      " << codec::statusName(s.status()) << " (" << deliveryName(s.status_delivery()) << ")\n";
  o << "buttons     ";
  if (s.statuses().empty()) o << "the common set (no agency configuration)";
  for (int i = 0; i < s.statuses_size(); ++i) o << (i ? "  " : "") << "F" << i + 1 << " " << codec::statusName(s.statuses(i));
  o << "\n";
  o << "call types  ";
  if (s.cfs_types().empty()) o << "the default set (no agency types)";
  for (int i = 0; i < s.cfs_types_size(); ++i)
    o << (i ? ", " : "") << s.cfs_types(i).code() << " " << s.cfs_types(i).label() << " (APCO " << s.cfs_types(i).apco_code() << ")";
  o << "\n";
  if (s.cert_not_after_ms() > 0)
    o << "certificate " << s.cert_subject() << " until " << formatIsoUtc(s.cert_not_after_ms())
      << (s.cert_not_after_ms() <= s.now_ms() ? " (EXPIRED)" : "") << "\n";
  else if (!s.cert_detail().empty())
    o << "certificate unreadable: " << s.cert_detail() << "\n";
  o << "emergency   " << (s.emergency_active() ? "ACTIVE (" + deliveryName(s.emergency_delivery()) + ")" : "off");
  if (!s.emergency_acknowledged_by().empty()) o << ", acknowledged by " << s.emergency_acknowledged_by();
  o << "\n";
}

void writeLinkAndOutbox(std::ostringstream& o, const v1::AgentState& s) {
  const int64_t now = s.now_ms();
  o << "link        " << linkName(s.link()) << " since " << formatIsoUtc(s.link_since_ms()) << " (" << s.broker()
    << ")\n";
  if (!s.link_detail().empty()) o << "            " << s.link_detail() << "\n";
  o << "outbox      ";
  for (const auto& l : s.lanes())
    o << laneName(l.lane()) << " " << l.count() << (l.count() ? " (oldest " + age(now, l.oldest_at_ms()) + ")" : "")
      << "  ";
  o << "\n            " << s.store_bytes() << " of " << s.store_cap_bytes() << " bytes; dropped AVL " << s.dropped_avl()
    << "; rejected " << s.rejected_events() << "\n";
  o << "last ack    " << (s.last_commit_ack_ms() ? formatIsoUtc(s.last_commit_ack_ms()) : "-") << "\n";
}

void writeGps(std::ostringstream& o, const v1::AgentState& s) {
  o << "gps         " << (s.gps().has_fix() ? "fix" : "no fix");
  if (s.gps().no_fix_since_ms() > 0) o << " since " << formatIsoUtc(s.gps().no_fix_since_ms());
  if (s.gps().has_last_fix())
    o << "; last " << s.gps().last_fix().lat() << "," << s.gps().last_fix().lon() << " ("
      << s.gps().last_fix().satellites() << " sats)";
  o << " [" << s.gps().source() << (s.gps().detail().empty() ? "" : ": " + s.gps().detail()) << "]\n";
}

void writeCalls(std::ostringstream& o, const v1::AgentState& s) {
  for (const auto& a : s.assignments())
    o << "assignment  " << a.assignment().incident_number() << " " << a.assignment().cfs_type() << " P"
      << a.assignment().priority() << " " << a.assignment().address() << (a.acknowledged() ? " (acknowledged)" : "")
      << (a.cleared() ? " (over: " + a.cleared_reason() + ")" : "") << "\n";
  if (s.supervisor_board_at_ms() > 0) {
    const auto& b = s.supervisor_board();
    o << "board       " << b.scope() << ": " << b.units_size() << " units (" << age(s.now_ms(), s.supervisor_board_at_ms())
      << " ago)\n";
    for (const auto& u : b.units())
      o << "            " << u.zone() << " " << u.unit_id() << " " << codec::statusName(u.status())
        << (u.incident_number().empty() ? "" : " on " + u.incident_number()) << (u.emergency() ? " EMERGENCY" : "")
        << (u.online() ? "" : " (offline)") << "\n";
  }
  if (s.has_call()) {
    o << "call        " << s.call().incident_number() << " ";
    if (s.call().from_fix())
      o << geo::distanceText(s.call().distance_m()) << " " << geo::compassPoint(s.call().bearing_deg()) << " ("
        << std::lround(s.call().bearing_deg()) << "\u00b0)\n";
    else
      o << "at " << s.call().lat() << "," << s.call().lon() << " (no fix: distance unknown)\n";
  }
}

void writeNearby(std::ostringstream& o, const v1::AgentState& s) {
  if (s.nearby_at_ms() <= 0) return;
  o << "nearby      " << s.nearby_size() << " within " << geo::distanceText(s.nearby_radius_m()) << " or on this call"
    << " (" << age(s.now_ms(), s.nearby_at_ms()) << " ago)";
  int shown = 0;
  for (const auto& u : s.nearby()) {
    if (shown++ == 8) {
      o << "; ...";
      break;
    }
    o << (shown == 1 ? ": " : "; ") << u.unit_id() << " " << codec::statusName(u.status()) << " "
      << geo::distanceText(u.distance_m()) << (u.bearing_deg() >= 0 ? std::string(" ") + geo::compassPoint(u.bearing_deg()) : "")
      << (u.on_same_call() ? " (this call)" : "") << (u.emergency() ? " EMERGENCY" : "");
  }
  o << "\n";
}

void writeRecords(std::ostringstream& o, const v1::AgentState& s) {
  for (const auto& q : s.records())
    o << "records     " << q.subject() << ": " << recordsStateName(q.state())
      << (q.answer().hit() ? " OFFICER SAFETY HIT" : "")
      << (q.state() == v1::RECORDS_QUERY_STATE_ANSWERED
              ? ", " + std::to_string(q.answer().entries_size()) + " records"
              : (q.detail().empty() ? "" : " (" + q.detail() + ")"))
      << "\n";
  for (const auto& a : s.safety_alerts()) {
    o << "SAFETY      " << a.alert().unit_id() << " on " << a.alert().incident_number() << " ran " << a.alert().subject()
      << ":";
    for (const auto& f : a.alert().flags()) o << " " << codec::recordsFlagName(f.kind()) << " (" << f.detail() << ")";
    o << "\n";
  }
}

void writeConversation(std::ostringstream& o, const v1::AgentState& s) {
  if (s.assignments_total() > uint32_t(s.assignments_size()))
    o << "assignments " << s.assignments_size() << " newest shown of " << s.assignments_total() << "\n";
  if (s.messages_size() > 0) {
    const auto& m = s.messages(0);
    o << "message     " << (m.outgoing() ? "to dispatch" : "from " + m.from()) << ": "
      << (m.text().size() > 60 ? m.text().substr(0, 60) + "..." : m.text()) << "\n";
  }
  o << "messages    " << s.messages_total() << " held, " << s.messages_size() << " newest in this state"
    << (s.messages_total() > uint32_t(s.messages_size()) ? " (older: mdcctl messages --before CURSOR)" : "")
    << (s.inbox_pruned() > 0 ? "; " + std::to_string(s.inbox_pruned()) + " pruned by the keep policy" : "") << "\n";
}

void writeDiagnostics(std::ostringstream& o, const v1::AgentState& s) {
  int n = 0;
  for (const auto& a : s.recent_actions()) {
    if (n++ == 10) break;
    o << "action      #" << a.seq() << " " << a.kind() << " " << a.summary() << " " << deliveryName(a.delivery())
      << (a.detail().empty() ? "" : " " + a.detail()) << "\n";
  }
  for (const auto& e : s.last_errors()) o << "error       " << e << "\n";
  o << "counters   ";
  for (const auto& [k, v] : s.counters()) o << " " << k << "=" << v;
  o << "\n";
}

}  // namespace

std::string stateText(const v1::AgentState& s) {
  std::ostringstream o;
  writeIdentity(o, s);
  writeLinkAndOutbox(o, s);
  writeGps(o, s);
  writeCalls(o, s);
  writeNearby(o, s);
  writeRecords(o, s);
  writeConversation(o, s);
  writeDiagnostics(o, s);
  return o.str();
}

std::string recordsStateName(v1::RecordsQueryState s) {
  switch (s) {
    case v1::RECORDS_QUERY_STATE_WAITING: return "WAITING";
    case v1::RECORDS_QUERY_STATE_SLOW: return "SLOW";
    case v1::RECORDS_QUERY_STATE_ANSWERED: return "ANSWERED";
    case v1::RECORDS_QUERY_STATE_FAILED: return "FAILED";
    default: return "-";
  }
}

std::string recordsText(const v1::RecordsQueryView& q) {
  std::ostringstream o;
  o << q.subject() << " ("
    << (q.incident_number().empty() ? q.reason_code() : "CFS " + q.incident_number()) << "): "
    << recordsStateName(q.state());
  if (!q.detail().empty()) o << ": " << q.detail();
  o << "\n";
  if (q.state() != v1::RECORDS_QUERY_STATE_ANSWERED) return o.str();
  const auto& a = q.answer();
  if (a.hit()) o << "*** OFFICER SAFETY ***\n";
  if (a.entries_size() == 0) o << "no record\n";
  for (const auto& e : a.entries()) {
    o << e.kind() << ": " << e.summary() << "\n";
    for (const auto& f : e.flags()) o << "  " << codec::recordsFlagName(f.kind()) << ": " << f.detail() << "\n";
  }
  return o.str();
}

std::string cfsTypesState(const v1::Configuration& c) {
  std::string out;
  for (const auto& t : c.cfs_types()) out += t.code() + "\t" + t.label() + "\t" + t.apco_code() + "\n";
  return out;
}

void addCfsTypes(const std::string& kept, v1::AgentState& s) {
  size_t at = 0;
  while (at < kept.size()) {
    size_t end = kept.find('\n', at);
    if (end == std::string::npos) end = kept.size();
    std::string line = kept.substr(at, end - at);
    at = end + 1;
    size_t t1 = line.find('\t'), t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string::npos) continue;
    auto* o = s.add_cfs_types();
    o->set_code(line.substr(0, t1));
    o->set_label(line.substr(t1 + 1, t2 - t1 - 1));
    o->set_apco_code(line.substr(t2 + 1));
  }
}

}  // namespace mdc::agent
