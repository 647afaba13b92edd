// cadctl: the dispatcher's and operator's command line against the CAD stub.
// Reads go straight to the SQLite store (read-only); writes go through the
// running stub's control socket, so the stub stays the store's only writer.
// main parses the global options and runs the subcommand of the table below;
// each subcommand lives in the file of its topic.
#include <iostream>
#include <optional>
#include <set>
#include <string>

#include "server-stub/cli/cadctl_board.h"
#include "server-stub/cli/cadctl_ca.h"
#include "server-stub/cli/cadctl_cfs.h"
#include "server-stub/cli/cadctl_command.h"
#include "server-stub/cli/cadctl_config.h"
#include "server-stub/cli/cadctl_devices.h"
#include "server-stub/cli/cadctl_dispatch.h"
#include "server-stub/cli/cadctl_enrol.h"
#include "server-stub/cli/cadctl_events.h"
#include "server-stub/cli/cadctl_records.h"
#include "server-stub/cli/cadctl_schedule.h"
#include "server-stub/cli/cadctl_store.h"
#include "server-stub/cli/cadctl_types.h"
#include "server-stub/cli/cadctl_zones.h"

using namespace cad::cli;

namespace {

const char* kHelp = R"(usage: cadctl [--db FILE|URI] [--agency A] [--as NAME] COMMAND [ARGS]

The store is --db, else $CAD_DB, else ./cad.db: a SQLite file, or a PostgreSQL
database as postgresql://USER@HOST:PORT/DATABASE (the files beside a store,
<db>.ctl and the like, are then cad-<database>.ctl and so on in the working
directory). Dispatcher commands act for --agency (else $CAD_AGENCY) as --as
(else $CAD_DISPATCHER, else $USER) and need the stub running (its control
socket is <db>.ctl, or --control PATH).

reading (works with the stub stopped):
  board [--zone Z | --district D] [--json]
                                  unit board of the agency (all agencies without --agency),
                                  of one zone or of one district's zones
  cfs list [--json]               open and closed CFS
  cfs show N [--json]             one CFS with its units and timeline
  cfs show N --eido [--issuer ID] the incident as a NENA EIDO 1.0 document (JSON)
  export --eido [--since T] [--issuer ID] [--out FILE]
                                  a JSON array of the EIDOs of the agency's incidents
                                  with activity since T (all without); ID is the
                                  issuingElementIdentification ($CAD_EIDO_ISSUER,
                                  else cad-stub@HOST)
  events [--since POS] [--limit N] [--json]
                                  the audit trail: who did what, when, from which device
  events --after TX:POS | --follow [--json]
                                  the log as a reader follows it: every event once, none
                                  skipped while other writers commit out of position order
                                  (the transaction-id horizon); prints the cursor to go on
                                  from ("next: --after TX:POS") on stderr; --follow keeps
                                  printing new events (--json: one object per line)
  verify                          walk the hash chain; report the first broken link
  digest                          SHA-256 of every read model
  replay --into FILE|URI          rebuild every read model from the log into a new store
                                  (a new SQLite file, or a PostgreSQL database with no events)
  init                            create the store's tables where there are none (the stub
                                  does so itself when its role may)
  migrate --from FILE|URI --to FILE|URI
                                  copy a store into a new one (SQLite to PostgreSQL or back),
                                  then walk the copy's chain and compare its digest
  kpi [--json]                    response-time KPIs per CFS and averaged
  devices list [--attention] [--expiring-days N] [--silent-hours H] [--deep-queue N] [--json]
                                  the fleet and its health (version, link, last seen,
                                  queue, certificate expiry, GPS) with what needs
                                  attention: certificates expiring within N days (30)
                                  or expired, devices silent H hours (24), queues of N
                                  events (1000), an hour online without a GPS fix
  config show [--json]            what each agency pushes to its units
  refusals [--limit N]            input the stub refused, newest first
  audit queries [--unit U] [--since T] [--json]
                                  every records query: who ran what, from which device,
                                  for which CFS or reason, and what came back (T: an
                                  ISO time such as 2026-12-01T08:00:00Z, or an age: 90m, 2h, 7d)
  count                           number of events in the log

