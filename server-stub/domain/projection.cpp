// The read models of the event store (unit board, CFS, units on calls,
// timelines, messages, downlinks), derived from the log alone by the ordering
// rule of ordering.h: a field shows the latest event by stamp, whatever the
// order of arrival. Runs inside the append's transaction.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>
#include <set>
#include <string_view>
#include <unordered_map>

#include "server-stub/domain/command_scope.h"
#include "server-stub/store/event_row.h"
#include "server-stub/store/event_store.h"
#include "shared/wire/codec.h"

namespace cad {

namespace v1 = mdc::v1;
namespace codec = mdc::codec;
using ordering::MembershipFact;

std::string EventStore::stampOf(const Row& row) {
  if (row.deviceId.empty()) return ordering::stamp(row.receivedAtMs, ordering::kDispatchSource, uint64_t(row.pos));
  return ordering::stamp(row.recordedAtMs, row.deviceId, row.deviceSeq.value_or(0));
}

// ------------------------------------------------------------------ helpers

void EventStore::timeline(const std::string& incident, const Row& row, int64_t atMs, const std::string& text,
                          bool late) {
  // The id from the engine: SQLite's next rowid, PostgreSQL's identity.
  // Both order an incident's lines as they were written (digest() compares
  // the lines in that order, not the ids).
  cached("INSERT INTO cfs_timeline(incident_number, pos, at_ms, text, late) VALUES(?,?,?,?,?)")
      ->bind(1, incident).bind(2, row.pos).bind(3, atMs).bind(4, text).bind(5, late ? 1 : 0).run();
}

bool EventStore::noteStamp(const std::string& unit, const std::string& stamp, int64_t seenAtMs) {
  // One statement on the hot path (every AVL report): stamps are unique per
  // event, so the unit's latest is this one's exactly when it is not late.
  auto st = cached(
      "UPDATE units SET latest_stamp=CASE WHEN latest_stamp > ?1 THEN latest_stamp ELSE ?1 END, "
      "last_seen_ms=CASE WHEN last_seen_ms > ?2 THEN last_seen_ms ELSE ?2 END WHERE unit_id=?3 "
      "RETURNING latest_stamp");
  st->bind(1, stamp).bind(2, seenAtMs).bind(3, unit);
  return st->step() && st->text(0) != stamp;
}

v1::Downlink EventStore::assignmentFor(const std::string& incident, int64_t atMs) {
  v1::Downlink dl;
  auto* a = dl.mutable_assignment();
  auto st = cached("SELECT cfs_type, priority, address, lat, lon, notes, created_at_ms FROM cfs WHERE incident_number=?");
  st->bind(1, incident);
  if (st->step()) {
    a->set_incident_number(incident);
    a->set_cfs_type(st->text(0));
    a->set_priority(uint32_t(st->i64(1)));
    a->set_address(st->text(2));
    if (!st->isNull(3)) {
      auto* p = a->mutable_location();
      p->set_lat(st->f64(3));
      p->set_lon(st->f64(4));
      p->set_mode(v1::FIX_MODE_2D);
      p->set_alt_m(NAN);
      p->set_speed_mps(NAN);
      p->set_track_deg(NAN);
      p->set_eph_m(NAN);
    }
    a->set_notes(st->text(5));
  }
  auto us = cached("SELECT unit_id FROM cfs_units WHERE incident_number=? AND cleared_at_ms=0 ORDER BY unit_id");
  us->bind(1, incident);
  while (us->step() && a->units_size() < 64) a->add_units(us->text(0));
  // The latest 256 lines, in the order they happened.
  auto tl = cached(
      "SELECT at_ms, text, late FROM cfs_timeline WHERE incident_number=? ORDER BY at_ms DESC, id DESC LIMIT 256");
  tl->bind(1, incident);
  std::vector<std::pair<int64_t, std::string>> entries;
  while (tl->step())
    entries.emplace_back(tl->i64(0), (tl->i64(2) ? "(late) " : "") + tl->text(1).substr(0, 490));
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    auto* t = a->add_timeline();
    t->set_at_ms(it->first);
    t->set_text(it->second);
  }
  a->set_assigned_at_ms(atMs);
  return dl;
}

