#include "server-stub/cli/cadctl_cfs.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include <unistd.h>

#include "server-stub/cli/cadctl_records.h"
#include "server-stub/domain/kpi.h"
#include "server-stub/cli/cadctl_print.h"
#include "server-stub/domain/eido.h"
#include "server-stub/domain/apco.h"
#include "server-stub/store/read_models.h"
#include "shared/wire/clock.h"
#include "shared/infra/files.h"

namespace cad::cli {

namespace {

constexpr size_t kMaxDocumentBytes = 512 * 1024;  // the stub reads a control request of at most 1 MiB

QJsonArray unitsJson(const std::vector<CallUnit>& units) {
  QJsonArray arr;
  for (const auto& u : units)
    arr.append(QJsonObject{{"unit", QString::fromStdString(u.unit)}, {"assigned_at_ms", qint64(u.assignedAtMs)},
                           {"ack_at_ms", qint64(u.ackAtMs)},         {"enroute_at_ms", qint64(u.enrouteAtMs)},
                           {"onscene_at_ms", qint64(u.onsceneAtMs)}, {"cleared_at_ms", qint64(u.clearedAtMs)}});
  return arr;
}

QJsonObject importedJson(ReadModels& read, const CallDetail& d) {
  QJsonArray foreign;
  for (const auto& f : read.foreignUnits(d.incident))
    foreign.append(QJsonObject{{"unit", QString::fromStdString(f.name)},
                               {"status", QString::fromStdString(f.status)},
                               {"internal", QString::fromStdString(f.internal).trimmed().replace('\n', ',')},
                               {"at_ms", qint64(f.atMs)}});
  return QJsonObject{{"eido_id", QString::fromStdString(d.eidoId)},
                     {"owner_agency", QString::fromStdString(d.ownerAgency)},
                     {"owner_number", QString::fromStdString(d.ownerNumber)},
                     {"type_label", QString::fromStdString(d.typeLabel)},
                     {"at_ms", qint64(d.importedAtMs)},
                     {"by", QString::fromStdString(d.importedBy)},
                     {"owner_units", foreign}};
}

QJsonObject cfsJson(EventStore& s, const std::string& incident) {
  ReadModels read(s);
  const auto d = read.call(incident);
  if (!d) return {};
  QJsonObject c{{"incident", QString::fromStdString(d->incident)}, {"agency", QString::fromStdString(d->agency)},
                {"type", QString::fromStdString(d->type)},         {"priority", qint64(d->priority)},
                {"address", QString::fromStdString(d->address)},   {"notes", QString::fromStdString(d->notes)},
                {"state", QString::fromStdString(d->state)},       {"source", QString::fromStdString(d->source)},
                {"created_at_ms", qint64(d->createdAtMs)},         {"dispatched_at_ms", qint64(d->dispatchedAtMs)},
                {"enroute_at_ms", qint64(d->enrouteAtMs)},         {"arrived_at_ms", qint64(d->arrivedAtMs)},
                {"closed_at_ms", qint64(d->closedAtMs)}};
  if (d->location) {
    c["lat"] = d->location->first;
    c["lon"] = d->location->second;
  }
  c["units"] = unitsJson(read.callUnits(incident));
  c["apco"] = QString::fromStdString(d->apcoCode);
  if (const auto* t = mdc::apco::findIncidentType(d->apcoCode))
    c["apco_name"] = QString::fromUtf8(t->name.data(), qsizetype(t->name.size()));
  if (!d->eidoId.empty()) c["imported"] = importedJson(read, *d);
  QJsonArray tl;
  // In the order things happened; a line of an event that arrived after a
  // newer one of its unit is marked late.
  for (const auto& l : read.timeline(incident))
    tl.append(QJsonObject{{"at_ms", qint64(l.atMs)}, {"text", QString::fromStdString(l.text)}, {"late", l.late}});
  c["timeline"] = tl;
  return c;
}

}  // namespace

int cfsList(EventStore& s, const std::string& agency, bool json) {
  QJsonArray arr;
  for (const auto& c : ReadModels(s).calls(agency)) {
    arr.append(QJsonObject{{"incident", QString::fromStdString(c.incident)},
                           {"agency", QString::fromStdString(c.agency)},
                           {"type", QString::fromStdString(c.type)},
                           {"priority", qint64(c.priority)},
                           {"state", QString::fromStdString(c.state)},
                           {"source", QString::fromStdString(c.source)},
                           {"address", QString::fromStdString(c.address)},
                           {"created_at_ms", qint64(c.createdAtMs)}});
    if (!json)
      std::printf("%-12s %-6s %-20s P%lld %-6s %-8s %s\n", c.incident.c_str(), c.agency.c_str(), c.type.c_str(),
                  static_cast<long long>(c.priority), c.state.c_str(), c.source.c_str(), c.address.c_str());
  }
  if (json) printJson(arr);
  return kOk;
}

int cfsShow(EventStore& s, const std::string& agency, const std::string& number, bool json) {
  QJsonObject c = cfsJson(s, number);
  if (c.isEmpty() || (!agency.empty() && c.value("agency").toString().toStdString() != agency)) {
    std::cerr << "cadctl: no CFS \"" << number << "\"" << (agency.empty() ? "" : " in agency " + agency) << "\n";
    return kFailed;
  }
  if (json) {
    printJson(c);
    return kOk;
  }
  std::cout << c.value("incident").toString().toStdString() << "  " << c.value("type").toString().toStdString()
            << "  P" << c.value("priority").toInt() << "  " << c.value("state").toString().toStdString() << " ("
            << c.value("source").toString().toStdString() << ")\n"
            << "address   " << c.value("address").toString().toStdString() << "\n";
  if (!c.value("apco").toString().isEmpty())
    std::cout << "APCO      " << c.value("apco").toString().toStdString() << " "
              << c.value("apco_name").toString().toStdString() << "\n";
  if (c.contains("imported")) {
    const QJsonObject im = c.value("imported").toObject();
    std::cout << "imported  from " << im.value("owner_agency").toString().toStdString() << " (their "
              << im.value("owner_number").toString().toStdString() << ", "
              << im.value("eido_id").toString().toStdString() << ") by " << im.value("by").toString().toStdString()
              << " at " << iso(im.value("at_ms").toInteger()) << "\n";
    for (const auto& u : im.value("owner_units").toArray())
      std::cout << "their unit " << u.toObject().value("unit").toString().toStdString() << " "
                << u.toObject().value("status").toString().toStdString() << " since "
                << iso(u.toObject().value("at_ms").toInteger()) << "\n";
  }
  for (const auto& u : c.value("units").toArray()) {
    auto o = u.toObject();
    std::cout << "unit      " << o.value("unit").toString().toStdString() << " assigned "
              << iso(o.value("assigned_at_ms").toInteger()) << " ack " << iso(o.value("ack_at_ms").toInteger())
              << " en-route " << iso(o.value("enroute_at_ms").toInteger()) << " on-scene "
              << iso(o.value("onscene_at_ms").toInteger()) << " cleared " << iso(o.value("cleared_at_ms").toInteger())
              << "\n";
  }
  for (const auto& t : c.value("timeline").toArray())
    std::cout << "  " << iso(t.toObject().value("at_ms").toInteger()) << "  "
              << (t.toObject().value("late").toBool() ? "(late) " : "")
              << t.toObject().value("text").toString().toStdString() << "\n";
  return kOk;
}

int eidoShow(EventStore& s, const std::string& agency, const std::string& number, const std::string& issuer) {
  auto in = eido::readIncident(s, agency, number);
  if (!in) {
    std::cerr << "cadctl: " << in.error().message << "\n";
    return kFailed;
  }
  printJson(eido::toEido(*in, issuer));
  return kOk;
}

int eidoExport(EventStore& s, const std::string& agency, int64_t sinceMs, const std::string& issuer,
               const std::string& outFile) {
  QJsonArray docs;
  for (const auto& number : eido::incidentsSince(s, agency, sinceMs)) {
    auto in = eido::readIncident(s, agency, number);
    if (!in) {
      std::cerr << "cadctl: " << in.error().message << "\n";
      return kFailed;
    }
    docs.append(eido::toEido(*in, issuer));
  }
  const std::string count = std::to_string(docs.size()) + " incident" + (docs.size() == 1 ? "" : "s");
  if (outFile.empty()) {
    printJson(docs);
    std::cerr << count << " exported as EIDO 1.0\n";
    return kOk;
  }
  const QByteArray text = QJsonDocument(docs).toJson(QJsonDocument::Indented);
  if (auto w = mdc::files::writeAtomic(outFile, text.toStdString()); !w) {
    std::cerr << "cadctl: export: " << w.error().message << "\n";
    return kFailed;
  }
  std::cout << count << " exported as EIDO 1.0 to " << outFile << "\n";
  return kOk;
}

std::optional<std::vector<ControlRequest>> eidoImportRequests(const std::string& file, const ControlRequest& base) {
  std::ifstream f(file, std::ios::binary);
  if (!f) {
    std::cerr << "cadctl: import: cannot read \"" << file << "\": " << std::strerror(errno) << "\n";
    return std::nullopt;
  }
  std::stringstream text;
  text << f.rdbuf();
  QJsonParseError perr{};
  const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(text.str()), &perr);
  if (doc.isNull()) {
    std::cerr << "cadctl: import: " << file << ": not JSON: " << perr.errorString().toStdString() << " at byte "
              << perr.offset << "\n";
    return std::nullopt;
  }
  QJsonArray docs = doc.isArray() ? doc.array() : QJsonArray{doc.object()};
  if (docs.isEmpty()) {
    std::cerr << "cadctl: import: " << file << ": an empty array, no incident\n";
    return std::nullopt;
  }
  std::vector<ControlRequest> requests;
  bool ok = true;
  for (qsizetype i = 0; i < docs.size(); ++i) {
    const std::string where = file + (doc.isArray() ? "[" + std::to_string(i) + "]" : "");
    std::vector<std::string> errors = eido::validate(docs[i]);
    if (errors.empty()) {
      if (auto in = eido::fromEido(docs[i].toObject()); !in) errors.push_back(in.error().message);
    }
    const size_t bytes = size_t(QJsonDocument(docs[i].toObject()).toJson(QJsonDocument::Compact).size());
    if (bytes > kMaxDocumentBytes)
      errors.push_back("$: " + std::to_string(bytes) + " bytes, at most " + std::to_string(kMaxDocumentBytes));
    for (const auto& e : errors) std::cerr << "cadctl: import: " << where << " " << e << "\n";
    if (!errors.empty()) ok = false;
    ControlRequest r = base;
    r.mutable_eido_import()->set_document_json(QJsonDocument(docs[i].toObject()).toJson(QJsonDocument::Compact).toStdString());
    requests.push_back(r);
  }
  if (!ok) {
    std::cerr << "cadctl: import: nothing imported\n";
    return std::nullopt;
  }
  return requests;
}

