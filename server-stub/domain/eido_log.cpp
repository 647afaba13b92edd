// Incidents from other centres. `cadctl import --eido` sends the document to
// the stub, which checks it and appends one event (dispatch.eido_import)
// carrying the incident as the document told it (eido.h's Incident, not the
// document itself): a CFS of the importing agency under a number of its own,
// which keeps the owner's identifiers, timeline and units, so it can be
// exported again as the owner sent it.
#include <QJsonArray>

#include "server-stub/domain/command_scope.h"
#include "server-stub/domain/eido.h"
#include "server-stub/store/event_row.h"
#include "server-stub/store/event_store.h"

namespace cad {

Status checkEidoImport(CommandScope& c) {
  const std::string& text = c.req.eido_import().document_json();
  auto in = eido::fromEido(QJsonDocument::fromJson(QByteArray::fromStdString(text)).object());
  if (!in) return refuse("eido: " + in.error().message);
  {
    auto st = c.cached("SELECT incident_number FROM cfs WHERE eido_id=?");
    st->bind(1, in->eidoId);
    if (st->step()) return refuse("eido: incident \"" + in->eidoId + "\" was imported already, as " + st->text(0));
  }
  {
    auto st = c.cached("SELECT agency FROM cfs WHERE incident_number=? AND eido_id=''");
    st->bind(1, in->ownerNumber);
    if (st->step() && eido::incidentId(st->text(0), in->ownerNumber) == in->eidoId)
      return refuse("eido: incident \"" + in->eidoId + "\" is this CAD's own " + in->ownerNumber);
  }
  c.payload = eido::toPayload(*in);
  c.summary = in->typeCode + " (APCO " + in->apcoCode + ") of " + in->ownerAgency + ", their " + in->ownerNumber + ", " +
            (in->closed ? "closed" : "open") + ", " + std::to_string(in->units.size()) + " units, " +
            std::to_string(in->timeline.size()) + " timeline lines";
  return {};
}

void reportEidoImport(CommandScope& c, CommandOutcome& out) {
  auto st = c.cached("SELECT incident_number FROM cfs WHERE origin_event_id=?");
  st->bind(1, c.eventId);
  st->step();
  out.summary = "imported as " + st->text(0) + ": " + out.summary;
}

void EventStore::projectEidoImport(const Row& row) {
  const eido::Incident in = eido::fromPayload(parseJson(row.payload));
  const std::string number = nextIncidentNumber(row.receivedAtMs);
  std::string services;
  for (const auto& sv : in.ownerServices) services += (services.empty() ? "" : ",") + sv;
  auto st = cached(
      "INSERT INTO cfs(incident_number, agency, cfs_type, priority, address, lat, lon, notes, state, source, "
      "origin_event_id, created_at_ms, closed_at_ms, closed_by, apco_code, eido_id, owner_agency, owner_number, "
      "owner_services, type_label, imported_at_ms, imported_by) "
      "VALUES(?,?,?,?,?,?,?,?,?,'eido',?,?,?,?,?,?,?,?,?,?,?,?)");
  st->bind(1, number).bind(2, row.agency).bind(3, in.typeCode).bind(4, in.priority).bind(5, in.address);
  if (in.location) st->bind(6, in.location->first).bind(7, in.location->second);
  else st->bindNull(6).bindNull(7);
  st->bind(8, in.notes).bind(9, in.closed ? "closed" : "open").bind(10, row.eventId).bind(11, in.createdAtMs)
      .bind(12, in.closed ? in.updatedAtMs : int64_t(0)).bind(13, in.closed ? in.ownerAgency : std::string())
      .bind(14, in.apcoCode).bind(15, in.eidoId).bind(16, in.ownerAgency).bind(17, in.ownerNumber).bind(18, services)
      .bind(19, in.typeLabel).bind(20, row.receivedAtMs).bind(21, actorName(row.actor));
  st->run();
  for (const auto& l : in.timeline) timeline(number, row, l.atMs, l.text);
  int ord = 0;
  for (const auto& r : in.units) {
    std::string secondary, internal;
    for (const auto& v : r.secondary) secondary += v + "\n";
    for (const auto& v : r.internal) internal += v + "\n";
    cached("INSERT INTO cfs_foreign_units(incident_number, name, resource_type, status, secondary, internal, at_ms, "
           "ord) VALUES(?,?,?,?,?,?,?,?)")
        ->bind(1, number).bind(2, r.name).bind(3, r.resourceType).bind(4, r.status).bind(5, secondary)
        .bind(6, internal).bind(7, r.atMs).bind(8, ++ord).run();
  }
}

}  // namespace cad