void EventStore::closeIfNoUnitLeft(const std::string& incident, const Row& row) {
  // Closed when the last unit left it, whichever of their clears arrived last.
  auto st = cached("SELECT COUNT(*), MIN(cleared_at_ms), MAX(cleared_at_ms) FROM cfs_units WHERE incident_number=?");
  st->bind(1, incident);
  st->step();
  if (st->i64(0) == 0 || st->i64(1) == 0) return;
  const int64_t atMs = st->i64(2);
  cached("UPDATE cfs SET state='closed', closed_at_ms=?, closed_by='units' WHERE incident_number=? AND state='open'")
      ->bind(1, atMs).bind(2, incident).run();
  if (db().changes() > 0) timeline(incident, row, atMs, "closed: all units cleared");
}

// ------------------------------------------------------------------ membership

ordering::Membership EventStore::loadMembership(const std::string& unit) {
  ordering::Membership m;
  auto st = cached(
      "SELECT incident_number, attach_stamp, cleared_at_ms, clear_stamp, clear_reason FROM cfs_units WHERE unit_id=?");
  st->bind(1, unit);
  while (st->step()) {
    ordering::Spell s;
    s.attachStamp = st->text(1);
    s.on = st->i64(2) == 0;
    s.clearStamp = st->text(3);
    s.clearReason = st->text(4);
    m.spells.emplace(st->text(0), std::move(s));
  }
  return m;
}

namespace {

const char* factKindName(MembershipFact::Kind k) {
  switch (k) {
    case MembershipFact::Kind::Assign: return "assign";
    case MembershipFact::Kind::SelfInitiate: return "self";
    case MembershipFact::Kind::Clear: return "clear";
  }
  return "clear";
}

MembershipFact::Kind factKindOf(const std::string& name) {
  return name == "assign" ? MembershipFact::Kind::Assign
         : name == "self" ? MembershipFact::Kind::SelfInitiate
                          : MembershipFact::Kind::Clear;
}

}  // namespace

struct EventStore::MembershipChange {
  const std::string& unit;
  const MembershipFact& fact;
  const Row& row;
  std::vector<Outgoing>& out;
  ordering::Membership stored;         ///< the spells as stored before the fact
  ordering::Membership target;         ///< the spells all its facts say
  std::optional<std::string> verdict;  ///< a SelfInitiate fact's verdict
  std::vector<std::string> left;       ///< calls the unit left: closed when no unit is left on them
  std::vector<std::string> retimed;    ///< calls it left earlier than the store knew
};

std::string EventStore::recordMembershipFact(const std::string& unit, const MembershipFact& fact) {
  std::string latest;
  {
    auto st = cached("SELECT COALESCE(MAX(stamp), '') FROM membership_facts WHERE unit_id=?");
    st->bind(1, unit);
    st->step();
    latest = st->text(0);
  }
  cached("INSERT INTO membership_facts(unit_id, stamp, kind, incident, reason, actor) VALUES(?,?,?,?,?,?)")
      ->bind(1, unit).bind(2, fact.stamp).bind(3, factKindName(fact.kind)).bind(4, fact.incident)
      .bind(5, fact.reason).bind(6, fact.actor).run();
  return latest;
}

ordering::Membership EventStore::foldAllFacts(const std::string& unit, const MembershipFact& fact,
                                              std::optional<std::string>& verdict) {
  std::vector<MembershipFact> facts;
  auto st = cached("SELECT stamp, kind, incident, reason, actor FROM membership_facts WHERE unit_id=? ORDER BY stamp");
  st->bind(1, unit);
  while (st->step()) {
    MembershipFact f;
    f.stamp = st->text(0);
    f.kind = factKindOf(st->text(1));
    f.incident = st->text(2);
    f.reason = st->text(3);
    f.actor = st->text(4);
    facts.push_back(std::move(f));
  }
  std::map<std::string, ordering::SelfInitiateVerdict> verdicts;
  ordering::Membership target = ordering::foldMembership(std::move(facts), &verdicts);
  if (fact.kind == MembershipFact::Kind::SelfInitiate) verdict = verdicts[fact.stamp];
  return target;
}

