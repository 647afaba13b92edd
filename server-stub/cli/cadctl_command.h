#pragma once
// What every cadctl subcommand is given and shares: the parsed command line,
// the exit statuses, usage errors, and the stub's control socket.
#include <QJsonObject>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "server-stub/proto/control.pb.h"
#include "server-stub/store/event_store.h"

namespace cad::cli {

constexpr int kOk = 0, kFailed = 1, kUsage = 2, kUnreachable = 3;

using ControlRequest = cad::control::ControlRequest;

/** The words of the command line: positionals, valued options, flags. */
struct Args {
  std::vector<std::string> pos;
  std::map<std::string, std::string> opts;
  std::set<std::string> flags;
};

/** One run of cadctl: its arguments and the global options resolved. */
struct Invocation {
  Args a;
  std::string dbPath;   ///< --db, else $CAD_DB, else cad.db
  std::string agency;   ///< --agency, else $CAD_AGENCY ("" all agencies)
  std::string actor;    ///< --as, else $CAD_DISPATCHER, else $USER
  std::string control;  ///< --control, else <db>.ctl
  bool json = false;

  /** The option's value, or fallback when it was not given. */
  std::string opt(const std::string& name, const std::string& fallback = "") const;
  /** A control request for the agency, by the actor; its command still to set. */
  ControlRequest request() const;
};

/** A subcommand: its first word, one line of usage, and what runs it. */
struct Subcommand {
  const char* name;
  const char* usage;
  int (*run)(Invocation&);
};

/** Says why the command line is wrong on stderr; returns kUsage. */
int usage(const std::string& why);

/** The environment variable, or fallback when it is unset or empty. */
std::string env(const char* name, const std::string& fallback);

/** One request frame to the stub's control socket, one reply frame back: the
 *  result (or with printStats the counters) on stdout; kFailed when refused,
 *  kUnreachable when the stub does not answer. */
int control(const std::string& path, const ControlRequest& request, bool printStats = false);

/** A whole-number option in min..max, or its default when absent; nullopt
 *  (after saying why) when it is not one. */
std::optional<int64_t> countOption(const Args& a, const std::string& name, int64_t fallback, int64_t min, int64_t max);

/** Runs a reading command on the store opened read-only; kUnreachable (after
 *  saying why) when it does not open. */
int withStore(const Invocation& inv, const std::function<int(EventStore&)>& read);

/** A command cadctl does not know: refused as a usage error once the store is
 *  found to open (kUnreachable when it does not). */
int unknownCommand(const Invocation& inv);

}  // namespace cad::cli
