// mdcctl: the agent's command-line client. Thin: parses arguments, talks to
// the local API through ApiClient, prints.
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/api_client.h"
#include "agent/state_text.h"
#include "shared/wire/clock.h"
#include "shared/wire/codec.h"

using namespace mdc;
using namespace std::chrono_literals;

namespace {

// Exit codes.
constexpr int kOk = 0;
constexpr int kFailed = 1;       // the agent refused or the wait timed out
constexpr int kUsage = 2;        // bad arguments
constexpr int kUnreachable = 3;  // the agent is not running / not reachable
constexpr int kHit = 4;          // query: the answer has an officer-safety flag

const char* kHelp = R"(usage: mdcctl [--socket PATH] COMMAND [ARGS]

Talks to the local mdc-agent (socket: --socket, else $MDC_SOCKET, else
/run/mdc/agent.sock).

commands:
  status CODE [--incident N]   change the unit's status; CODE is one of
                               available, en-route, on-scene, transporting,
                               at-hospital, busy, out-of-service, at-station,
                               returning, staged
  emergency [--clear]          raise (or clear) the emergency
  cfs --type T [--note N] [--address A] [--lat X --lon Y]
                               self-initiate a call for service (location
                               defaults to the current GPS fix)
  ack INCIDENT                 acknowledge an assignment
  message TEXT                 send a text message to dispatch
  state [--json]               print the agent's state
  messages [--before CURSOR] [--limit N] [--json]
                               the conversation with dispatch, newest first
                               (< from dispatch, > sent), a page of N (1-50,
                               default 20) before CURSOR (each page ends with
                               the command for the next)
  query plate PLATE --state ST (--cfs N | --reason CODE) [--json]
  query person --name "LAST, FIRST" --dob YYYY-MM-DD (--cfs N | --reason CODE) [--json]
                               run a plate or a person against the records
                               system and print what came back (waits for the
                               answer). Needs the link: never queued. CODE is
                               one of TRAFFIC_STOP, SUSPICIOUS_VEHICLE,
                               SUSPICIOUS_PERSON, INVESTIGATION, WARRANT_SERVICE,
                               FIELD_INTERVIEW. Exit status 1 when refused or
                               unanswered, 4 on an officer-safety hit
  watch                        print a line whenever the state changes
  wait-synced [--timeout S]    wait until the outbox is empty (default 30 s)

exit status: 0 ok; 1 refused or timed out; 2 usage error; 3 agent unreachable;
4 (query) an officer-safety hit.
)";

int usage(const std::string& why) {
  std::cerr << "mdcctl: " << why << "\n(see mdcctl --help)\n";
  return kUsage;
}

std::string toJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.always_print_primitive_fields = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

int printReply(const Result<v1::ApiReply>& r) {
  if (!r) {
    std::cerr << "mdcctl: " << r.error().message << "\n";
    return kUnreachable;
  }
  if (!r->ok()) {
    std::cerr << "mdcctl: refused: " << r->error() << "\n";
    return kFailed;
  }
  if (r->has_queued())
    std::cout << "queued seq " << r->queued().seq() << " (" << v1::Lane_Name(r->queued().lane()) << ") event "
              << r->queued().event_id() << "\n";
  return kOk;
}

// A command's arguments (after the command's name).
struct Args {
  std::vector<std::string> list;

  // The value after the first `name`, if any.
  std::optional<std::string> opt(const std::string& name) const {
    for (size_t i = 0; i + 1 < list.size(); ++i)
      if (list[i] == name) return list[i + 1];
    return std::nullopt;
  }
  bool flag(const std::string& name) const {
    for (const auto& a : list)
      if (a == name) return true;
    return false;
  }
  bool empty() const { return list.empty(); }
  const std::string& operator[](size_t i) const { return list[i]; }
};

// ---- requests built from the arguments (kOk, or the usage error's exit code)

int buildStatus(const Args& args, v1::ApiRequest& req) {
  if (args.empty()) return usage("status: a status code is required");
  auto st = codec::statusFromName(args[0]);
  if (!st) return usage("status: \"" + args[0] + "\" is not a status (" + codec::statusNamesForHumans() + ")");
  req.mutable_set_status()->set_status(*st);
  if (auto n = args.opt("--incident")) req.mutable_set_status()->set_incident_number(*n);
  return kOk;
}

