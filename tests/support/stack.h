#pragma once
// The project's own programs as processes, for integration tests: cad-stub
// (with cadctl) and mdc-agent (with mdcctl and a local API client).
#include <QJsonArray>

#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "agent/api_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace mdc::test {

/** Output and exit code of a finished command. */
struct CommandResult {
  int exitCode = -1;
  std::string output;  ///< stdout and stderr together
};

/** A command's output parsed as a JSON array (empty when it is not one). */
QJsonArray jsonArray(const CommandResult& r);

/** CPU time (user + system) and resident memory of a running process, from /proc. */
struct ProcessUsage {
  double cpuSeconds = 0;
  long rssKb = 0;
  char state = '?';  ///< R, S, D, Z (exited, not yet reaped) ...; '?' when it is gone
};
ProcessUsage processUsage(pid_t pid);

/** Runs a program to completion (at most timeout) and returns what it printed. */
CommandResult run(const std::vector<std::string>& argv, const TempDir& dir,
                  std::chrono::milliseconds timeout = std::chrono::seconds(60));

/** Path of a built program: "agent/mdc-agent", "server-stub/cadctl", ... */
std::string program(const std::string& relative);

/** Fills an agent's store (agent not running) as a long outage would have,
 *  through the store's own API: `avl` AVL reports one second apart ending now,
 *  then `statuses` status changes, then `messages` messages to dispatch,
 *  under the store cap capBytes (AVL is thinned as the agent would). Throws
 *  on failure. */
void prefillOutbox(const std::string& storePath, const std::string& device, const std::string& unit,
                   const std::string& agency, int statuses, int avl, int64_t capBytes = int64_t(1) << 32,
                   int messages = 0);

/** cad-stub on its own SQLite store in dir (or a PostgreSQL database:
 *  setStore). Not thread-safe. */
class CadStub {
 public:
  CadStub(const TempDir& dir, std::string brokerUri, std::string name = "cad", std::vector<std::string> extraArgs = {});
  ~CadStub();

  /** Starts the process and waits for its control socket. */
  void start();
  /** Waits until the stub is connected and subscribed (cadctl stats says ready). */
  bool waitReady(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void stop();
  void kill9();
  bool running();
  const std::string& dbPath() const { return db_; }
  /** Puts the store on target (a postgresql:// URI) instead of dir/name.db,
   *  before start(); the files beside it stay in dir. */
  void setStore(std::string target);
  /** The running stub's pid (-1 when not started). */
  pid_t pid() const { return proc_ ? proc_->pid() : -1; }
  /** Environment of the next start() (e.g. CAD_STUB_FAULT). */
  std::vector<std::pair<std::string, std::string>> env;
  /** The cad-stub program the next start() runs (empty: this build's). */
  std::string binary;
  /** cadctl --db <db> args... */
  CommandResult cadctl(std::vector<std::string> args) const;
  /** Registers a device for a unit of an agency (throws when refused). */
  void addDevice(const std::string& device, const std::string& unit, const std::string& agency);
  /** Number of events in the log (cadctl count). */
  long long eventCount() const;
  std::string log() const;

 private:
  const TempDir& dir_;
  std::string broker_, name_, db_, ctl_, logPath_;
  bool sideFilesGiven_ = false;  ///< pass --control, --records, --ca-dir (a store that is not a file)
  std::vector<std::string> extra_;
  std::unique_ptr<Process> proc_;
};

/** The backend's events of one kind (e.g. "status"), counted by event id:
 *  total counts every stored event of that kind, so a duplicate shows as
 *  total above the map's size. */
std::map<std::string, int> eventsOfKind(const CadStub& stub, const std::string& kind, int& total);
/** How many events of this kind the log holds for the unit. */
int unitEventCount(const CadStub& stub, const std::string& kind, const std::string& unit);
/** The board's online flag of a unit (cadctl board); nullopt when the board does not show it. */
std::optional<bool> boardOnline(const CadStub& stub, const std::string& unit);

/** Agent arguments for a receiver parked at (lat, lon): a synthetic NMEA log
 *  in dir dated now, replayed in a loop (no gpsd needed). */
std::vector<std::string> gpsParkedAt(const TempDir& dir, const std::string& name, double lat, double lon);

/** mdc-agent for one device, with its store and socket in dir. Not thread-safe. */
class AgentProcess {
 public:
  AgentProcess(const TempDir& dir, std::string device, std::string unit, std::string agency, std::string brokerUri,
               std::vector<std::string> extraArgs = {});
  ~AgentProcess();

  /** Starts the process and waits for its socket. */
  void start();
  void stop();
  void kill9();
  bool running();
  const std::string& socketPath() const { return socket_; }
  const std::string& storePath() const { return store_; }
  /** The running process's pid (-1 when not started). */
  pid_t pid() const { return proc_ ? proc_->pid() : -1; }
  /** Environment of the next start() (e.g. NOTIFY_SOCKET). */
  std::vector<std::pair<std::string, std::string>> env;
  /** A command the next start() runs the agent under (e.g. ip netns exec NS). */
  std::vector<std::string> wrapper;
  /** mdcctl --socket <socket> args... */
  CommandResult mdcctl(std::vector<std::string> args) const;
  /** A fresh connection to the local API (throws when unreachable). */
  std::unique_ptr<agent::ApiClient> client() const;
  /** The agent's state (throws on failure). */
  v1::AgentState state() const;
  /** Total events in the outbox, from the state. */
  long long outboxDepth() const;
  std::string log() const;

 private:
  const TempDir& dir_;
  std::string device_, unit_, agency_, broker_, store_, socket_, logPath_;
  std::vector<std::string> extra_;
  std::unique_ptr<Process> proc_;
};

}  // namespace mdc::test
