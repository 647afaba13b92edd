#pragma once
// cadctl's calls for service: `cfs list`, `cfs show N [--eido]`, and the
// NENA EIDO exchange with other centres (`export --eido`, `import --eido`).
#include <QJsonObject>

#include <optional>
#include <string>
#include <vector>

#include "server-stub/cli/cadctl_command.h"
#include "server-stub/store/event_store.h"

namespace cad::cli {

int cfsList(EventStore& s, const std::string& agency, bool json);
/** `cfs show N`: the CFS, its units (this CAD's and, when imported, the
 *  owner's), and its timeline. */
int cfsShow(EventStore& s, const std::string& agency, const std::string& number, bool json);
/** `cfs show N --eido`: the incident's EIDO on stdout. */
int eidoShow(EventStore& s, const std::string& agency, const std::string& number, const std::string& issuer);
/** `export --eido [--since T]`: a JSON array of the EIDOs of the agency's
 *  incidents with activity since T (every one without), oldest first; to
 *  outFile (written whole, then renamed) when it is not empty. */
int eidoExport(EventStore& s, const std::string& agency, int64_t sinceMs, const std::string& issuer,
               const std::string& outFile);
/** The control requests of `import --eido FILE` (a document or an array of
 *  them), one per incident; nullopt after printing every error (with the
 *  path of the field) of every document: then nothing is imported. */
std::optional<std::vector<ControlRequest>> eidoImportRequests(const std::string& file, const ControlRequest& base);

/** `cfs list [--json]`, `cfs show N [--json]`, `cfs show N --eido [--issuer ID]`. */
int cfsCommand(Invocation& inv);
/** `export --eido [--since T] [--issuer ID] [--out FILE]`. */
int exportCommand(Invocation& inv);
/** `import --eido FILE`: each incident created through the stub, after all are checked. */
int importCommand(Invocation& inv);
/** `kpi [--json]`: response-time KPIs per CFS and averaged. */
int kpiCommand(Invocation& inv);

}  // namespace cad::cli
