// The agent and the stub as systemd services, without systemd: a notify
// socket of the test's own receives READY, the watchdog pings and STOPPING
// (the sd_notify protocol), stderr named as the journal's stream gets
// priority-prefixed lines, and the unit files pass systemd-analyze verify.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "tests/support/mosquitto.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

/** A datagram socket at path, as systemd's NOTIFY_SOCKET is. */
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~NotifySocket() { ::close(fd_); }
  /** Every message received within timeout (stops early once one contains until). */
  std::vector<std::string> read(std::chrono::milliseconds timeout, const std::string& until = "") {
    std::vector<std::string> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (::poll(&p, 1, int(std::max<int64_t>(1, left.count()))) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      out.emplace_back(buf, size_t(n));
      if (!until.empty() && out.back().find(until) != std::string::npos) break;
    }
    return out;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

/** JOURNAL_STREAM's value for a file: "device:inode". */
std::string streamOf(const std::string& file) {
  std::ofstream(file, std::ios::app).flush();
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

int count(const std::vector<std::string>& messages, const std::string& what) {
  int n = 0;
  for (const auto& m : messages) n += m.find(what) != std::string::npos;
  return n;
}

}  // namespace

TEST_CASE("under systemd the agent says when it serves, pings the watchdog from its loop, says it is stopping, and "
          "logs with journal priorities", "[agent][service]") {
  TempDir dir;
  NotifySocket notify(dir.file("notify.sock"));
  AgentProcess agent(dir, "MDC-S1", "E5", "FD1", "tcp://127.0.0.1:1");  // no broker: it logs warnings
  agent.env = {{"NOTIFY_SOCKET", notify.path()},
               {"WATCHDOG_USEC", "400000"},  // WatchdogSec=0.4 s: pings every 200 ms
               {"JOURNAL_STREAM", streamOf(dir.file("MDC-S1.log"))}};
  agent.start();
  auto messages = notify.read(10s, "READY=1");
  REQUIRE(count(messages, "READY=1") == 1);
  CHECK(count(messages, "STATUS=agent MDC-S1 (unit E5) serving " + agent.socketPath()) == 1);
  const auto pings = notify.read(1500ms);
  CHECK(count(pings, "WATCHDOG=1") >= 3);  // every 200 ms; a loaded machine may delay a few
  agent.stop();
  CHECK(count(notify.read(5s, "STOPPING=1"), "STOPPING=1") == 1);

  // The journal gets "<priority>component: text": no time (journald adds it), one line per event.
  std::istringstream log(agent.log());
  std::string line;
  int info = 0, warn = 0;
  while (std::getline(log, line)) {
    INFO(line);
    if (line.empty()) continue;
    CHECK(std::regex_match(line, std::regex("<[3467]>[a-z]+: .+")));
    info += line.rfind("<6>", 0) == 0;
    warn += line.rfind("<4>", 0) == 0;
  }
  CHECK(info >= 2);  // "agent: stopping", "agent: stopped" at least
  CHECK(warn >= 1);  // the broker that is not there
}

TEST_CASE("under systemd the stub says when it serves and pings the watchdog", "[stub][service]") {
  BackendStack backend({}, {.start = false});  // started below, into the notify socket
  NotifySocket notify(backend.dir.file("notify.sock"));
  CadStub& stub = backend.stub;
  stub.env = {{"NOTIFY_SOCKET", notify.path()}, {"WATCHDOG_USEC", "400000"}};
  stub.start();
  auto messages = notify.read(10s, "READY=1");
  REQUIRE(count(messages, "READY=1") == 1);
  CHECK(count(messages, "STATUS=cad-stub on " + stub.dbPath()) == 1);
  CHECK(count(notify.read(1500ms), "WATCHDOG=1") >= 3);
  stub.stop();
  CHECK(count(notify.read(5s, "STOPPING=1"), "STOPPING=1") == 1);
  // Without JOURNAL_STREAM the terminal's format: a UTC time and a level.
  CHECK(std::regex_search(stub.log(), std::regex("\\n?20[0-9-]+T[0-9:.]+Z INFO  stub: ")));
}

TEST_CASE("the systemd units pass systemd-analyze verify", "[service]") {
  TempDir dir;
  for (const auto& [unit, program] : {std::pair{"agent/systemd/mdc-agent.service", "agent/mdc-agent"},
                                      std::pair{"server-stub/systemd/cad-stub.service", "server-stub/cad-stub"}}) {
    INFO(unit);
    std::ifstream in(env("MDC_SOURCE_DIR") + "/" + unit);
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    // The packaged path does not exist here: point ExecStart at the build's program.
    const std::string name = std::string(unit).substr(std::string(unit).rfind('/') + 1);
    const std::string binary = env("MDC_BINARY_DIR") + "/" + program;
    std::string body = std::regex_replace(text.str(), std::regex("ExecStart=/usr/bin/[a-z-]+"), "ExecStart=" + binary);
    CHECK(body.find("Type=notify") != std::string::npos);
    CHECK(body.find("WatchdogSec=") != std::string::npos);
    CHECK(body.find("ProtectSystem=strict") != std::string::npos);
    CHECK(body.find("NoNewPrivileges=yes") != std::string::npos);
    CHECK(body.find("CapabilityBoundingSet=\n") != std::string::npos);
    CHECK(body.find("Restart=on-failure") != std::string::npos);
    std::ofstream(dir.file(name)) << body;
    auto r = run({"systemd-analyze", "verify", "--man=no", dir.file(name)}, dir);
    INFO(r.output);
    CHECK(r.exitCode == 0);
    CHECK(r.output.empty());  // unknown keys are only warned about: none allowed
  }
}
