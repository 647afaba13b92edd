// mdc-provision: the fleet technician's command line at the vehicle. Parses
// arguments and calls agent/provision.cpp.
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <QCoreApplication>

#include <unistd.h>

#include "agent/enrolment.h"
#include "agent/provision.h"

using namespace mdc;

namespace {

const char* kHelp = R"(usage: mdc-provision [--dir DIR] [--config FILE] COMMAND [ARGS]

The device's identity lives in --dir (default /etc/mdc): device.key (0600),
device.csr, device.pem, ca.pem; the agent's config is --config (default
DIR/agent.json).

  enroll --server https://HOST:PORT --token TOKEN --device-id ID [--ca FILE]
         [--store FILE] [--socket PATH] [--set key=value ...] [--force]
                     enrol over the network (EST): make the key here, prove
                     the server by the token (or trust --ca), receive the
                     certificate, the CA and the unit, agency and broker,
                     and write the config. The token comes from
                     cadctl enroll-token create; it works once. --force
                     replaces an existing identity (the outbox is kept)
  enroll --device-id ID --agency A --broker URL [--unit-id U] [--store FILE]
         [--socket PATH] [--set key=value ...]
                     by hand: generate the device key here, write the CSR;
                     keep the config pending for install-cert
  install-cert CERT CHAIN
                     install the signed certificate and the fleet CA chain, write the config
  show               identity, unit, agency, certificate subject and expiry, broker
  self-test [--json] [--min-free-mb N] [--timeout-s N] [--crl FILE]
                     PASS/WARN/FAIL checklist; exit 1 on any FAIL
  wipe [--force]     remove key, certificate, config and store; refuses while
                     unsent events remain unless --force

exit status: 0 ok; 1 failed (or a self-test FAIL); 2 usage error.
)";

int usage(const std::string& why) {
  std::cerr << "mdc-provision: " << why << "\n(see mdc-provision --help)\n";
  return 2;
}

long number(const std::string& v, long min, long max) {
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  return (v.empty() || *end || n < min || n > max) ? -1 : n;
}

// The command line, parsed: positionals, options with a value, and
// configuration settings (--set and its aliases) in the order given.
struct Invocation {
  std::vector<std::string> pos;
  std::map<std::string, std::string> opts;
  std::vector<std::pair<std::string, std::string>> sets;
  bool json = false, force = false;
};

// Parses argv into in; an exit code when the program ends here (--help,
// --version, a usage error).
std::optional<int> parseArgs(int argc, char** argv, Invocation& in) {
  static const std::map<std::string, std::string> aliases = {
      {"--device-id", "device_id"}, {"--agency", "agency"},     {"--broker", "broker"},
      {"--unit-id", "unit_id"},     {"--store", "store.path"}, {"--socket", "socket.path"}};
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto needValue = [&]() -> bool { return i + 1 < argc; };
    if (s == "--help" || s == "-h") {
      std::cout << kHelp;
      return 0;
    } else if (s == "--version") {
      std::cout << "mdc-provision " MDC_VERSION "\n";
      return 0;
    } else if (s == "--json") {
      in.json = true;
    } else if (s == "--force") {
      in.force = true;
    } else if (aliases.count(s)) {
      if (!needValue()) return usage(s + " needs a value");
      in.sets.emplace_back(aliases.at(s), argv[++i]);
    } else if (s == "--set") {
      if (!needValue()) return usage("--set needs key=value");
      std::string kv = argv[++i];
      auto eq = kv.find('=');
      if (eq == std::string::npos) return usage("--set \"" + kv + "\": expected key=value");
      in.sets.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (s == "--dir" || s == "--config" || s == "--min-free-mb" || s == "--timeout-s" || s == "--crl" ||
               s == "--server" || s == "--token" || s == "--ca") {
      if (!needValue()) return usage(s + " needs a value");
      in.opts[s] = argv[++i];
    } else if (s.rfind("--", 0) == 0) {
      return usage("unknown option \"" + s + "\"");
    } else {
      in.pos.push_back(s);
    }
  }
  return std::nullopt;
}

int done(const Status& st) {
  if (st) return 0;
  std::cerr << "mdc-provision: " << st.error().message << "\n";
  return 1;
}

// enroll: over the network with a token, or by hand (a CSR to sign).
int runEnroll(Invocation& in, const provision::DeviceFiles& files, int& argc, char** argv) {
  agent::AgentConfig cfg;
  for (const auto& [k, v] : in.sets)
    if (Status st = cfg.set(k, v); !st) return usage(st.error().message);
  auto& opts = in.opts;
  if (!opts.count("--server") && !opts.count("--token")) return done(provision::enroll(files, cfg, std::cout));
  if (!opts.count("--server") || !opts.count("--token") || cfg.deviceId.empty())
    return usage("enroll over the network: --server URL --token TOKEN --device-id ID are required");
  if (opts["--server"].rfind("https://", 0) != 0)
    return usage("--server \"" + opts["--server"] + "\": must be https://host:port");
  if (access((files.cert()).c_str(), F_OK) == 0 && !in.force)
    return done(Error::make("enroll: \"" + files.cert() + "\" exists: this device is enrolled (--force "
                            "replaces its identity; its outbox is kept)"));
  QCoreApplication app(argc, argv);  // Qt's network access needs one
  return done(agent::enrolWithToken(files, opts["--server"], cfg.deviceId, opts["--token"],
                                    opts.count("--ca") ? opts["--ca"] : "", cfg, std::cout));
}

// self-test: the checklist, as text or JSON; 1 on any FAIL.
int runSelfTest(Invocation& in, const provision::DeviceFiles& files) {
  auto& opts = in.opts;
  provision::SelfTestOptions o;
  if (opts.count("--min-free-mb")) {
    o.minFreeMb = number(opts["--min-free-mb"], 0, 1L << 40);
    if (o.minFreeMb < 0) return usage("--min-free-mb \"" + opts["--min-free-mb"] + "\": not a number of MiB");
  }
  if (opts.count("--timeout-s")) {
    o.timeoutS = int(number(opts["--timeout-s"], 1, 600));
    if (o.timeoutS < 0) return usage("--timeout-s \"" + opts["--timeout-s"] + "\": out of range 1-600");
  }
  if (opts.count("--crl")) o.crlPath = opts["--crl"];
  auto checks = provision::selfTest(files, o);
  if (in.json) std::cout << provision::checksJson(checks);
  else provision::printChecks(checks, std::cout);
  for (const auto& c : checks)
    if (c.level == provision::Level::Fail) return 1;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Invocation in;
  if (auto rc = parseArgs(argc, argv, in)) return *rc;
  if (in.pos.empty()) return usage("a command is required");
  provision::DeviceFiles files;
  if (in.opts.count("--dir")) files.dir = in.opts["--dir"];
  if (in.opts.count("--config")) files.configPath = in.opts["--config"];
  const std::string& cmd = in.pos[0];

  if (cmd == "enroll") return runEnroll(in, files, argc, argv);
  if (!in.sets.empty()) return usage("configuration options only go with enroll");
  if (cmd == "install-cert") {
    if (in.pos.size() != 3) return usage("install-cert CERT CHAIN");
    return done(provision::installCert(files, in.pos[1], in.pos[2], std::cout));
  }
  if (cmd == "show") return done(provision::show(files, std::cout));
  if (cmd == "wipe") return done(provision::wipe(files, in.force, std::cout));
  if (cmd == "self-test") return runSelfTest(in, files);
  return usage("unknown command \"" + cmd + "\"");
}