std::optional<std::string> EventStore::addMembershipFact(const std::string& unit, const MembershipFact& fact,
                                                         const Row& row, std::vector<Outgoing>& out) {
  const std::string latest = recordMembershipFact(unit, fact);
  MembershipChange change{unit, fact, row, out, loadMembership(unit), {}, {}, {}, {}};
  if (fact.stamp > latest) {
    // In order: one more step of the fold.
    change.target = change.stored;
    change.verdict = ordering::apply(change.target, fact);
  } else {
    // Late: the unit's calls are what all its facts say, in stamp order.
    change.target = foldAllFacts(unit, fact, change.verdict);
  }
  bringSpellsToTarget(change);
  dropSpellsNeverHeld(change);
  cached("UPDATE units SET current_cfs=? WHERE unit_id=?")->bind(1, change.target.current()).bind(2, unit).run();
  for (const auto& incident : change.left) closeIfNoUnitLeft(incident, row);
  for (const auto& incident : change.retimed)
    cached("UPDATE cfs SET closed_at_ms=(SELECT MAX(cleared_at_ms) FROM cfs_units WHERE incident_number=?1) "
           "WHERE incident_number=?1 AND state='closed' AND closed_by='units'")
        ->bind(1, incident).run();
  return change.verdict;
}

void EventStore::tellUnitOff(const MembershipChange& c, const std::string& incident, const std::string& reason) {
  v1::Downlink dl;
  dl.mutable_assignment_cleared()->set_incident_number(incident);
  dl.mutable_assignment_cleared()->set_reason(reason.substr(0, 200));
  queueDownlink(c.unit, dl, c.row.pos, c.row.receivedAtMs, c.out);
}

void EventStore::storeSpell(const std::string& incident, const std::string& unit, const ordering::Spell& spell) {
  cached("INSERT INTO cfs_units(incident_number, unit_id, assigned_at_ms, cleared_at_ms, attach_stamp, clear_stamp, "
         "clear_reason) VALUES(?,?,?,?,?,?,?) ON CONFLICT(incident_number, unit_id) DO UPDATE SET "
         "assigned_at_ms=excluded.assigned_at_ms, cleared_at_ms=excluded.cleared_at_ms, "
         "attach_stamp=excluded.attach_stamp, clear_stamp=excluded.clear_stamp, clear_reason=excluded.clear_reason")
      ->bind(1, incident).bind(2, unit).bind(3, ordering::stampTime(spell.attachStamp))
      .bind(4, spell.on ? 0 : std::max<int64_t>(1, ordering::stampTime(spell.clearStamp)))
      .bind(5, spell.attachStamp).bind(6, spell.clearStamp).bind(7, spell.clearReason).run();
}

void EventStore::bringSpellsToTarget(MembershipChange& c) {
  const MembershipFact& fact = c.fact;
  const bool joinsByThisFact =
      fact.kind == MembershipFact::Kind::Assign || (fact.kind == MembershipFact::Kind::SelfInitiate && !c.verdict);
  for (auto& [incident, spell] : c.target.spells) {
    auto was = c.stored.spells.find(incident);
    const ordering::Spell* before = was == c.stored.spells.end() ? nullptr : &was->second;
    if (before && *before == spell) continue;
    const int64_t attachedAt = ordering::stampTime(spell.attachStamp);
    if (spell.on && (!before || !before->on)) {
      auto st = cached("SELECT state FROM cfs WHERE incident_number=?");
      st->bind(1, incident);
      if (!(st->step() && st->text(0) == "open")) {
        // A late event made the unit free for a call that is closed by now:
        // it stays off it.
        spell.on = false;
        spell.clearStamp = fact.stamp;
        spell.clearReason = "closed before " + c.unit + " could join it";
      }
    }
    storeSpell(incident, c.unit, spell);
    if (spell.on) {
      cached("UPDATE cfs SET dispatched_at_ms=? WHERE incident_number=? AND (dispatched_at_ms=0 OR dispatched_at_ms>?)")
          ->bind(1, attachedAt).bind(2, incident).bind(3, attachedAt).run();
      if ((!before || !before->on) && !(joinsByThisFact && incident == fact.incident)) {
        // Joined because a late event changed what came first.
        timeline(incident, c.row, attachedAt, c.unit + " on this call: an earlier event arrived late", true);
        v1::Downlink dl = assignmentFor(incident, c.row.receivedAtMs);
        queueDownlink(c.unit, dl, c.row.pos, c.row.receivedAtMs, c.out);
      }
    } else if (before && before->on) {
      tellUnitOff(c, incident, spell.clearReason);
      c.left.push_back(incident);
    } else if (!before) {
      c.left.push_back(incident);  // joined and left, both told by late events
    } else if (!spell.on && before->clearStamp != spell.clearStamp) {
      c.retimed.push_back(incident);  // left earlier than the store knew
    }
  }
}