namespace {

/** issuingElementIdentification: --issuer, else $CAD_EIDO_ISSUER, else cad-stub@HOST. */
std::string eidoIssuer(const Args& a) {
  if (a.opts.count("--issuer")) return a.opts.at("--issuer");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return env("CAD_EIDO_ISSUER", std::string("cad-stub@") + host);
}

int cfs(EventStore& s, const Args& a, const std::string& agency, bool json) {
  if (a.pos.size() == 2 && a.pos[1] == "list") return cfsList(s, agency, json);
  if (a.pos.size() == 3 && a.pos[1] == "show") {
    if (a.flags.count("--eido")) return eidoShow(s, agency, a.pos[2], eidoIssuer(a));
    return cfsShow(s, agency, a.pos[2], json);
  }
  return usage("cfs: list | show N [--eido]");
}

int exportEido(EventStore& s, Invocation& inv) {
  Args& a = inv.a;
  if (a.pos.size() != 1 || !a.flags.count("--eido")) return usage("export --eido [--since T] [--issuer ID] [--out FILE]");
  int64_t since = 0;
  if (a.opts.count("--since")) {
    auto t = parseSince(a.opts["--since"], mdc::SystemClock::instance().nowMs());
    if (!t) return usage("--since \"" + a.opts["--since"] + "\": expected a time such as 2026-12-01T08:00:00Z or an age such as 2h");
    since = *t;
  }
  return eidoExport(s, inv.agency, since, eidoIssuer(a), inv.opt("--out"));
}

}  // namespace

int cfsCommand(Invocation& inv) {
  return withStore(inv, [&](EventStore& s) { return cfs(s, inv.a, inv.agency, inv.json); });
}

int exportCommand(Invocation& inv) {
  return withStore(inv, [&](EventStore& s) { return exportEido(s, inv); });
}

int importCommand(Invocation& inv) {
  const Args& a = inv.a;
  if (inv.agency.empty()) return usage("import: --agency (or $CAD_AGENCY) is required: the agency that takes the incidents");
  if (a.pos.size() != 2 || !a.flags.count("--eido")) return usage("import --eido FILE");
  auto requests = eidoImportRequests(a.pos[1], inv.request());
  if (!requests) return kFailed;
  for (const auto& r : *requests)
    if (int rc = control(inv.control, r); rc != kOk) return rc;
  return kOk;
}

int kpiCommand(Invocation& inv) {
  return withStore(inv, [&](EventStore& s) {
    auto report = computeKpi(s, inv.agency);
    if (inv.json) printJson(report.toJson());
    else std::cout << report.toText();
    return kOk;
  });
}

}  // namespace cad::cli
