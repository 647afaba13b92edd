#pragma once
// The default vocabulary of call types: APCO ANS 2.103.1-2012, Public Safety
// Communications Common Incident Types for Data Exchange, as NIEM publishes it
// (apco_event, IncidentCategoryCodeSimpleType, 197 codes); and the common
// names unit statuses take when an incident leaves this CAD (EIDO exports).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mdc::apco {

/** Who usually answers such an incident; the standard does not say, this
 *  project's reading of each name does. Picks the responder service an EIDO
 *  names for the agency. */
enum class Discipline { kLaw, kFire, kEms, kOther };

struct IncidentType {
  std::string_view code;  ///< e.g. "FSTRU" (case as published)
  std::string_view name;  ///< the short name as published, e.g. "FIRE STRUCTURE"
  Discipline discipline;
};

/** All 197 codes, in the published order. */
const std::vector<IncidentType>& incidentTypes();
/** The type with this exact code, or nullptr. */
const IncidentType* findIncidentType(std::string_view code);
/** "police", "fire", "ems" (IANA urn:emergency:service:responder names). */
std::string_view responderService(Discipline d);

/** The common name of a unit status (mdc.v1.UnitStatus value) in an EIDO's
 *  primaryUnitStatusRegistryText, e.g. 3 -> "OnScene"; "" for an unknown value. */
std::string_view commonUnitStatus(int status);
/** The inverse of commonUnitStatus, for names this project writes. */
std::optional<int> unitStatusFromCommon(std::string_view name);

}  // namespace mdc::apco
