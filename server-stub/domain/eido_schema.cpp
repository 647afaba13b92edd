// The EIDO 1.0 schema's rules, written from the definitions of NENA's
// published schema (Schema/openapi.yaml in NENA911/EIDO-JSON, version 1.0.0):
// each component's fields, their types, which are required, the
// enumerations; RFC 3339 times; unique $ids.
#include <QJsonArray>

#include <algorithm>
#include <cmath>
#include <map>

#include "server-stub/domain/eido.h"

namespace cad::eido {

namespace {

std::string s(const QJsonValue& v) { return v.toString().toStdString(); }

enum class Kind { kString, kInteger, kBoolean, kStrings, kRef, kRefs, kDateTime };

struct Field {
  const char* name;
  Kind kind;
  bool required = false;
  std::vector<const char*> values = {};  // an enumeration, if any
};

const std::vector<Field>& prologue() {
  static const std::vector<Field> f = {{"$id", Kind::kString, true},
                                       {"lastUpdateTimeStamp", Kind::kDateTime, true},
                                       {"updatedByAgencyReference", Kind::kRef, true},
                                       {"updatedByAgentReference", Kind::kRef},
                                       {"AlternateValueReferences", Kind::kRefs},
                                       {"externalInformationSourceReferences", Kind::kRefs},
                                       {"mediaReferences", Kind::kRefs}};
  return f;
}

/** The components this project reads or writes, with their fields (EIDO 1.0). */
const std::map<std::string, std::vector<Field>> kComponents = {
    {"agencyComponent",
     {{"agencyRoleDescriptionRegistryText", Kind::kStrings, true},
      {"agencyType", Kind::kStrings, true},
      {"incidentOwningAgencyIndicator", Kind::kBoolean},
      {"agencyJcard", Kind::kString},
      {"actingOnBehalfOfAgencyReference", Kind::kRefs},
      {"notesReference", Kind::kRefs}}},
    {"agentComponent",
     {{"agentRoleRegistryText", Kind::kStrings, true},
      {"agencyReference", Kind::kRef, true},
      {"agentJcard", Kind::kString},
      {"agentWorkstationPositionIdentification", Kind::kString},
      {"notesReference", Kind::kRefs}}},
    {"incidentComponent",
     {{"incidentTypeCommonRegistryText", Kind::kString, true},
      {"incidentTypeInternalCode", Kind::kString},
      {"incidentTypeInternalText", Kind::kString},
      {"incidentStatusCommonRegistryText", Kind::kStrings},
      {"incidentStatusInternalText", Kind::kStrings},
      {"internalIncidentId", Kind::kString},
      {"agentReference", Kind::kRefs},
      {"locationReference", Kind::kRefs},
      {"personReference", Kind::kRefs},
      {"vehicleReference", Kind::kRefs},
      {"organizationReference", Kind::kRefs},
      {"documentIdentification", Kind::kStrings},
      {"reportNumberType", Kind::kString},
      {"incidentPriorityInternalText", Kind::kString},
      {"incidentCommonPriorityNumber", Kind::kInteger},
      {"beatOrDispatchGroupText", Kind::kString},
      {"notesReference", Kind::kRefs}}},
    {"locationComponent",
     {{"locationTypeDescriptionRegistryText", Kind::kString, true},
      {"locationByValue", Kind::kString},
      {"locationDescriptionText", Kind::kString},
      {"locationByReferenceUrl", Kind::kString},
      {"locationDereferencedFromReference", Kind::kRef},
      {"localIdentifier", Kind::kStrings},
      {"crossStreetByValue", Kind::kStrings},
      {"intersectingStreetByValue", Kind::kStrings},
      {"cellTowerSectorId", Kind::kString},
      {"additionalDataReference", Kind::kRefs},
      {"notesReference", Kind::kRefs}}},
    {"notesComponent",
     {{"notesActionComments", Kind::kString, true},
      {"agentReference", Kind::kRef},
      {"cautionReference", Kind::kRefs}}},
    {"emergencyResourceComponent",
     {{"agentReference", Kind::kRefs, true},
      {"emergencyResourceTypeCommonRegistryText", Kind::kString, true},
      {"primaryUnitStatusRegistryText", Kind::kString, true},
      {"resourceAttributeRegistryText", Kind::kStrings, true},
      {"secondaryUnitStatusRegistryText", Kind::kStrings, true},
      {"eta", Kind::kDateTime},
      {"emergencyResourceTypeInternalText", Kind::kString},
      {"resourceAttributeInternalText", Kind::kStrings},
      {"emergencyResourceName", Kind::kString},
      {"notesReference", Kind::kRefs},
      {"unitStatusInternal", Kind::kStrings},
      {"unitLocationReference", Kind::kRef},
      {"unitDestinationReference", Kind::kRef},
      {"personReference", Kind::kRefs},
      {"vehicleReference", Kind::kRefs},
      {"itemReference", Kind::kRefs},
      {"activeOnIncidentId", Kind::kString},
      {"stackedOnIncidentId", Kind::kStrings}}},
    {"dispatchComponent",
     {{"agencyReference", Kind::kRef},
      {"agentReference", Kind::kRef},
      {"emergencyResourceReference", Kind::kRefs},
      {"notesReference", Kind::kRefs}}},
    {"callComponent",
     {{"callStateRegistryText", Kind::kString, true},
      {"standardPrimaryCallType", Kind::kString, true},
      {"direction", Kind::kString, true, {"incoming", "outgoing", "internal"}},
      {"callStartTimestamp", Kind::kDateTime, true},
      {"priorityIdentifier", Kind::kString, false, {"highest", "high", "normal", "low", "lowest"}},
      {"answerDate", Kind::kDateTime},
      {"notesReference", Kind::kRefs},
      {"locationReference", Kind::kRefs}}},
};

const std::map<std::string, std::vector<Field>>& components() { return kComponents; }

/** Root properties that are arrays of components (incidentComponent is one object). */

const char* kindName(Kind k) {
  switch (k) {
    case Kind::kString:
      return "a string";
    case Kind::kInteger:
      return "an integer";
    case Kind::kBoolean:
      return "true or false";
    case Kind::kStrings:
      return "an array of strings";
    case Kind::kRef:
      return "a reference {\"$ref\": \"<$id>\"}";
    case Kind::kRefs:
      return "an array of references";
    case Kind::kDateTime:
      return "an RFC 3339 date-time such as 2026-12-01T08:00:00.000Z";
  }
  return "?";
}

bool isRef(const QJsonValue& v) {
  return v.isObject() && v.toObject().value("$ref").isString() && !v.toObject().value("$ref").toString().isEmpty();
}

bool fits(const QJsonValue& v, Kind k) {
  switch (k) {
    case Kind::kString:
      return v.isString();
    case Kind::kInteger:
      return v.isDouble() && std::floor(v.toDouble()) == v.toDouble() && std::fabs(v.toDouble()) < 2147483648.0;
    case Kind::kBoolean:
      return v.isBool();
    case Kind::kStrings:
      if (!v.isArray()) return false;
      for (const auto& e : v.toArray())
        if (!e.isString()) return false;
      return true;
    case Kind::kRef:
      return isRef(v);
    case Kind::kRefs:
      if (!v.isArray()) return false;
      for (const auto& e : v.toArray())
        if (!isRef(e)) return false;
      return true;
    case Kind::kDateTime:
      return parseDateTime(v).has_value();
  }
  return false;
}

void checkFields(const QJsonObject& o, const std::string& path, const std::vector<Field>& fields,
                 std::vector<std::string>& errors) {
  for (const auto& f : fields) {
    const std::string at = path + "." + f.name;
    if (!o.contains(f.name)) {
      if (f.required) errors.push_back(at + ": required");
      continue;
    }
    const QJsonValue v = o.value(f.name);
    if (!fits(v, f.kind)) {
      errors.push_back(at + ": must be " + kindName(f.kind));
      continue;
    }
    if (!f.values.empty() &&
        std::none_of(f.values.begin(), f.values.end(), [&](const char* e) { return v.toString() == e; })) {
      std::string list;
      for (const char* e : f.values) list += (list.empty() ? "" : ", ") + std::string(e);
      errors.push_back(at + ": \"" + s(v) + "\" is not one of " + list);
    }
  }
}

void checkComponent(const QJsonValue& v, const std::string& path, const std::vector<Field>& fields,
                    std::vector<std::string>& errors) {
  if (!v.isObject()) {
    errors.push_back(path + ": must be an object");
    return;
  }
  checkFields(v.toObject(), path, prologue(), errors);
  checkFields(v.toObject(), path, fields, errors);
}

}  // namespace

const std::vector<const char*>& componentArrays() {
  static const std::vector<const char*> a = {"agencyComponent",  "agentComponent",    "locationComponent",
                                             "notesComponent",   "emergencyResourceComponent",
                                             "dispatchComponent", "callComponent"};
  return a;
}

std::vector<std::string> validate(const QJsonValue& document) {
  std::vector<std::string> errors;
  if (!document.isObject()) return {"$: must be a JSON object (an EIDO)"};
  const QJsonObject doc = document.toObject();
  checkFields(doc, "$", prologue(), errors);
  checkFields(doc, "$",
              {{"eidoVersion", Kind::kString, true, {"1.0"}},
               {"issuingElementIdentification", Kind::kString, true},
               {"eidoExtensionId", Kind::kStrings}},
              errors);
  if (!doc.contains("agencyComponent")) errors.push_back("$.agencyComponent: required");
  for (const char* name : componentArrays()) {
    if (!doc.contains(name)) continue;
    const std::string path = std::string("$.") + name;
    if (!doc.value(name).isArray()) {
      errors.push_back(path + ": must be an array");
      continue;
    }
    const QJsonArray a = doc.value(name).toArray();
    for (qsizetype i = 0; i < a.size(); ++i)
      checkComponent(a[i], path + "[" + std::to_string(i) + "]", components().at(name), errors);
  }
  if (doc.contains("agencyComponent") && doc.value("agencyComponent").toArray().isEmpty())
    errors.push_back("$.agencyComponent: must list at least one agency");
  if (doc.contains("incidentComponent"))
    checkComponent(doc.value("incidentComponent"), "$.incidentComponent", components().at("incidentComponent"), errors);
  // Identifiers are globally unique: no two components share one.
  std::map<std::string, std::string> seen;
  auto note = [&](const QJsonValue& v, const std::string& path) {
    const std::string id = s(v.toObject().value("$id"));
    if (id.empty()) return;
    auto [it, fresh] = seen.emplace(id, path);
    if (!fresh) errors.push_back(path + ".$id: \"" + id + "\" is also the $id of " + it->second);
  };
  for (const char* name : componentArrays()) {
    const QJsonArray a = doc.value(name).toArray();
    for (qsizetype i = 0; i < a.size(); ++i) note(a[i], std::string("$.") + name + "[" + std::to_string(i) + "]");
  }
  if (doc.value("incidentComponent").isObject()) note(doc.value("incidentComponent"), "$.incidentComponent");
  return errors;
}

}  // namespace cad::eido