int buildEmergency(const Args& args, v1::ApiRequest& req) {
  req.mutable_set_emergency()->set_active(!args.flag("--clear"));
  req.mutable_set_emergency()->set_source(v1::EMERGENCY_SOURCE_COMMAND);
  return kOk;
}

int buildCfs(const Args& args, v1::ApiRequest& req) {
  auto type = args.opt("--type");
  if (!type) return usage("cfs: --type is required (an agency call type or an APCO code, e.g. TSTOP)");
  auto* c = req.mutable_create_cfs();
  c->set_cfs_type(*type);
  if (auto n = args.opt("--note")) c->set_note(*n);
  if (auto a = args.opt("--address")) c->set_address(*a);
  auto lat = args.opt("--lat"), lon = args.opt("--lon");
  if (!lat && !lon) return kOk;
  if (!lat || !lon) return usage("cfs: --lat and --lon go together");
  try {
    c->mutable_location()->set_lat(std::stod(*lat));
    c->mutable_location()->set_lon(std::stod(*lon));
  } catch (...) {
    return usage("cfs: --lat \"" + *lat + "\" / --lon \"" + *lon + "\" must be numbers");
  }
  c->mutable_location()->set_mode(v1::FIX_MODE_2D);
  c->mutable_location()->set_alt_m(__builtin_nanf(""));
  c->mutable_location()->set_speed_mps(__builtin_nanf(""));
  c->mutable_location()->set_track_deg(__builtin_nanf(""));
  c->mutable_location()->set_eph_m(__builtin_nanf(""));
  return kOk;
}

int buildAck(const Args& args, v1::ApiRequest& req) {
  if (args.empty()) return usage("ack: an incident number is required");
  req.mutable_ack_assignment()->set_incident_number(args[0]);
  return kOk;
}

int buildMessage(const Args& args, v1::ApiRequest& req) {
  if (args.empty()) return usage("message: a text is required");
  req.mutable_send_message()->set_text(args[0]);
  return kOk;
}

int buildMessages(const Args& args, v1::ApiRequest& req) {
  auto* l = req.mutable_list_messages();
  l->set_limit(20);
  if (auto b = args.opt("--before")) l->set_before(*b);  // the agent names a malformed cursor
  try {
    if (auto n = args.opt("--limit")) l->set_limit(uint32_t(std::stoul(*n)));
  } catch (...) {
    return usage("messages: --limit takes a whole number");
  }
  return kOk;
}

int buildQuery(const Args& args, v1::ApiRequest& req) {
  auto* q = req.mutable_records_query();
  if (args.empty() || (args[0] != "plate" && args[0] != "person"))
    return usage("query: plate PLATE --state ST or person --name \"LAST, FIRST\" --dob YYYY-MM-DD");
  size_t positionals = 0;
  for (size_t i = 0; i < args.list.size(); ++i) {
    if (args[i].rfind("--", 0) == 0) i += args[i] == "--json" ? 0 : 1;
    else ++positionals;
  }
  if (args[0] == "plate") {
    if (positionals != 2) return usage("query plate: the plate is required (query plate ABC123 --state NY)");
    if (!args.opt("--state")) return usage("query plate: --state is required (the 2-letter issuing state)");
    if (args.opt("--name") || args.opt("--dob")) return usage("query plate: --name and --dob are for query person");
    q->mutable_plate()->set_plate(codec::normalizePlate(args[1]));
    q->mutable_plate()->set_state(codec::normalizePlate(*args.opt("--state")));
  } else {
    if (positionals != 1) return usage("query person: unexpected argument \"" + args[1] + "\"");
    if (!args.opt("--name") || !args.opt("--dob")) return usage("query person: --name and --dob are required");
    if (args.opt("--state")) return usage("query person: --state is for query plate");
    q->mutable_person()->set_name(codec::normalizeName(*args.opt("--name")));
    q->mutable_person()->set_dob(*args.opt("--dob"));
  }
  if (auto c = args.opt("--cfs")) q->set_incident_number(*c);
  if (auto r = args.opt("--reason")) q->set_reason_code(*r);
  // The agent refuses a query with no reason, or two, naming the field.
  return kOk;
}

