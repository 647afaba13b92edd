#pragma once
// NENA EIDO (Emergency Incident Data Object, NENA-STA-021, JSON, eidoVersion
// "1.0"): the standard way to hand an incident to another centre. An
// incident is written from the read models and read back into them; the
// checks are written from the published schema's definitions (required
// fields, types, enumerations) plus what an import needs (every reference
// this project follows resolves inside the document).
//
// How an incident maps (see the README's "NENA EIDO" section):
//   incidentComponent      type (APCO code common, agency code internal),
//                          status Open|Closed, number, priority, notes
//   locationComponent      PIDF-LO: gml:Point (WGS84) and civicAddress LOC
//   notesComponent         the incident's notes, and one note per timeline line
//                          (referenced from dispatchComponent), at its time
//   emergencyResourceComponent  each unit, its common status, our status name
//   agencyComponent        the owning agency and its responder service
#include <QJsonObject>

#include <optional>
#include <string>
#include <vector>

#include "server-stub/store/event_store.h"

namespace cad::eido {

/** A unit on an incident as an EIDO carries it. */
struct Resource {
  std::string name;           ///< emergencyResourceName, e.g. "E12"
  std::string resourceType;   ///< emergencyResourceTypeCommonRegistryText
  std::string status;         ///< primaryUnitStatusRegistryText, e.g. "OnScene"
  std::vector<std::string> secondary;  ///< secondaryUnitStatusRegistryText
  std::vector<std::string> internal;   ///< unitStatusInternal, e.g. "ON_SCENE"
  int64_t atMs = 0;           ///< its component's lastUpdateTimeStamp
  bool operator==(const Resource&) const = default;
};

struct Line {
  int64_t atMs = 0;
  std::string text;
  bool operator==(const Line&) const = default;
};

/** An incident as it crosses between centres: what an EIDO says of it. */
struct Incident {
  std::string eidoId;        ///< the incident component's $id (globally unique)
  std::string ownerAgency;   ///< the agency that owns it
  std::string ownerNumber;   ///< its number there (internalIncidentId)
  std::vector<std::string> ownerServices;  ///< responder services (IANA names): police, fire, ems
  std::string typeCode;      ///< the owner's code (incidentTypeInternalCode)
  std::string typeLabel;     ///< incidentTypeInternalText
  std::string apcoCode;      ///< incidentTypeCommonRegistryText
  int priority = 3;          ///< 1 (highest) .. 9
  bool closed = false;
  std::string address;
  std::optional<std::pair<double, double>> location;  ///< WGS84 lat, lon
  std::string notes;
  int64_t createdAtMs = 0;
  int64_t updatedAtMs = 0;   ///< the document's lastUpdateTimeStamp
  std::vector<Line> timeline;
  std::vector<Resource> units;
  bool operator==(const Incident&) const = default;
};

/** An RFC 3339 date-time (the schema's format date-time) as Unix ms; nullopt when it is not one. */
std::optional<int64_t> parseDateTime(const QJsonValue& v);
/** The root's arrays of components this project checks and reads (incidentComponent is one object). */
const std::vector<const char*>& componentArrays();

/** The $id this project gives its own incident `number` of `agency`. */
std::string incidentId(const std::string& agency, const std::string& number);

/** The incident `number` as the store holds it, for an export by `agency`
 *  (its own incidents and the ones it imported). */
Result<Incident> readIncident(EventStore& s, const std::string& agency, const std::string& number);
/** The agency's incidents with activity at or after sinceMs, oldest first. */
std::vector<std::string> incidentsSince(EventStore& s, const std::string& agency, int64_t sinceMs);

/** The EIDO document of an incident; issuer: issuingElementIdentification. */
QJsonObject toEido(const Incident& incident, const std::string& issuer);

/** Every way the document breaks the EIDO 1.0 schema, each as
 *  "$.path.to.field: what is wrong"; empty when it conforms. */
std::vector<std::string> validate(const QJsonValue& document);

/** The incident an EIDO describes. The document must validate; errors name
 *  the path of the field that cannot be taken (a reference that does not
 *  resolve, a location that is not PIDF-LO, a value out of range). */
Result<Incident> fromEido(const QJsonObject& document);

/** The incident as a dispatch.eido_import event's payload, and back. */
QJsonObject toPayload(const Incident& incident);
Incident fromPayload(const QJsonObject& payload);

/** The PIDF-LO of a location (a gml:Point and a civicAddress LOC). */
std::string pidfLo(const std::string& entity, const std::string& address,
                   const std::optional<std::pair<double, double>>& location);
/** The point and the LOC text of a PIDF-LO; an error says what is missing. */
Result<std::pair<std::string, std::optional<std::pair<double, double>>>> readPidfLo(const std::string& xml);

}  // namespace cad::eido