void EventStore::dropSpellsNeverHeld(MembershipChange& c) {
  for (const auto& [incident, spell] : c.stored.spells) {
    if (c.target.spells.count(incident)) continue;
    // A late event showed the unit was never on this call (it started it
    // while already on another): it leaves the call's units.
    cached("DELETE FROM cfs_units WHERE incident_number=? AND unit_id=?")->bind(1, incident).bind(2, c.unit).run();
    timeline(incident, c.row, ordering::stampTime(c.fact.stamp),
             c.unit + " not on this call: an earlier event arrived late", true);
    if (spell.on) tellUnitOff(c, incident, "already on another call when it started this one");
    // Closed only because its units had left it, and none ever was on it:
    // it is open again, as a call no unit has taken.
    auto st = cached("SELECT COUNT(*) FROM cfs_units WHERE incident_number=?");
    st->bind(1, incident);
    st->step();
    if (st->i64(0) != 0) continue;
    cached("UPDATE cfs SET state='open', closed_at_ms=0 WHERE incident_number=? AND state='closed' AND "
           "closed_by='units'")
        ->bind(1, incident).run();
    if (db().changes() > 0) {
      cached("UPDATE cfs SET closed_by='' WHERE incident_number=?")->bind(1, incident).run();
      timeline(incident, c.row, ordering::stampTime(c.fact.stamp), "open again: no unit was ever on it", true);
    }
  }
}

// ------------------------------------------------------------------ projection

void EventStore::project(const Row& row, std::vector<Outgoing>& out) {
  // One projection per kind of event the backend writes (event_kinds.cpp);
  // a device's events (any other kind) are projected by the body of their
  // envelope.
  static const auto byKind = [] {
    std::unordered_map<std::string_view, const EventKind*> m;
    for (const EventKind& k : eventKinds())
      if (k.project) m.emplace(k.kind, &k);
    return m;
  }();
  if (auto it = byKind.find(row.kind); it != byKind.end()) return it->second->project(*this, row, out);
  // A kind of the backend's this version does not write changes nothing but
  // the order of its unit's events.
  if (row.kind.rfind("dispatch.", 0) == 0) return projectDispatch(row, out, nullptr);
  if (row.kind.rfind("registry.", 0) == 0 || row.kind.rfind("records.", 0) == 0) return;
  projectDevice(row, out);
}

// ------------------------------------------------------------------ the registry

void EventStore::serveFrom(const Row& row, const std::string& device, const std::string& unit) {
  cached("INSERT INTO device_units(device_id, pos, at_ms, unit_id) VALUES(?,?,?,?)")
      ->bind(1, device).bind(2, row.pos).bind(3, row.receivedAtMs).bind(4, unit).run();
  served_.erase(device);  // read again at its next event
}

void EventStore::projectDeviceAdd(const Row& row, std::vector<Outgoing>& out) {
  const QJsonObject j = parseJson(row.payload);
  const std::string unit = j.value("unit").toString().toStdString();
  const std::string device = j.value("device").toString().toStdString();
  serveFrom(row, device, unit);
  cached("INSERT INTO devices(device_id, unit_id, agency) VALUES(?,?,?)")
      ->bind(1, device).bind(2, unit).bind(3, row.agency).run();
  cached("INSERT INTO units(unit_id, agency, device_id) VALUES(?,?,?) "
         "ON CONFLICT(unit_id) DO UPDATE SET device_id=excluded.device_id")
      ->bind(1, unit).bind(2, row.agency).bind(3, device).run();
  if (auto dl = agencyConfiguration(row.agency)) queueDownlink(unit, *dl, row.pos, row.receivedAtMs, out);
}

