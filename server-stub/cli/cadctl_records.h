#pragma once
// cadctl's records commands: loading the records system, and the audit of
// the queries run against it.
#include <optional>
#include <string>
#include <vector>

#include "server-stub/cli/cadctl_command.h"
#include "server-stub/store/event_store.h"

namespace cad::cli {

/** `records import FILE... [--dry-run]` and `records stats` on the records
 *  system's file. Returns the exit status (0 ok, 1 refused, 3 unreachable). */
int records(const std::vector<std::string>& args, const std::string& recordsPath, bool dryRun, bool json);

/** `audit queries [--unit U] [--since T]`: every query, newest last, with what came back. */
int auditQueries(EventStore& s, const std::string& agency, const std::string& unit, int64_t sinceMs, bool json);

/** A time given to --since: "2026-12-01T08:00:00Z", "2026-12-01", or an age ("90m", "2h", "7d"); nullopt if neither. */
std::optional<int64_t> parseSince(const std::string& text, int64_t nowMs);

/** `records import FILE... [--dry-run]` and `records stats` on --records, else <db>.records. */
int recordsCommand(Invocation& inv);
/** `audit queries [--unit U] [--since T] [--json]`. */
int auditCommand(Invocation& inv);

}  // namespace cad::cli
