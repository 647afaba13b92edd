#include "server-stub/domain/eido.h"

#include <QJsonArray>
#include <QRegularExpression>
#include <QXmlStreamReader>
#include <QXmlStreamWriter>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "server-stub/domain/apco.h"
#include "server-stub/store/read_models.h"
#include "shared/wire/clock.h"
#include "shared/wire/codec.h"

namespace cad::eido {

namespace {

constexpr const char* kAgencyPrefix = "urn:emergency:uid:agencyid:";
constexpr size_t kMaxTimeline = 5000, kMaxUnits = 64;

QString q(const std::string& s) { return QString::fromStdString(s); }
std::string s(const QJsonValue& v) { return v.toString().toStdString(); }
QJsonObject refTo(const std::string& id) { return QJsonObject{{"$ref", q(id)}}; }

std::string agencyId(const std::string& agency) {
  return agency.find(':') == std::string::npos ? kAgencyPrefix + agency : agency;
}

std::string priorityText(int p) { return std::to_string(p); }

std::string escapeHtml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

/** The text of an HTML5 fragment: tags dropped, the common entities decoded (one pass). */
std::string htmlText(const std::string& html) {
  static const std::vector<std::pair<std::string, char>> kEntities = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}, {"&apos;", '\''}, {"&nbsp;", ' '}};
  std::string out;
  for (size_t i = 0; i < html.size();) {
    if (html[i] == '<') {
      size_t end = html.find('>', i);
      if (end == std::string::npos) break;
      i = end + 1;
      continue;
    }
    if (html[i] == '&') {
      bool matched = false;
      for (const auto& [name, c] : kEntities) {
        if (html.compare(i, name.size(), name) == 0) {
          out += c;
          i += name.size();
          matched = true;
          break;
        }
      }
      if (matched) continue;
    }
    out += html[i++];
  }
  return out;
}

std::string isoTime(int64_t ms) { return mdc::formatIsoUtc(ms); }

// ----------------------------------------------------------------- reading

struct Components {
  std::map<std::string, QJsonObject> byId;
  std::map<std::string, std::string> pathOf;
};

Components index(const QJsonObject& doc) {
  Components c;
  for (const char* name : componentArrays()) {
    const QJsonArray a = doc.value(name).toArray();
    for (qsizetype i = 0; i < a.size(); ++i) {
      const std::string id = s(a[i].toObject().value("$id"));
      c.byId[id] = a[i].toObject();
      c.pathOf[id] = std::string("$.") + name + "[" + std::to_string(i) + "]";
    }
  }
  return c;
}

std::vector<std::string> strings(const QJsonValue& v) {
  std::vector<std::string> out;
  for (const auto& e : v.toArray()) out.push_back(s(e));
  return out;
}

QJsonArray jsonStrings(const std::vector<std::string>& v) {
  QJsonArray a;
  for (const auto& e : v) a.append(q(e));
  return a;
}

/** The incident status of a unit: "Cleared" once it left, else its own status's common name. */
Resource ownResource(const std::string& unit, int status, int64_t assigned, int64_t ack, int64_t enroute,
                     int64_t onscene, int64_t cleared, int64_t statusAt) {
  Resource r;
  r.name = unit;
  r.resourceType = "vehicle";
  if (cleared > 0) {
    r.status = "Cleared";
    r.internal = {"CLEARED"};
  } else if (status > 0 && statusAt >= assigned) {
    r.status = std::string(mdc::apco::commonUnitStatus(status));
    r.internal = {mdc::codec::statusName(mdc::v1::UnitStatus(status))};
  } else {
    r.status = "Dispatched";
    r.internal = {"ASSIGNED"};
  }
  if (ack > 0) r.secondary = {"Acknowledged"};
  r.atMs = std::max({assigned, ack, enroute, onscene, cleared, cleared == 0 && statusAt >= assigned ? statusAt : 0});
  return r;
}

}  // namespace

std::optional<int64_t> parseDateTime(const QJsonValue& v) {
  static const QRegularExpression kRfc3339(
      QStringLiteral("^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$"));
  if (!v.isString() || !kRfc3339.match(v.toString()).hasMatch()) return std::nullopt;
  QDateTime t = QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
  if (!t.isValid()) return std::nullopt;
  return t.toMSecsSinceEpoch();
}

