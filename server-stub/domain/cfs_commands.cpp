// The dispatcher's commands on calls for service: make one, send a unit to
// it, message a unit, acknowledge its emergency, close the call.
#include <QJsonObject>

#include "server-stub/domain/command_scope.h"
#include "server-stub/store/event_row.h"

namespace cad {

Status checkCfsFields(CommandScope& c, const std::string& type, std::optional<int32_t> given,
                      const std::string& address, const std::string& notes, const control::Location* location) {
  const int priority = given.value_or(3);
  if (!c.store.resolveCfsType(c.agency(), type))
    return refuse("type \"" + type + "\": not an APCO ANS 2.103 code nor a type of agency " + c.agency() +
                  " (cadctl types list)");
  if (priority < 1 || priority > 9) return refuse("priority " + std::to_string(priority) + ": out of range 1-9");
  if (address.size() > 200) return refuse("address: at most 200 characters");
  if (notes.size() > 4000) return refuse("notes: at most 4000 characters");
  c.payload = {{"type", QString::fromStdString(type)},
               {"priority", priority},
               {"address", QString::fromStdString(address)},
               {"notes", QString::fromStdString(notes)}};
  if (location) {
    const double lat = location->lat(), lon = location->lon();
    if (!(lat >= -90 && lat <= 90)) return refuse("lat " + std::to_string(lat) + ": out of range -90..90");
    if (!(lon >= -180 && lon <= 180)) return refuse("lon " + std::to_string(lon) + ": out of range -180..180");
    c.payload["lat"] = lat;
    c.payload["lon"] = lon;
  }
  return {};
}

Status checkCreateCfs(CommandScope& c) {
  const control::CreateCfs& cmd = c.req.create_cfs();
  return checkCfsFields(c, cmd.type(), cmd.has_priority() ? std::optional<int32_t>(cmd.priority()) : std::nullopt,
                        cmd.address(), cmd.notes(), cmd.has_location() ? &cmd.location() : nullptr);
}

void reportCreatedCfs(CommandScope& c, CommandOutcome& out) {
  auto st = c.cached("SELECT incident_number FROM cfs WHERE origin_event_id=?");
  st->bind(1, c.eventId);
  st->step();
  out.summary = "created " + st->text(0);
}

Status checkAssign(CommandScope& c) {
  const control::Assign& cmd = c.req.assign();
  if (Status s = c.requireCfs(cmd.incident(), true); !s) return s.error();
  if (Status s = c.requireUnit(cmd.unit()); !s) return s.error();
  auto st = c.cached("SELECT current_cfs FROM units WHERE unit_id=?");
  st->bind(1, cmd.unit());
  st->step();
  std::string current = st->text(0);
  if (!current.empty() && current != cmd.incident() && !cmd.force()) {
    auto cs = c.cached("SELECT state, source FROM cfs WHERE incident_number=?");
    cs->bind(1, current);
    if (cs->step() && cs->text(0) == "open")
      return refuse("conflict: unit " + cmd.unit() + " is on " + (cs->text(1) == "self" ? "self-initiated " : "") +
                    "CFS " + current + " (committed before this assignment); use --force to reassign");
  }
  c.payload = {{"incident", QString::fromStdString(cmd.incident())},
               {"unit", QString::fromStdString(cmd.unit())},
               {"force", cmd.force()}};
  c.unit = cmd.unit();
  c.summary = "assigned " + cmd.unit() + " to " + cmd.incident();
  return {};
}

Status checkMessage(CommandScope& c) {
  const control::Message& cmd = c.req.message();
  if (Status s = c.requireUnit(cmd.unit()); !s) return s.error();
  if (cmd.text().empty() || cmd.text().size() > 2000) return refuse("text: must be 1-2000 characters");
  c.payload = {{"unit", QString::fromStdString(cmd.unit())}, {"text", QString::fromStdString(cmd.text())}};
  c.unit = cmd.unit();
  c.summary = "message to " + cmd.unit();
  return {};
}

Status checkAckEmergency(CommandScope& c) {
  const std::string& unit = c.req.ack_emergency().unit();
  if (Status s = c.requireUnit(unit); !s) return s.error();
  auto st = c.cached("SELECT emergency FROM units WHERE unit_id=?");
  st->bind(1, unit);
  st->step();
  if (st->i64(0) == 0) return refuse("unit \"" + unit + "\": has no unacknowledged emergency");
  c.payload = {{"unit", QString::fromStdString(unit)}};
  c.unit = unit;
  c.summary = "emergency of " + unit + " acknowledged";
  return {};
}

Status checkCloseCfs(CommandScope& c) {
  const std::string& incident = c.req.close_cfs().incident();
  if (Status s = c.requireCfs(incident, true); !s) return s.error();
  c.payload = {{"incident", QString::fromStdString(incident)}};
  c.summary = "closed " + incident;
  return {};
}

}  // namespace cad