// ---- commands run against the agent (the exit code)

int runRequest(agent::ApiClient& client, const Args&, const v1::ApiRequest& req) {
  return printReply(client.call(req));
}

Result<v1::ApiReply> askState(agent::ApiClient& client) {
  v1::ApiRequest r;
  r.mutable_get_state();
  return client.call(r);
}

int runState(agent::ApiClient& client, const Args& args, const v1::ApiRequest&) {
  auto reply = askState(client);
  if (!reply || !reply->ok()) return printReply(reply);
  std::cout << (args.flag("--json") ? toJson(reply->state()) : agent::stateText(reply->state()));
  return kOk;
}

int runWatch(agent::ApiClient& client, const Args&, const v1::ApiRequest&) {
  v1::ApiRequest r;
  r.mutable_subscribe();
  auto reply = client.call(r);
  if (!reply || !reply->ok()) return printReply(reply);
  std::cout << agent::stateLine(reply->state()) << std::endl;
  for (;;) {
    auto m = client.next(std::chrono::hours(24));
    if (!client.connected()) {
      std::cerr << "mdcctl: the agent closed the connection\n";
      return kUnreachable;
    }
    if (m && m->has_state()) std::cout << agent::stateLine(m->state()) << std::endl;
  }
}

int runWaitSynced(agent::ApiClient& client, const Args& args, const v1::ApiRequest&) {
  double timeoutS = 30;
  if (auto t = args.opt("--timeout")) {
    try {
      timeoutS = std::stod(*t);
    } catch (...) {
      return usage("wait-synced: --timeout \"" + *t + "\" must be a number of seconds");
    }
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(timeoutS * 1000));
  int64_t left = 0;
  do {
    auto reply = askState(client);
    if (!reply || !reply->ok()) return printReply(reply);
    left = 0;
    for (const auto& l : reply->state().lanes()) left += l.count();
    if (left == 0) {
      std::cout << "synced: outbox empty\n";
      return kOk;
    }
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < deadline);
  std::cerr << "mdcctl: not synced after " << timeoutS << " s: " << left << " events still in the outbox\n";
  return kFailed;
}

int runQuery(agent::ApiClient& client, const Args& args, const v1::ApiRequest& req) {
  auto reply = client.call(req);
  if (!reply || !reply->ok()) return printReply(reply);
  const std::string id = reply->query_sent().query_id();
  bool toldSlow = false;
  // The agent decides when the query has failed (records.timeout_s); this
  // only stops waiting if the agent itself stops answering.
  const auto deadline = std::chrono::steady_clock::now() + 330s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto st = askState(client);
    if (!st || !st->ok()) return printReply(st);
    for (const auto& q : st->state().records()) {
      if (q.query_id() != id) continue;
      if (q.state() == v1::RECORDS_QUERY_STATE_SLOW && !toldSlow) {
        std::cerr << "mdcctl: the records system is slow to answer; still waiting\n";
        toldSlow = true;
      }
      if (q.state() == v1::RECORDS_QUERY_STATE_ANSWERED || q.state() == v1::RECORDS_QUERY_STATE_FAILED) {
        std::cout << (args.flag("--json") ? toJson(q) : agent::recordsText(q));
        if (q.state() == v1::RECORDS_QUERY_STATE_FAILED) return kFailed;
        return q.answer().hit() ? kHit : kOk;
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  std::cerr << "mdcctl: no word from the agent about query " << id << "\n";
  return kFailed;
}

void printMessage(const v1::ReceivedMessage& m) {
  if (m.outgoing())
    std::cout << "> " << formatIsoUtc(m.at_ms()) << " this unit (action #" << m.event_seq() << ", "
              << agent::deliveryName(m.delivery()) << (m.detail().empty() ? "" : ": " + m.detail()) << "): " << m.text()
              << "\n";
  else
    std::cout << "< " << formatIsoUtc(m.at_ms()) << " " << m.from() << " (#" << m.downlink_seq() << "): " << m.text()
              << "\n";
}

int runMessages(agent::ApiClient& client, const Args& args, const v1::ApiRequest& req) {
  auto reply = client.call(req);
  if (!reply || !reply->ok()) return printReply(reply);
  const auto& page = reply->messages_page();
  if (args.flag("--json")) {
    std::cout << toJson(page);
    return kOk;
  }
  for (const auto& m : page.messages()) printMessage(m);
  if (page.more() && page.messages_size() > 0)
    std::cout << "(older: mdcctl messages --before " << page.messages(page.messages_size() - 1).cursor() << ")\n";
  return kOk;
}

// ---- the table of commands

// A command's arguments: positionals, options with a value, and flags.
// Anything else is refused ("emergency off" must not raise an emergency).
struct Command {
  const char* name;
  size_t positionals;
  std::set<std::string> valued, flags;
  int (*build)(const Args&, v1::ApiRequest&);  // nullptr: the request is the command's own
  int (*run)(agent::ApiClient&, const Args&, const v1::ApiRequest&);
};

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"status", 1, {"--incident"}, {}, buildStatus, runRequest},
      {"emergency", 0, {}, {"--clear"}, buildEmergency, runRequest},
      {"cfs", 0, {"--type", "--note", "--address", "--lat", "--lon"}, {}, buildCfs, runRequest},
      {"ack", 1, {}, {}, buildAck, runRequest},
      {"message", 1, {}, {}, buildMessage, runRequest},
      {"state", 0, {}, {"--json"}, nullptr, runState},
      {"messages", 0, {"--before", "--limit"}, {"--json"}, buildMessages, runMessages},
      {"watch", 0, {}, {}, nullptr, runWatch},
      {"query", 2, {"--state", "--name", "--dob", "--cfs", "--reason"}, {"--json"}, buildQuery, runQuery},
      {"wait-synced", 0, {"--timeout"}, {}, nullptr, runWaitSynced},
  };
  return kCommands;
}