std::string incidentId(const std::string& agency, const std::string& number) {
  return "urn:emergency:uid:incidentid:" + number + ":" + agency;
}

namespace {

/** What the EIDO says of the call's own kind: its owner, type and services. */
void describeCall(EventStore& st, const CallDetail& c, Incident& in) {
  const bool imported = !c.eidoId.empty();
  in.eidoId = imported ? c.eidoId : incidentId(c.agency, c.incident);
  in.ownerAgency = imported ? c.ownerAgency : c.agency;
  in.ownerNumber = imported ? c.ownerNumber : c.incident;
  in.typeCode = c.type;
  in.priority = int(c.priority);
  in.address = c.address;
  in.location = c.location;
  in.notes = c.notes;
  in.closed = c.state == "closed";
  in.createdAtMs = c.createdAtMs;
  in.apcoCode = c.apcoCode.empty() ? "INFO" : c.apcoCode;
  if (imported) {
    in.typeLabel = c.typeLabel;
    for (const auto& p : QString::fromStdString(c.ownerServices).split(',', Qt::SkipEmptyParts)) in.ownerServices.push_back(p.toStdString());
  } else {
    auto t = st.resolveCfsType(c.agency, in.typeCode);
    in.typeLabel = t ? t->label : in.typeCode;
    const auto* apco = mdc::apco::findIncidentType(in.apcoCode);
    in.ownerServices = {std::string(mdc::apco::responderService(apco ? apco->discipline : mdc::apco::Discipline::kOther))};
  }
}

}  // namespace

Result<Incident> readIncident(EventStore& st, const std::string& agency, const std::string& number) {
  ReadModels read(st);
  const auto c = read.call(number);
  if (!c || (!agency.empty() && c->agency != agency))
    return Error::make("cfs \"" + number + "\": no such CFS" + (agency.empty() ? "" : " in agency " + agency));
  Incident in;
  describeCall(st, *c, in);
  for (const auto& l : read.timeline(number)) in.timeline.push_back({l.atMs, l.text});
  for (const auto& f : read.foreignUnits(number)) {
    Resource r{f.name, f.resourceType, f.status, {}, {}, f.atMs};
    for (const auto& e : QString::fromStdString(f.secondary).split('\n', Qt::SkipEmptyParts)) r.secondary.push_back(e.toStdString());
    for (const auto& e : QString::fromStdString(f.internal).split('\n', Qt::SkipEmptyParts)) r.internal.push_back(e.toStdString());
    in.units.push_back(std::move(r));
  }
  for (const auto& u : read.callUnitsByAssignment(number))
    in.units.push_back(ownResource(u.unit, int(u.status), u.assignedAtMs, u.ackAtMs, u.enrouteAtMs, u.onsceneAtMs,
                                   u.clearedAtMs, u.statusAtMs));
  in.updatedAtMs = std::max(in.createdAtMs, c->closedAtMs);
  for (const auto& l : in.timeline) in.updatedAtMs = std::max(in.updatedAtMs, l.atMs);
  for (const auto& r : in.units) in.updatedAtMs = std::max(in.updatedAtMs, r.atMs);
  return in;
}

std::vector<std::string> incidentsSince(EventStore& st, const std::string& agency, int64_t sinceMs) {
  return ReadModels(st).callsTouchedSince(agency, sinceMs);
}