dispatching (needs the running stub):
  create-cfs --type T [--priority 1-9] [--address A] [--lat X --lon Y] [--notes N]
                                  T: an APCO code (types apco) or an agency type
  assign CFS UNIT [--force]       assign a unit (refused if it is on another open CFS)
  message UNIT TEXT
  ack-emergency UNIT
  close-cfs CFS
  devices add DEVICE --unit UNIT
  devices move DEVICE --unit UNIT
  devices decommission DEVICE     remove it from the registry (its events are refused from
                                  then on) and revoke its certificates in the fleet CA
                                  (--ca-dir, else <db>.ca/) when there is one
  devices import FILE [--dry-run]  register a fleet from CSV lines "device,unit,agency"
                                  (each row's agency; --as names the operator). The
                                  whole file is checked first: any bad line and
                                  nothing is registered; rows registered exactly so
                                  already are left as they are
  config set --statuses S1,S2,... [--avl-moving SEC] [--avl-stationary SEC]
                                  the agency's status buttons (F1..F10, at most 10;
                                  "default" for the device's own set) and AVL
                                  intervals (0 keeps the device's value), sent to
                                  every unit of the agency
  stats                           the running stub's counters
  import --eido FILE              incidents from another centre's EIDO (one document
                                  or an array): each checked against the EIDO 1.0
                                  schema first (any error, with the path of the
                                  field, and nothing is imported), then created under
                                  a number of this agency, keeping the owner's
                                  identifiers, timeline and units

zones and districts (units in zones, zones in districts, supervisors):
  zones set ZONE --district D     a zone of the agency, in district D (again: moves it)
  zones remove ZONE               refused while a unit is in it or a supervisor names it
  zones assign UNIT --zone Z      the unit's zone (--zone none: in no zone)
  zones supervise UNIT (--zones Z1,Z2 | --district D | --none)
                                  the unit's device receives the board of those zones
                                  (a district: of its zones as they are then), read-only;
                                  no other device receives any board
  zones list [--json]             districts, zones, their units and supervisors

call types (APCO ANS 2.103 common incident types, and each agency's own):
  types list [--json]             the agency's own types (every agency's without --agency)
  types apco [--json]             the 197 APCO codes every agency may use, with their names
  types add CODE --label L --apco APCO
                                  an agency type (A-Z 0-9 _ -, at most 32; label at most
                                  64 on one line) mapped to an APCO code; the agency's
                                  types are what its devices offer for self-initiated
                                  calls (at most 64; none: the device's default set)
  types remove CODE               calls of that type keep it

scheduled calls (a house check while the owners are away):
  schedule create --type T --address A --every 24h [--from T] --until T
                  [--priority 1-9] [--lat X --lon Y] [--notes N]
                                  a CFS at each time from --from (now) until --until,
                                  every 10m-366d, offered to the agency's available
                                  units; in the log, so it survives restarts, and an
                                  occurrence missed while the stub was down is created
                                  when it is back, marked late (T: now or an ISO time)
  schedule list [--json]          each schedule: next time, how many made, how many late
  schedule cancel SCHEDULE        no more occurrences

enrolment over the network (the stub serves it with --est-port):
  enroll-token create DEVICE [--unit UNIT] [--ttl 2h]
                                  a single-use token for one device (10m-30d), printed once;
                                  the stub keeps only its SHA-256. A device not registered
                                  yet is registered to --unit
  enroll-token list [--json]      every token: open, used (for which certificate), expired,
                                  or locked after 5 wrong tokens for its device

records system (its own file: --records, else <db>.records):
  records import FILE... [--dry-run]
                                  load vehicles, persons or flags from CSV; the first line
                                  names the table: "plate,state,year,make,model,color,
                                  owner_name,owner_dob", "name,dob,sex,height_cm,address"
                                  or "subject,kind,detail" (subject plate:ABC123:NY or
                                  person:LAST, FIRST:YYYY-MM-DD; kind stolen, wanted or
                                  caution). Every file is checked first: any bad line and
                                  nothing is imported
  records stats                   what the records system holds

fleet CA and broker (files only; the CA is --ca-dir, else <db>.ca/):
  ca init [--name NAME] [--days N]
                                  a new fleet CA (EC P-256, 5 years) for a test or demo deployment
  ca sign CSR [--out CERT] [--days N] [--reenrol]
                                  sign a device CSR (CN = device id, N days, default 365);
                                  refused for a reserved name or a device id with a live
                                  certificate unless --reenrol (which revokes the old one)
  ca revoke DEVICE|SERIAL         revoke its certificates and rewrite the CRL
  broker-config --out FILE [--port N] [--bind ADDR] [--log FILE] [--fleet DEVICES]
                [--edge NAME --bridge-to URI[,URI...]]
                                  mosquitto.conf + ACL + broker and stub (CN=cad-stub) certificates;
                                  the stub's queue holds DEVICES' windows at once (default 1000);
                                  --edge: an edge broker bridged to the backbone's MQTT listeners

exit status: 0 ok; 1 refused or check failed; 2 usage error; 3 store or stub unreachable.
)";

// Every subcommand by its first word; the usage lines are --help's in short.
const Subcommand kSubcommands[] = {
    {"board", "board [--zone Z | --district D] [--json]", boardCommand},
    {"cfs", "cfs list | show N [--json] | show N --eido [--issuer ID]", cfsCommand},
    {"export", "export --eido [--since T] [--issuer ID] [--out FILE]", exportCommand},
    {"events", "events [--since POS] [--limit N] | --after TX:POS | --follow [--json]", eventsCommand},
    {"verify", "verify", verifyCommand},
    {"digest", "digest", digestCommand},
    {"replay", "replay --into FILE|URI", replayCommand},
    {"init", "init", initCommand},
    {"migrate", "migrate --from FILE|URI --to FILE|URI", migrateCommand},
    {"kpi", "kpi [--json]", kpiCommand},
    {"devices", "devices list [...] | add|move DEVICE --unit UNIT | decommission DEVICE | import FILE", devicesCommand},
    {"config", "config show [--json] | set --statuses S1,S2,... [--avl-moving SEC] [--avl-stationary SEC]",
     configCommand},
    {"refusals", "refusals [--limit N]", refusalsCommand},
    {"audit", "audit queries [--unit U] [--since T] [--json]", auditCommand},
    {"count", "count", countCommand},
    {"create-cfs", "create-cfs --type T [--priority 1-9] [--address A] [--lat X --lon Y] [--notes N]",
     createCfsCommand},
    {"assign", "assign CFS UNIT [--force]", assignOrMessageCommand},
    {"message", "message UNIT TEXT", assignOrMessageCommand},
    {"ack-emergency", "ack-emergency UNIT", ackOrCloseCommand},
    {"close-cfs", "close-cfs CFS", ackOrCloseCommand},
    {"stats", "stats", statsCommand},
    {"import", "import --eido FILE", importCommand},
    {"zones", "zones set|remove|assign|supervise ... | zones list [--json]", zonesCommand},
    {"types", "types list|apco [--json] | add CODE --label L --apco APCO | remove CODE", typesCommand},
    {"schedule", "schedule create ... | list [--json] | cancel SCHEDULE", scheduleCommand},
    {"enroll-token", "enroll-token create DEVICE [--unit UNIT] [--ttl 2h] | list [--json]", enrolTokenCommand},
    {"records", "records import FILE... [--dry-run] | stats", recordsCommand},
    {"ca", "ca init|sign CSR|revoke DEVICE", caCommand},
    {"broker-config",
     "broker-config --out FILE [--port N] [--bind ADDR] [--log FILE] [--fleet DEVICES] [--edge NAME --bridge-to URIS]",
     brokerConfigCommand},
};

// The words of the command line into a; an exit status when cadctl is done
// already (--help, --version, a usage error).
std::optional<int> parse(int argc, char** argv, Args& a) {
  static const std::set<std::string> valued = {"--db", "--agency", "--as", "--control", "--since", "--limit",
                                               "--into", "--type", "--priority", "--address", "--lat", "--lon",
                                               "--notes", "--unit", "--ca-dir", "--out", "--port", "--days",
                                               "--name", "--bind", "--log", "--statuses", "--avl-moving",
                                               "--avl-stationary", "--records", "--expiring-days", "--silent-hours",
                                               "--deep-queue", "--ttl", "--every", "--from", "--until", "--label",
                                               "--apco", "--issuer", "--zone", "--zones", "--district", "--to",
                                               "--after", "--fleet", "--edge", "--bridge-to"};
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--help" || s == "-h") {
      std::cout << kHelp;
      return kOk;
    }
    if (s == "--version") {
      std::cout << "cadctl " << MDC_VERSION << "\n";
      return kOk;
    }
    if (valued.count(s)) {
      if (i + 1 >= argc) return usage(s + " needs a value");
      a.opts[s] = argv[++i];
    } else if (s.rfind("--", 0) == 0) {
      a.flags.insert(s);
    } else {
      a.pos.push_back(s);
    }
  }
  static const std::set<std::string> known = {"--json", "--force",    "--reenrol", "--dry-run",
                                              "--attention", "--eido", "--none", "--follow"};
  for (const auto& f : a.flags)
    if (!known.count(f)) return usage("unknown option \"" + f + "\"");
  if (a.pos.empty()) return usage("a command is required");
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  Invocation inv;
  if (auto done = parse(argc, argv, inv.a)) return *done;
  const Args& a = inv.a;
  inv.dbPath = a.opts.count("--db") ? a.opts.at("--db") : env("CAD_DB", "cad.db");
  inv.agency = a.opts.count("--agency") ? a.opts.at("--agency") : env("CAD_AGENCY", "");
  inv.actor = a.opts.count("--as") ? a.opts.at("--as") : env("CAD_DISPATCHER", env("USER", "dispatcher"));
  inv.control = a.opts.count("--control") ? a.opts.at("--control") : cad::sideFileBase(inv.dbPath) + ".ctl";
  inv.json = a.flags.count("--json") > 0;
  for (const auto& sub : kSubcommands)
    if (a.pos[0] == sub.name) return sub.run(inv);
  return unknownCommand(inv);
}