void EventStore::projectDeviceMove(const Row& row, std::vector<Outgoing>& out) {
  const QJsonObject j = parseJson(row.payload);
  const std::string unit = j.value("unit").toString().toStdString();
  const std::string device = j.value("device").toString().toStdString();
  serveFrom(row, device, unit);
  cached("UPDATE units SET device_id='' WHERE device_id=?")->bind(1, device).run();
  cached("UPDATE devices SET unit_id=? WHERE device_id=?")->bind(1, unit).bind(2, device).run();
  cached("INSERT INTO units(unit_id, agency, device_id) VALUES(?,?,?) "
         "ON CONFLICT(unit_id) DO UPDATE SET device_id=excluded.device_id")
      ->bind(1, unit).bind(2, row.agency).bind(3, device).run();
  // The device learns its new unit from this first downlink addressed to
  // it (the agency's configuration, or an empty one: its own defaults).
  v1::Downlink dl = agencyConfiguration(row.agency).value_or(v1::Downlink{});
  if (!dl.has_configuration()) dl.mutable_configuration();
  queueDownlink(unit, dl, row.pos, row.receivedAtMs, out);
}

void EventStore::projectDeviceRemove(const Row& row) {
  const QJsonObject j = parseJson(row.payload);
  // Decommissioned: the unit keeps its history and has no device; the
  // device's events are refused from now on (unknown_device).
  const std::string device = j.value("device").toString().toStdString();
  served_.erase(device);
  cached("DELETE FROM devices WHERE device_id=?")->bind(1, device).run();
  cached("UPDATE units SET device_id='', online=0 WHERE device_id=?")->bind(1, device).run();
  cached("DELETE FROM downlink_cursors WHERE device_id=?")->bind(1, device).run();
}

void EventStore::projectAgencyConfig(const Row& row, std::vector<Outgoing>& out) {
  const QJsonObject j = parseJson(row.payload);
  std::string names;
  for (const auto& n : j.value("statuses").toArray()) names += (names.empty() ? "" : ",") + n.toString().toStdString();
  cached("INSERT INTO agency_config(agency, statuses, avl_moving_s, avl_stationary_s, pos, updated_at_ms, updated_by) "
         "VALUES(?,?,?,?,?,?,?) ON CONFLICT(agency) DO UPDATE SET statuses=excluded.statuses, "
         "avl_moving_s=excluded.avl_moving_s, avl_stationary_s=excluded.avl_stationary_s, pos=excluded.pos, "
         "updated_at_ms=excluded.updated_at_ms, updated_by=excluded.updated_by")
      ->bind(1, row.agency).bind(2, names).bind(3, j.value("avl_moving_s").toInt())
      .bind(4, j.value("avl_stationary_s").toInt()).bind(5, row.pos).bind(6, row.receivedAtMs)
      .bind(7, actorName(row.actor)).run();
  sendAgencyConfiguration(row, out);
}

// ------------------------------------------------------------------ dispatch

struct EventStore::DispatchEvent {
  const Row& row;
  QJsonObject j;  ///< the payload
  std::string unit, incident, actor, stamp;
  int64_t at = 0;  ///< when the backend received it
  std::vector<Outgoing>& out;
};

void EventStore::projectDispatch(const Row& row, std::vector<Outgoing>& out,
                                 void (EventStore::*kind)(const DispatchEvent&)) {
  QJsonObject j = parseJson(row.payload);
  DispatchEvent e{row, j, j.value("unit").toString().toStdString(), j.value("incident").toString().toStdString(),
                  actorName(row.actor), stampOf(row), row.receivedAtMs, out};
  if (!e.unit.empty()) noteStamp(e.unit, e.stamp, 0);
  if (kind) (this->*kind)(e);
}