std::string pidfLo(const std::string& entity, const std::string& address,
                   const std::optional<std::pair<double, double>>& location) {
  QString xml;
  QXmlStreamWriter w(&xml);
  w.writeStartElement(QStringLiteral("presence"));
  w.writeDefaultNamespace(QStringLiteral("urn:ietf:params:xml:ns:pidf"));
  w.writeNamespace(QStringLiteral("urn:ietf:params:xml:ns:pidf:geopriv10"), QStringLiteral("gp"));
  w.writeNamespace(QStringLiteral("urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"), QStringLiteral("ca"));
  w.writeNamespace(QStringLiteral("http://www.opengis.net/gml"), QStringLiteral("gml"));
  w.writeAttribute(QStringLiteral("entity"), q(entity));
  w.writeStartElement(QStringLiteral("tuple"));
  w.writeAttribute(QStringLiteral("id"), QStringLiteral("location"));
  w.writeStartElement(QStringLiteral("status"));
  w.writeStartElement(QStringLiteral("urn:ietf:params:xml:ns:pidf:geopriv10"), QStringLiteral("geopriv"));
  w.writeStartElement(QStringLiteral("urn:ietf:params:xml:ns:pidf:geopriv10"), QStringLiteral("location-info"));
  if (location) {
    w.writeStartElement(QStringLiteral("http://www.opengis.net/gml"), QStringLiteral("Point"));
    w.writeAttribute(QStringLiteral("srsName"), QStringLiteral("urn:ogc:def:crs:EPSG::4326"));
    char pos[64];
    std::snprintf(pos, sizeof pos, "%.7f %.7f", location->first, location->second);
    w.writeTextElement(QStringLiteral("http://www.opengis.net/gml"), QStringLiteral("pos"), QString::fromLatin1(pos));
    w.writeEndElement();
  }
  if (!address.empty()) {
    w.writeStartElement(QStringLiteral("urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"), QStringLiteral("civicAddress"));
    w.writeTextElement(QStringLiteral("urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"), QStringLiteral("LOC"), q(address));
    w.writeEndElement();
  }
  w.writeEndElement();  // location-info
  w.writeStartElement(QStringLiteral("urn:ietf:params:xml:ns:pidf:geopriv10"), QStringLiteral("usage-rules"));
  w.writeEndElement();
  w.writeEndElement();  // geopriv
  w.writeEndElement();  // status
  w.writeEndElement();  // tuple
  w.writeEndElement();  // presence
  return xml.toStdString();
}

Result<std::pair<std::string, std::optional<std::pair<double, double>>>> readPidfLo(const std::string& xml) {
  QXmlStreamReader r(q(xml));
  std::string address;
  std::optional<std::pair<double, double>> point;
  bool presence = false;
  while (!r.atEnd()) {
    if (r.readNext() != QXmlStreamReader::StartElement) continue;
    const auto ns = r.namespaceUri();
    if (r.name() == QLatin1String("presence") && ns == QLatin1String("urn:ietf:params:xml:ns:pidf")) presence = true;
    if (r.name() == QLatin1String("pos") && ns == QLatin1String("http://www.opengis.net/gml") && !point) {
      const QStringList parts = r.readElementText().simplified().split(' ');
      bool okLat = false, okLon = false;
      const double lat = parts.size() >= 2 ? parts[0].toDouble(&okLat) : 0, lon = parts.size() >= 2 ? parts[1].toDouble(&okLon) : 0;
      if (!okLat || !okLon) return Error::make("gml:pos \"" + parts.join(' ').toStdString() + "\": expected \"LAT LON\"");
      if (lat < -90 || lat > 90 || lon < -180 || lon > 180)
        return Error::make("gml:pos \"" + parts.join(' ').toStdString() + "\": out of range (WGS84 latitude, longitude)");
      point = std::pair{lat, lon};
    } else if (r.name() == QLatin1String("LOC") && ns == QLatin1String("urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr")) {
      address = r.readElementText().toStdString();
    }
  }
  if (r.hasError()) return Error::make("not XML: " + r.errorString().toStdString() + " at line " + std::to_string(r.lineNumber()));
  if (!presence) return Error::make("not a PIDF-LO document (no pidf presence element)");
  return std::pair{address, point};
}

