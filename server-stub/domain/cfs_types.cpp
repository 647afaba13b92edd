// Call types. APCO ANS 2.103 common incident types are every agency's default
// vocabulary; an agency may add its own (registry.cfs_type_add), each mapped
// to an APCO code, and retire them (registry.cfs_type_remove). Dispatchers'
// calls must use one of them; a device's self-initiated call is kept whatever
// its type (what the responder did is never lost) and a type that is neither
// gets a line on its timeline. The agency's types are offered on its devices
// in the Configuration downlink.
#include <QJsonObject>

#include "server-stub/domain/command_scope.h"
#include "server-stub/store/event_row.h"
#include "server-stub/store/event_store.h"
#include "server-stub/store/read_models.h"
#include "server-stub/domain/apco.h"

namespace cad {

namespace {
constexpr size_t kMaxAgencyTypes = 64;  // Configuration.cfs_types

bool validCode(const std::string& code) {
  if (code.empty() || code.size() > 32) return false;
  for (unsigned char c : code)
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

bool validLabel(const std::string& label) {
  if (label.empty() || label.size() > 64) return false;
  for (unsigned char c : label)
    if (c < 0x20 || c == 0x7f) return false;  // no tabs or line breaks: one line on a button
  return true;
}
}  // namespace

std::optional<CfsTypeInfo> EventStore::resolveCfsType(const std::string& agency, const std::string& code) {
  auto st = cached("SELECT label, apco_code FROM cfs_types WHERE agency=? AND code=?");
  st->bind(1, agency).bind(2, code);
  if (st->step()) return CfsTypeInfo{code, st->text(0), st->text(1), true};
  if (const auto* t = mdc::apco::findIncidentType(code))
    return CfsTypeInfo{code, std::string(t->name), code, false};
  return std::nullopt;
}


namespace {

/** Whether the agency has a type of its own with this code. */
bool ownType(CommandScope& c, const std::string& code) {
  auto st = c.cached("SELECT 1 FROM cfs_types WHERE agency=? AND code=?");
  st->bind(1, c.agency()).bind(2, code);
  return st->step();
}

Status checkCode(const std::string& code) {
  if (!validCode(code)) return refuse("type \"" + code + "\": must be 1-32 characters of A-Z 0-9 _ -");
  return {};
}

}  // namespace

Status checkCfsTypeRemove(CommandScope& c) {
  const std::string& code = c.req.cfs_type_remove().type();
  if (Status s = checkCode(code); !s) return s;
  if (!ownType(c, code)) return refuse("type \"" + code + "\": not a type of agency " + c.agency() + " (cadctl types list)");
  c.payload = {{"code", QString::fromStdString(code)}};
  c.summary = "type " + code + " removed from " + c.agency() + " (calls of that type keep it)";
  return {};
}

Status checkCfsTypeAdd(CommandScope& c) {
  const control::CfsTypeAdd& cmd = c.req.cfs_type_add();
  const std::string& code = cmd.type();
  if (Status s = checkCode(code); !s) return s;
  if (!validLabel(cmd.label())) return refuse("label \"" + cmd.label() + "\": must be 1-64 characters on one line");
  const auto* apco = mdc::apco::findIncidentType(cmd.apco());
  if (!apco)
    return refuse("apco \"" + cmd.apco() + "\": not an APCO ANS 2.103 incident type code (cadctl types list --apco)");
  if (mdc::apco::findIncidentType(code) && code != cmd.apco())
    return refuse("type \"" + code + "\": is the APCO code for " + std::string(mdc::apco::findIncidentType(code)->name) +
                  "; it can only map to itself");
  if (!ownType(c, code) && ReadModels(c.store).agencyCfsTypes(c.agency()).size() >= kMaxAgencyTypes)
    return refuse("types: agency " + c.agency() + " has " + std::to_string(kMaxAgencyTypes) +
                  " already, the most a device offers");
  c.payload = {{"code", QString::fromStdString(code)},
               {"label", QString::fromStdString(cmd.label())},
               {"apco", QString::fromStdString(cmd.apco())}};
  c.summary = "type " + code + " (" + cmd.label() + ") of " + c.agency() + " maps to APCO " + cmd.apco() + " " +
              std::string(apco->name) + "; offered on its devices";
  return {};
}

void EventStore::projectCfsType(const Row& row, std::vector<Outgoing>& out) {
  QJsonObject j = parseJson(row.payload);
  const std::string code = j.value("code").toString().toStdString();
  if (row.kind == "registry.cfs_type_add") {
    // A type changed keeps its place in the list.
    cached("INSERT INTO cfs_types(agency, code, label, apco_code, pos, updated_at_ms, updated_by) VALUES(?,?,?,?,?,?,?) "
           "ON CONFLICT(agency, code) DO UPDATE SET label=excluded.label, apco_code=excluded.apco_code, "
           "updated_at_ms=excluded.updated_at_ms, updated_by=excluded.updated_by")
        ->bind(1, row.agency).bind(2, code).bind(3, j.value("label").toString().toStdString())
        .bind(4, j.value("apco").toString().toStdString()).bind(5, row.pos).bind(6, row.receivedAtMs)
        .bind(7, actorName(row.actor)).run();
  } else {
    cached("DELETE FROM cfs_types WHERE agency=? AND code=?")->bind(1, row.agency).bind(2, code).run();
  }
  sendAgencyConfiguration(row, out);
}

void EventStore::classifyCfs(const std::string& incident, const std::string& agency, const std::string& type,
                             const Row& row, int64_t atMs, bool late) {
  auto t = resolveCfsType(agency, type);
  if (!t) {
    timeline(incident, row, atMs,
             "type " + type + " is not an APCO code nor a type of " + agency + ": exported as INFO", late);
    return;
  }
  cached("UPDATE cfs SET apco_code=? WHERE incident_number=?")->bind(1, t->apcoCode).bind(2, incident).run();
}

}  // namespace cad