const Command* findCommand(const std::string& name) {
  for (const auto& c : commands())
    if (name == c.name) return &c;
  return nullptr;
}

// kOk when every argument is one the command takes; else the usage error's exit code.
int checkArgs(const Command& cmd, const Args& args) {
  size_t positionals = 0;
  for (size_t i = 0; i < args.list.size(); ++i) {
    if (cmd.valued.count(args[i])) {
      if (i + 1 == args.list.size()) return usage(std::string(cmd.name) + ": " + args[i] + " needs a value");
      ++i;
    } else if (cmd.flags.count(args[i])) {
      continue;
    } else if (args[i].rfind("--", 0) == 0 || positionals++ == cmd.positionals) {
      return usage(std::string(cmd.name) + ": unexpected argument \"" + args[i] + "\"");
    }
  }
  return kOk;
}

// Takes the options before the command off args; an exit code when one of
// them ends the program (--help, --version, an unknown option).
std::optional<int> takeGlobalOptions(std::vector<std::string>& args, std::string& socket) {
  while (!args.empty() && args[0].rfind("--", 0) == 0) {
    if (args[0] == "--help" || args[0] == "-h") {
      std::cout << kHelp;
      return kOk;
    }
    if (args[0] == "--version") {
      std::cout << "mdcctl " << MDC_VERSION << "\n";
      return kOk;
    }
    if (args[0] == "--socket" && args.size() >= 2) {
      socket = args[1];
      args.erase(args.begin(), args.begin() + 2);
      continue;
    }
    return usage("unknown option \"" + args[0] + "\"");
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string socket = std::getenv("MDC_SOCKET") ? std::getenv("MDC_SOCKET") : "/run/mdc/agent.sock";
  if (auto rc = takeGlobalOptions(args, socket)) return *rc;
  if (args.empty()) return usage("a command is required");
  const std::string name = args[0];
  const Command* cmd = findCommand(name);
  if (!cmd) return usage("unknown command \"" + name + "\"");
  const Args cmdArgs{std::vector<std::string>(args.begin() + 1, args.end())};
  if (int rc = checkArgs(*cmd, cmdArgs); rc != kOk) return rc;

  v1::ApiRequest req;
  if (cmd->build)
    if (int rc = cmd->build(cmdArgs, req); rc != kOk) return rc;

  agent::ApiClient client;
  if (Status s = client.connect(socket); !s) {
    std::cerr << "mdcctl: " << s.error().message << "\n";
    return kUnreachable;
  }
  return cmd->run(client, cmdArgs, req);
}