QJsonObject toEido(const Incident& in, const std::string& issuer) {
  const std::string agency = agencyId(in.ownerAgency);
  const std::string base = in.eidoId;
  auto prologue = [&](const std::string& id, int64_t atMs) {
    return QJsonObject{{"$id", q(id)},
                       {"lastUpdateTimeStamp", q(isoTime(atMs))},
                       {"updatedByAgencyReference", refTo(agency)}};
  };
  QJsonObject doc = prologue(base + "#eido", in.updatedAtMs);
  doc["eidoVersion"] = "1.0";
  doc["issuingElementIdentification"] = q(issuer);

  QJsonObject ag = prologue(agency, in.updatedAtMs);
  ag["agencyRoleDescriptionRegistryText"] = QJsonArray{"Primary"};
  ag["agencyType"] = jsonStrings(in.ownerServices);
  ag["incidentOwningAgencyIndicator"] = true;
  doc["agencyComponent"] = QJsonArray{ag};

  QJsonObject inc = prologue(base, in.updatedAtMs);
  inc["incidentTypeCommonRegistryText"] = q(in.apcoCode);
  inc["incidentTypeInternalCode"] = q(in.typeCode);
  inc["incidentTypeInternalText"] = q(in.typeLabel);
  inc["incidentStatusCommonRegistryText"] = QJsonArray{in.closed ? "Closed" : "Open"};
  inc["internalIncidentId"] = q(in.ownerNumber);
  inc["incidentPriorityInternalText"] = q(priorityText(in.priority));
  inc["incidentCommonPriorityNumber"] = 10 - in.priority;

  QJsonArray locations, notes, resources, timelineRefs, resourceRefs;
  if (!in.address.empty() || in.location) {
    QJsonObject loc = prologue(base + "#location", in.createdAtMs);
    loc["locationTypeDescriptionRegistryText"] = "Incident";
    loc["locationByValue"] = q(pidfLo(base, in.address, in.location));
    locations.append(loc);
    inc["locationReference"] = QJsonArray{refTo(base + "#location")};
  }
  if (!in.notes.empty()) {
    QJsonObject n = prologue(base + "#notes", in.createdAtMs);
    n["notesActionComments"] = q(escapeHtml(in.notes));
    notes.append(n);
    inc["notesReference"] = QJsonArray{refTo(base + "#notes")};
  }
  for (size_t i = 0; i < in.timeline.size(); ++i) {
    const std::string id = base + "#log-" + std::to_string(i + 1);
    QJsonObject n = prologue(id, in.timeline[i].atMs);
    n["notesActionComments"] = q(escapeHtml(in.timeline[i].text));
    notes.append(n);
    timelineRefs.append(refTo(id));
  }
  for (const auto& r : in.units) {
    const std::string id = base + "#unit-" + r.name;
    QJsonObject e = prologue(id, r.atMs);
    e["agentReference"] = QJsonArray{};
    e["emergencyResourceTypeCommonRegistryText"] = q(r.resourceType);
    e["emergencyResourceName"] = q(r.name);
    e["primaryUnitStatusRegistryText"] = q(r.status);
    e["secondaryUnitStatusRegistryText"] = jsonStrings(r.secondary);
    e["resourceAttributeRegistryText"] = QJsonArray{};
    e["unitStatusInternal"] = jsonStrings(r.internal);
    resources.append(e);
    resourceRefs.append(refTo(id));
  }
  doc["incidentComponent"] = inc;
  if (!locations.isEmpty()) doc["locationComponent"] = locations;
  if (!notes.isEmpty()) doc["notesComponent"] = notes;
  if (!resources.isEmpty()) doc["emergencyResourceComponent"] = resources;
  QJsonObject dispatch = prologue(base + "#dispatch", in.updatedAtMs);
  dispatch["agencyReference"] = refTo(agency);
  dispatch["emergencyResourceReference"] = resourceRefs;
  dispatch["notesReference"] = timelineRefs;
  doc["dispatchComponent"] = QJsonArray{dispatch};
  return doc;
}

namespace {

/** One EIDO document being read into an Incident; each step's error names where it was. */
struct EidoReader {
  const QJsonObject& doc;
  const QJsonObject inc;
  const Components c;
  Incident in;
  int64_t earliest = 0;

  /** Follows a reference to a component of one kind. */
  Result<QJsonObject> follow(const QJsonValue& r, const std::string& path, const char* kind) const {
    const std::string id = s(r.toObject().value("$ref"));
    auto it = c.byId.find(id);
    if (it == c.byId.end() || c.pathOf.at(id).rfind(std::string("$.") + kind + "[", 0) != 0)
      return Error::make(path + ": \"" + id + "\" is not the $id of any " + kind + " in the document");
    return it->second;
  }

