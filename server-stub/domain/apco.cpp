#include "server-stub/domain/apco.h"

#include <algorithm>
#include <array>
#include <utility>

namespace mdc::apco {

namespace {
// Codes and short names as published (APCO ANS 2.103.1-2012 via NIEM); the
// discipline is this project's classification.
constexpr IncidentType kTypes[] = {
    {"911H", "911 HANG UP", Discipline::kOther},
    {"911OPN", "911 OPEN LINE", Discipline::kOther},
    {"ABDOM", "ABDOMINAL", Discipline::kEms},
    {"ABDUCTF", "ABDUCTION FAMILY", Discipline::kLaw},
    {"ABDUCTNF", "ABDUCTION NON-FAMILY", Discipline::kLaw},
    {"ABUSE", "ABUSE", Discipline::kLaw},
    {"ACCIND", "INDUSTRIAL ACCIDENT", Discipline::kFire},
    {"ADMIN", "ADMINISTRATIVE", Discipline::kLaw},
    {"AIR", "AIRCRAFT", Discipline::kFire},
    {"ALIEN", "IMMIGRATION", Discipline::kLaw},
    {"ALLERGIC", "ALLERGIC", Discipline::kEms},
    {"ALRBA", "BURGLAR ALARM- AUDIBLE", Discipline::kLaw},
    {"ALRBOX", "BOX ALARM", Discipline::kOther},
    {"ALRBS", "BURGLAR ALARM - SILENT", Discipline::kLaw},
    {"ALRCO", "FIRE ALARM - CO", Discipline::kFire},
    {"ALRCO2", "FIRE ALARM - CO2", Discipline::kFire},
    {"ALRDEFIB", "DEFIBRILLATOR ALARM", Discipline::kEms},
    {"ALRF", "FIRE ALARM", Discipline::kFire},
    {"ALRGAS", "FIRE ALARM - GAS", Discipline::kFire},
    {"ALRHEAT", "FIRE ALARM - HEAT", Discipline::kFire},
    {"ALRKPAD", "FIRE ALARM - KEYPAD", Discipline::kFire},
    {"ALRMED", "MEDICAL ALARM", Discipline::kEms},
    {"ALRNGAS", "FIRE ALARM - NAT GAS", Discipline::kFire},
    {"ALRPANA", "PANIC ALARM AUDIBLE", Discipline::kLaw},
    {"ALRPANS", "PANIC ALARM SILENT", Discipline::kLaw},
    {"ALRPROPN", "FIRE ALARM - PROPANE", Discipline::kFire},
    {"ALRPULL", "FIRE ALARM - PULL STATION", Discipline::kFire},
    {"ALRROBA", "ROBBERY ALARM AUDIBLE", Discipline::kLaw},
    {"ALRROBS", "ROBBERY ALARM SILENT", Discipline::kLaw},
    {"ALRU", "ALARM UNK", Discipline::kOther},
    {"ALRVEH", "VEHICLE ALARM", Discipline::kLaw},
    {"ALRWTR", "FIRE ALARM - WATER FLOW", Discipline::kFire},
    {"ALS", "ALS", Discipline::kEms},
    {"ANIMAL", "ANIMAL", Discipline::kLaw},
    {"ASSAULT", "ASSAULT", Discipline::kLaw},
    {"ASSIST", "ASSIST", Discipline::kOther},
    {"ATL", "ATL", Discipline::kLaw},
    {"BACK", "BACK PAIN", Discipline::kEms},
    {"BARICADE", "BARRICADED", Discipline::kLaw},
    {"BIO", "BIOLOGICAL", Discipline::kFire},
    {"BITE", "ANIMAL BITE", Discipline::kEms},
    {"BLDCLPSE", "BUILDING COLLAPSE", Discipline::kFire},
    {"BLEEDING", "BLEEDING", Discipline::kEms},
    {"BLS", "BLS", Discipline::kEms},
    {"BOMB", "BOMB", Discipline::kLaw},
    {"BRGCLPSE", "BRIDGE COLLAPSE", Discipline::kFire},
    {"BURGLARY", "BURGLARY", Discipline::kLaw},
    {"BURN", "BURNS", Discipline::kEms},
    {"CARDIAC", "CARDIAC", Discipline::kEms},
    {"CARJACK", "CARJACK", Discipline::kLaw},
    {"CHEMICAL", "CHEMICAL", Discipline::kFire},
    {"CHESPAIN", "CHEST PAIN", Discipline::kEms},
    {"CHOKE", "CHOKING", Discipline::kEms},
    {"CITASST", "CITIZEN ASSIST", Discipline::kOther},
    {"CIVDIS", "CIVIL DISOBEDIENCE", Discipline::kLaw},
    {"CIVIL", "CIVIL", Discipline::kLaw},
    {"CNTRFT", "COUNTERFEIT MONEY", Discipline::kLaw},
    {"CRIMPS", "IMPERSONATION", Discipline::kLaw},
    {"CRIMTRAF", "CRIMINAL TRAFFIC", Discipline::kLaw},
    {"CURFEW", "CURFEW VIOLATION", Discipline::kLaw},
    {"DEATH", "DEATH", Discipline::kLaw},
    {"DEATHNTF", "DEATH NOTIFICATION", Discipline::kLaw},
    {"DIABETIC", "DIABETIC", Discipline::kEms},
    {"DISORD", "DISORDERLY", Discipline::kLaw},
    {"DISVEH", "DISABLED VEHICLE", Discipline::kLaw},
    {"DROWN", "DROWNING", Discipline::kEms},
    {"DRUGPAR", "DRUG PARAPHERNALIA", Discipline::kLaw},
    {"DRUGS", "DRUGS", Discipline::kLaw},
    {"DUI", "DUI", Discipline::kLaw},
    {"DVA", "DOMESTIC VIOLENT", Discipline::kLaw},
    {"DVNA", "DOMESTIC NON-VIOLENT", Discipline::kLaw},
    {"EDP", "EMOTION DIST PERSON", Discipline::kEms},
    {"ELEC", "ELECTROCUTION", Discipline::kEms},
    {"ELECHZD", "ELECTRICAL HAZARD", Discipline::kFire},
    {"ELUDING", "ELUDING", Discipline::kLaw},
    {"ENTRAP", "ENTRAPMENT", Discipline::kFire},
    {"ESCAPE", "ESCAPE", Discipline::kLaw},
    {"EXPLOS", "EXPLOSION", Discipline::kFire},
    {"EXPOSURE", "EXPOSURE", Discipline::kEms},
    {"EXTORT", "EXTORT", Discipline::kLaw},
    {"EYE", "EYE", Discipline::kEms},
    {"FAIRC", "FIRE AIRCRAFT", Discipline::kFire},
    {"FALL", "FALL", Discipline::kEms},
    {"FAPT", "FIRE APARTMENT", Discipline::kFire},
    {"FARSON", "FIRE ARSON", Discipline::kFire},
    {"FBRUSH", "FIRE BRUSH", Discipline::kFire},
    {"FELEC", "FIRE ELECTRICAL", Discipline::kFire},
    {"FFUEL", "FIRE FUEL FACILITY", Discipline::kFire},
    {"FIGHT", "FIGHT", Discipline::kLaw},
    {"FIREWRKS", "FIREWORKS", Discipline::kLaw},
    {"FMARINE", "FIRE MARINE", Discipline::kFire},
    {"FORCENTR", "INACCESSIBLE INCIDENT", Discipline::kFire},
    {"FOTHER", "FIRE OTHER", Discipline::kFire},
    {"FRAUD", "FRAUD", Discipline::kLaw},
    {"FREPORT", "FIRE REPORT", Discipline::kFire},
    {"FSMOKE", "FIRE SMOKE", Discipline::kFire},
    {"FSTRU", "FIRE STRUCTURE", Discipline::kFire},
    {"FTRAILER", "FIRE TRAILER", Discipline::kFire},
    {"FTRAIN", "FIRE TRAIN", Discipline::kFire},
    {"FTRASH", "FIRE TRASH", Discipline::kFire},
    {"FTRUCK", "FIRE TRUCK", Discipline::kFire},
    {"FUNK", "FIRE UNKNOWN", Discipline::kFire},
    {"FVEH", "FIRE VEHICLE", Discipline::kFire},
    {"GASLEAK", "GAS LEAK", Discipline::kFire},
    {"HARR", "HARASSMENT", Discipline::kLaw},
    {"HAZMAT", "HAZMAT", Discipline::kFire},
    {"HEADACHE", "HEADACHE", Discipline::kEms},
    {"HEMRG", "HEMORRHAGE", Discipline::kEms},
    {"HOMICIDE", "HOMICIDE", Discipline::kLaw},
    {"HOSTAGE", "HOSTAGE", Discipline::kLaw},
    {"INDECENT", "INDECENT", Discipline::kLaw},
    {"INFO", "INFO", Discipline::kOther},
    {"INTERNET", "INTERNET CRIMES", Discipline::kLaw},
    {"INTOX", "INTOXICATED", Discipline::kLaw},
    {"INVEST", "INVESTIGATION", Discipline::kLaw},
    {"LARCENY", "LARCENY", Discipline::kLaw},
    {"LIQUOR", "LIQUOR VIOLATION", Discipline::kLaw},
    {"MAJORINC", "MAJOR INCIDENT", Discipline::kOther},
    {"MAYDAY", "MAYDAY", Discipline::kLaw},
    {"MCI", "MASS CASUALTY INCIDENT", Discipline::kEms},
    {"MISBOATR", "MISSING BOATER", Discipline::kLaw},
    {"MISCON", "MISCONDUCT", Discipline::kLaw},
    {"MVA", "MVA", Discipline::kLaw},
    {"MVAHR", "HIT & RUN", Discipline::kLaw},
    {"MVAINJY", "MVA INJY", Discipline::kEms},
    {"MVAUNK", "MVA UNK", Discipline::kEms},
    {"NEGLECT", "NEGLECT", Discipline::kLaw},
    {"NOISE", "NOISE", Discipline::kLaw},
    {"OD", "OD", Discipline::kEms},
    {"ODOR", "ODOR", Discipline::kFire},
    {"OPEN", "UNSECURE-BLDG", Discipline::kLaw},
    {"ORDERV", "ORDER VIOLATION", Discipline::kLaw},
    {"PANDEMIC", "PANDEMIC", Discipline::kEms},
    {"PARKING", "PARKING", Discipline::kLaw},
    {"PERFND", "FOUND PERSON", Discipline::kLaw},
    {"PERMISS", "MISSING PERSON", Discipline::kLaw},
    {"PERSUSP", "SUSPICIOUS PERSON", Discipline::kLaw},
    {"PERUNCON", "UNCONSCIOUS", Discipline::kEms},
    {"PERWANT", "WANTED PERSON", Discipline::kLaw},
    {"PHANDLE", "PANHANDLING", Discipline::kLaw},
    {"PREG", "PREGNANCY", Discipline::kEms},
    {"PROPFND", "FOUND PROPERTY", Discipline::kLaw},
    {"PROPLOST", "LOST PROPERTY", Discipline::kLaw},
    {"PROPSTLN", "STOLEN PROPERTY", Discipline::kLaw},
    {"PUBWKS", "PUBLIC WORKS / UTILITIES", Discipline::kOther},
    {"PURSUIT", "PURSUIT", Discipline::kLaw},
    {"RADIAT", "RADIATION INCIDENT", Discipline::kFire},
    {"RECKDRV", "RECKLESS DRIVER", Discipline::kLaw},
    {"REPO", "REPO", Discipline::kLaw},
    {"RESCUE", "RESCUE", Discipline::kFire},
    {"RESIST", "RESISTING ARREST", Discipline::kLaw},
    {"RESP", "RESPIRATORY", Discipline::kEms},
    {"RESPARR", "RESPIRATORY ARREST", Discipline::kEms},
    {"ROBBERY", "ROBBERY", Discipline::kLaw},
    {"RUNAWAY", "RUNAWAY", Discipline::kLaw},
    {"SAR", "SEARCH AND RESCUE", Discipline::kFire},
    {"SEIZURE", "SEIZURE", Discipline::kEms},
    {"SEXOFFNS", "SEX OFFENSE", Discipline::kLaw},
    {"SHOOT", "SHOOTING", Discipline::kLaw},
    {"SHOPLIFT", "SHOPLIFTING", Discipline::kLaw},
    {"SICK", "SICK", Discipline::kEms},
    {"SMOKING", "SMOKING", Discipline::kLaw},
    {"STABBING", "STABBING", Discipline::kLaw},
    {"STDBY", "AGENCY STANDBY", Discipline::kOther},
    {"STROKE", "STROKE", Discipline::kEms},
    {"SUBJSTP", "SUBJECT STOP", Discipline::kLaw},
    {"SUICIDE", "SUICIDE", Discipline::kEms},
    {"SUICTHRT", "SUICIDE THREATS", Discipline::kLaw},
    {"SUSP", "SUSPICIOUS", Discipline::kLaw},
    {"TERROR", "TERRORIST ACTIVITY", Discipline::kLaw},
    {"THAZ", "TRAFFIC HAZARD", Discipline::kLaw},
    {"THREATS", "THREATS", Discipline::kLaw},
    {"TOW", "TOW", Discipline::kLaw},
    {"TRAIN", "TRAIN", Discipline::kOther},
    {"TRAINDRL", "TRAIN DERAIL", Discipline::kFire},
    {"TRANSFER", "TRANSFER", Discipline::kEms},
    {"TRAUMA", "TRAUMA", Discipline::kEms},
    {"TRAUMAP", "PENETRATING TRAUMA", Discipline::kEms},
    {"TRESPASS", "TRESPASS", Discipline::kLaw},
    {"TROUBLE", "TROUBLE", Discipline::kOther},
    {"TRUANT", "TRUANT", Discipline::kLaw},
    {"TSTOP", "TRAFFIC STOP", Discipline::kLaw},
    {"VANDAL", "VANDALISM", Discipline::kLaw},
    {"VEHABND", "ABANDONED VEH", Discipline::kLaw},
    {"VEHASST", "MOTORIST ASSIST", Discipline::kLaw},
    {"VEHLOCK", "VEHICLE LOCK OUT", Discipline::kLaw},
    {"VEHREC", "RECOVERED VEHICLE", Discipline::kLaw},
    {"VEHSTLN", "STOLEN VEHICLE", Discipline::kLaw},
    {"VEHSUSP", "SUSPICIOUS VEHICLE", Discipline::kLaw},
    {"VICE", "VICE", Discipline::kLaw},
    {"WARRANT", "SEARCH WARRANT", Discipline::kLaw},
    {"WATER", "WATER RESCUE", Discipline::kFire},
    {"WEAPON", "WEAPON VIOLATION", Discipline::kLaw},
    {"WELFARE", "WELFARE CHECK", Discipline::kLaw},
    {"WILDLIFE", "WILDLIFE VIOLATIONS", Discipline::kLaw},
    {"WIRES", "WIRES DOWN", Discipline::kFire},
    {"XTRACATE", "EXTRICATION", Discipline::kFire},
};
}  // namespace

const std::vector<IncidentType>& incidentTypes() {
  static const std::vector<IncidentType> types(std::begin(kTypes), std::end(kTypes));
  return types;
}

const IncidentType* findIncidentType(std::string_view code) {
  for (const auto& t : incidentTypes())
    if (t.code == code) return &t;
  return nullptr;
}

std::string_view responderService(Discipline d) {
  switch (d) {
    case Discipline::kFire:
      return "fire";
    case Discipline::kEms:
      return "ems";
    case Discipline::kLaw:
    case Discipline::kOther:
      break;
  }
  return "police";
}

namespace {
// mdc.v1.UnitStatus value -> common name (index = value).
constexpr std::array<std::string_view, 11> kCommon = {
    "",               // UNSPECIFIED
    "Available",      // AVAILABLE
    "Enroute",        // EN_ROUTE
    "OnScene",        // ON_SCENE
    "Transporting",   // TRANSPORTING
    "AtDestination",  // AT_HOSPITAL
    "Unavailable",    // BUSY
    "OutOfService",   // OUT_OF_SERVICE
    "InQuarters",     // AT_STATION
    "Returning",      // RETURNING
    "Staged",         // STAGED
};
}  // namespace

std::string_view commonUnitStatus(int status) {
  if (status <= 0 || status >= int(kCommon.size())) return "";
  return kCommon[size_t(status)];
}

std::optional<int> unitStatusFromCommon(std::string_view name) {
  if (name.empty()) return std::nullopt;
  auto it = std::find(kCommon.begin(), kCommon.end(), name);
  if (it == kCommon.end()) return std::nullopt;
  return int(it - kCommon.begin());
}

}  // namespace mdc::apco