void EventStore::projectCreateCfs(const DispatchEvent& e) {
  std::string number = nextIncidentNumber(e.at);
  auto st = cached(
      "INSERT INTO cfs(incident_number, agency, cfs_type, priority, address, lat, lon, notes, state, source, "
      "origin_event_id, created_at_ms) VALUES(?,?,?,?,?,?,?,?,'open','dispatch',?,?)");
  st->bind(1, number).bind(2, e.row.agency).bind(3, e.j.value("type").toString().toStdString())
      .bind(4, e.j.value("priority").toInt()).bind(5, e.j.value("address").toString().toStdString());
  if (e.j.contains("lat")) st->bind(6, e.j.value("lat").toDouble()).bind(7, e.j.value("lon").toDouble());
  else st->bindNull(6).bindNull(7);
  st->bind(8, e.j.value("notes").toString().toStdString()).bind(9, e.row.eventId).bind(10, e.at).run();
  timeline(number, e.row, e.at, "created by " + e.actor + ": " + e.j.value("type").toString().toStdString());
  classifyCfs(number, e.row.agency, e.j.value("type").toString().toStdString(), e.row, e.at);
}

void EventStore::projectAssign(const DispatchEvent& e) {
  std::string previous;
  {
    auto st = cached("SELECT current_cfs FROM units WHERE unit_id=?");
    st->bind(1, e.unit);
    if (st->step()) previous = st->text(0);
  }
  if (!previous.empty() && previous != e.incident)
    timeline(previous, e.row, e.at, e.unit + " reassigned to " + e.incident + " by " + e.actor);
  MembershipFact f{e.stamp, MembershipFact::Kind::Assign, e.incident, "", e.actor};
  addMembershipFact(e.unit, f, e.row, e.out);
  timeline(e.incident, e.row, e.at, e.unit + " assigned by " + e.actor);
  v1::Downlink dl = assignmentFor(e.incident, e.at);
  queueDownlink(e.unit, dl, e.row.pos, e.at, e.out);
}

void EventStore::projectDispatchMessage(const DispatchEvent& e) {
  std::string text = e.j.value("text").toString().toStdString();
  cached("INSERT INTO messages(pos, agency, unit_id, direction, author, text, at_ms) VALUES(?,?,?,'out',?,?,?)")
      ->bind(1, e.row.pos).bind(2, e.row.agency).bind(3, e.unit).bind(4, e.actor).bind(5, text).bind(6, e.at).run();
  v1::Downlink dl;
  dl.mutable_message()->set_from(e.actor);
  dl.mutable_message()->set_text(text);
  queueDownlink(e.unit, dl, e.row.pos, e.at, e.out);
}

void EventStore::projectAckEmergency(const DispatchEvent& e) {
  // Acknowledges the activation the board shows; a later one flags again.
  cached("UPDATE units SET emergency=0, emergency_ack_by=?, emergency_acked_stamp=emergency_raised_stamp "
         "WHERE unit_id=?")
      ->bind(1, e.actor).bind(2, e.unit).run();
  std::string cur;
  {
    auto st = cached("SELECT current_cfs FROM units WHERE unit_id=?");
    st->bind(1, e.unit);
    if (st->step()) cur = st->text(0);
  }
  if (!cur.empty()) timeline(cur, e.row, e.at, "emergency of " + e.unit + " acknowledged by " + e.actor);
  v1::Downlink dl;
  dl.mutable_emergency_ack()->set_by(e.actor);
  dl.mutable_emergency_ack()->set_at_ms(e.at);
  queueDownlink(e.unit, dl, e.row.pos, e.at, e.out);
}

void EventStore::projectCloseCfs(const DispatchEvent& e) {
  std::vector<std::string> units;
  {
    auto us = cached("SELECT unit_id FROM cfs_units WHERE incident_number=? AND cleared_at_ms=0 ORDER BY unit_id");
    us->bind(1, e.incident);
    while (us->step()) units.push_back(us->text(0));
  }
  timeline(e.incident, e.row, e.at, "closed by " + e.actor);
  // Closed first: the units leaving it do not close it a second time.
  cached("UPDATE cfs SET state='closed', closed_at_ms=?, closed_by=? WHERE incident_number=? AND state='open'")
      ->bind(1, e.at).bind(2, e.actor).bind(3, e.incident).run();
  for (const auto& u : units) {
    noteStamp(u, e.stamp, 0);
    MembershipFact f{e.stamp, MembershipFact::Kind::Clear, e.incident, "closed by " + e.actor, e.actor};
    addMembershipFact(u, f, e.row, e.out);
  }
}

}  // namespace cad