  /** The owning agency: the one that says so, else the first. */
  Status owner() {
    const QJsonArray agencies = doc.value("agencyComponent").toArray();
    QJsonObject owner = agencies.first().toObject();
    for (const auto& a : agencies)
      if (a.toObject().value("incidentOwningAgencyIndicator").toBool()) owner = a.toObject();
    std::string ownerId = s(owner.value("$id"));
    in.ownerAgency = ownerId.rfind(kAgencyPrefix, 0) == 0 ? ownerId.substr(std::string(kAgencyPrefix).size()) : ownerId;
    if (in.ownerAgency.empty() || in.ownerAgency.size() > 255)
      return Error::make("$.agencyComponent: the owning agency's $id must be 1-255 characters");
    in.ownerServices = strings(owner.value("agencyType"));
    return {};
  }

  /** The call's type, number, state and priority. */
  Status typeAndPriority() {
    in.apcoCode = s(inc.value("incidentTypeCommonRegistryText"));
    const auto* apco = mdc::apco::findIncidentType(in.apcoCode);
    if (!apco)
      return Error::make("$.incidentComponent.incidentTypeCommonRegistryText: \"" + in.apcoCode +
                         "\" is not an APCO ANS 2.103 incident type code");
    in.typeCode = inc.contains("incidentTypeInternalCode") ? s(inc.value("incidentTypeInternalCode")) : in.apcoCode;
    if (in.typeCode.empty() || in.typeCode.size() > 32)
      return Error::make("$.incidentComponent.incidentTypeInternalCode: \"" + in.typeCode + "\": must be 1-32 characters");
    in.typeLabel = inc.contains("incidentTypeInternalText") ? s(inc.value("incidentTypeInternalText")) : std::string(apco->name);
    if (in.typeLabel.size() > 64) return Error::make("$.incidentComponent.incidentTypeInternalText: at most 64 characters");
    in.ownerNumber = inc.contains("internalIncidentId") ? s(inc.value("internalIncidentId")) : in.eidoId;
    if (in.ownerNumber.empty() || in.ownerNumber.size() > 255)
      return Error::make("$.incidentComponent.internalIncidentId: must be 1-255 characters");
    for (const auto& st : strings(inc.value("incidentStatusCommonRegistryText")))
      if (QString::fromStdString(st).compare(QLatin1String("Closed"), Qt::CaseInsensitive) == 0) in.closed = true;
    const std::string pText = s(inc.value("incidentPriorityInternalText"));
    if (pText.size() == 1 && pText[0] >= '1' && pText[0] <= '9') {
      in.priority = pText[0] - '0';
    } else if (inc.contains("incidentCommonPriorityNumber")) {
      const int n = inc.value("incidentCommonPriorityNumber").toInt();
      if (n < 0 || n > 10)
        return Error::make("$.incidentComponent.incidentCommonPriorityNumber: " + std::to_string(n) + " is out of range 0-10");
      in.priority = std::clamp(10 - n, 1, 9);
    }
    return {};
  }

  /** The address and position of the incident's first location. */
  Status location() {
    const QJsonArray locRefs = inc.value("locationReference").toArray();
    if (locRefs.isEmpty()) return {};
    auto loc = follow(locRefs.first(), "$.incidentComponent.locationReference[0]", "locationComponent");
    if (!loc) return loc.error();
    const std::string path = c.pathOf.at(s(loc->value("$id")));
    earliest = std::min(earliest, *parseDateTime(loc->value("lastUpdateTimeStamp")));
    if (loc->contains("locationByValue")) {
      auto p = readPidfLo(s(loc->value("locationByValue")));
      if (!p) return Error::make(path + ".locationByValue: " + p.error().message);
      in.address = p->first;
      in.location = p->second;
    }
    if (in.address.empty()) in.address = s(loc->value("locationDescriptionText"));
    if (in.address.size() > 200) return Error::make(path + ": the address is longer than 200 characters");
    return {};
  }

  /** The incident's own notes, then every other note as a line of the timeline, by time (document order among equals). */
  Status notesAndTimeline() {
    std::set<std::string> incidentNotes;
    const QJsonArray noteRefs = inc.value("notesReference").toArray();
    for (qsizetype i = 0; i < noteRefs.size(); ++i) {
      auto n = follow(noteRefs[i], "$.incidentComponent.notesReference[" + std::to_string(i) + "]", "notesComponent");
      if (!n) return n.error();
      incidentNotes.insert(s(n->value("$id")));
      in.notes += (in.notes.empty() ? "" : "\n") + htmlText(s(n->value("notesActionComments")));
      earliest = std::min(earliest, *parseDateTime(n->value("lastUpdateTimeStamp")));
    }
    if (in.notes.size() > 4000)
      return Error::make("$.incidentComponent.notesReference: the notes are longer than 4000 characters");
    const QJsonArray allNotes = doc.value("notesComponent").toArray();
    for (qsizetype i = 0; i < allNotes.size(); ++i) {
      const QJsonObject n = allNotes[i].toObject();
      if (incidentNotes.count(s(n.value("$id")))) continue;
      Line l{*parseDateTime(n.value("lastUpdateTimeStamp")), htmlText(s(n.value("notesActionComments")))};
      if (l.text.size() > 2000)
        return Error::make("$.notesComponent[" + std::to_string(i) + "].notesActionComments: longer than 2000 characters");
      in.timeline.push_back(std::move(l));
    }
    if (in.timeline.size() > kMaxTimeline)
      return Error::make("$.notesComponent: " + std::to_string(in.timeline.size()) + " notes, at most " +
                         std::to_string(kMaxTimeline));
    std::stable_sort(in.timeline.begin(), in.timeline.end(), [](const Line& a, const Line& b) { return a.atMs < b.atMs; });
    for (const auto& l : in.timeline) earliest = std::min(earliest, l.atMs);
    return {};
  }

  /** Dispatch components must point at what is there. */
  Status dispatchReferences() const {
    const QJsonArray dispatches = doc.value("dispatchComponent").toArray();
    for (qsizetype i = 0; i < dispatches.size(); ++i) {
      const std::string path = "$.dispatchComponent[" + std::to_string(i) + "]";
      const QJsonArray rr = dispatches[i].toObject().value("emergencyResourceReference").toArray();
      for (qsizetype k = 0; k < rr.size(); ++k)
        if (auto r = follow(rr[k], path + ".emergencyResourceReference[" + std::to_string(k) + "]", "emergencyResourceComponent"); !r)
          return r.error();
      const QJsonArray nr = dispatches[i].toObject().value("notesReference").toArray();
      for (qsizetype k = 0; k < nr.size(); ++k)
        if (auto r = follow(nr[k], path + ".notesReference[" + std::to_string(k) + "]", "notesComponent"); !r) return r.error();
    }
    return {};
  }

  /** The units on the call, each once. */
  Status units() {
    const QJsonArray res = doc.value("emergencyResourceComponent").toArray();
    if (size_t(res.size()) > kMaxUnits)
      return Error::make("$.emergencyResourceComponent: " + std::to_string(res.size()) + " units, at most " + std::to_string(kMaxUnits));
    std::set<std::string> names;
    for (qsizetype i = 0; i < res.size(); ++i) {
      const QJsonObject e = res[i].toObject();
      const std::string path = "$.emergencyResourceComponent[" + std::to_string(i) + "]";
      Resource r;
      r.name = e.contains("emergencyResourceName") ? s(e.value("emergencyResourceName")) : s(e.value("$id"));
      if (r.name.empty() || r.name.size() > 64) return Error::make(path + ".emergencyResourceName: must be 1-64 characters");
      if (!names.insert(r.name).second) return Error::make(path + ".emergencyResourceName: \"" + r.name + "\" is listed twice");
      r.resourceType = s(e.value("emergencyResourceTypeCommonRegistryText"));
      r.status = s(e.value("primaryUnitStatusRegistryText"));
      r.secondary = strings(e.value("secondaryUnitStatusRegistryText"));
      r.internal = strings(e.value("unitStatusInternal"));
      for (const auto* list : {&r.secondary, &r.internal})
        for (const auto& v : *list)
          if (v.empty() || v.find('\n') != std::string::npos) return Error::make(path + ": a status must be one non-empty line");
      r.atMs = *parseDateTime(e.value("lastUpdateTimeStamp"));
      in.units.push_back(std::move(r));
    }
    return {};
  }
};

}  // namespace

Result<Incident> fromEido(const QJsonObject& doc) {
  if (auto errors = validate(doc); !errors.empty()) return Error::make(errors.front());
  if (!doc.value("incidentComponent").isObject()) return Error::make("$.incidentComponent: required to import an incident");
  EidoReader r{doc, doc.value("incidentComponent").toObject(), index(doc), {}, 0};
  r.in.eidoId = s(r.inc.value("$id"));
  if (r.in.eidoId.size() > 255) return Error::make("$.incidentComponent.$id: at most 255 characters");
  r.in.updatedAtMs = *parseDateTime(doc.value("lastUpdateTimeStamp"));
  r.earliest = r.in.updatedAtMs;
  if (Status st = r.owner(); !st) return st.error();
  if (Status st = r.typeAndPriority(); !st) return st.error();
  if (Status st = r.location(); !st) return st.error();
  if (Status st = r.notesAndTimeline(); !st) return st.error();
  if (Status st = r.dispatchReferences(); !st) return st.error();
  if (Status st = r.units(); !st) return st.error();
  r.in.createdAtMs = r.earliest;
  return std::move(r.in);
}

QJsonObject toPayload(const Incident& in) {
  QJsonArray timeline, units;
  for (const auto& l : in.timeline) timeline.append(QJsonObject{{"at_ms", qint64(l.atMs)}, {"text", q(l.text)}});
  for (const auto& r : in.units)
    units.append(QJsonObject{{"name", q(r.name)},
                             {"resource_type", q(r.resourceType)},
                             {"status", q(r.status)},
                             {"secondary", jsonStrings(r.secondary)},
                             {"internal", jsonStrings(r.internal)},
                             {"at_ms", qint64(r.atMs)}});
  QJsonObject p{{"eido_id", q(in.eidoId)},
                {"owner_agency", q(in.ownerAgency)},
                {"owner_number", q(in.ownerNumber)},
                {"owner_services", jsonStrings(in.ownerServices)},
                {"type", q(in.typeCode)},
                {"type_label", q(in.typeLabel)},
                {"apco", q(in.apcoCode)},
                {"priority", in.priority},
                {"closed", in.closed},
                {"address", q(in.address)},
                {"notes", q(in.notes)},
                {"created_at_ms", qint64(in.createdAtMs)},
                {"updated_at_ms", qint64(in.updatedAtMs)},
                {"timeline", timeline},
                {"units", units}};
  if (in.location) {
    p["lat"] = in.location->first;
    p["lon"] = in.location->second;
  }
  return p;
}

Incident fromPayload(const QJsonObject& p) {
  Incident in;
  in.eidoId = s(p.value("eido_id"));
  in.ownerAgency = s(p.value("owner_agency"));
  in.ownerNumber = s(p.value("owner_number"));
  in.ownerServices = strings(p.value("owner_services"));
  in.typeCode = s(p.value("type"));
  in.typeLabel = s(p.value("type_label"));
  in.apcoCode = s(p.value("apco"));
  in.priority = p.value("priority").toInt(3);
  in.closed = p.value("closed").toBool();
  in.address = s(p.value("address"));
  if (p.contains("lat")) in.location = std::pair{p.value("lat").toDouble(), p.value("lon").toDouble()};
  in.notes = s(p.value("notes"));
  in.createdAtMs = p.value("created_at_ms").toInteger();
  in.updatedAtMs = p.value("updated_at_ms").toInteger();
  for (const auto& v : p.value("timeline").toArray())
    in.timeline.push_back({v.toObject().value("at_ms").toInteger(), s(v.toObject().value("text"))});
  for (const auto& v : p.value("units").toArray()) {
    const QJsonObject o = v.toObject();
    in.units.push_back({s(o.value("name")), s(o.value("resource_type")), s(o.value("status")),
                        strings(o.value("secondary")), strings(o.value("internal")), o.value("at_ms").toInteger()});
  }
  return in;
}

}  // namespace cad::eido
