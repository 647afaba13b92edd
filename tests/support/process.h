#pragma once
// Child processes for integration tests (mosquitto, gpsd, the project's own
// programs), and the loopback-port helpers that let tests run in parallel.
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mdc::test {

/** A running program whose stdout and stderr go to one log file. The
 *  destructor stops it (SIGTERM, then SIGKILL). Not thread-safe: one owning
 *  thread calls its methods. */
class Process {
 public:
  using Env = std::vector<std::pair<std::string, std::string>>;

  /** Starts argv[0] (a path, or a name looked up on PATH) with this process's
   *  environment plus env (which overrides), stdin from /dev/null and
   *  stdout+stderr appended to logPath. Throws std::runtime_error naming the
   *  program when it cannot be started. */
  Process(std::vector<std::string> argv, std::string logPath, Env env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  /** The child's process id (still valid for messages after it exited). */
  pid_t pid() const { return pid_; }
  /** "mosquitto (pid 1234)", for messages. */
  std::string name() const;
  /** Where its stdout and stderr go. */
  const std::string& logPath() const { return logPath_; }
  /** The log file's content so far ("" when unreadable), for failure messages. */
  std::string log() const;

  /** True until the process has exited (reaps it when it has). */
  bool alive();
  /** Waits up to timeout for the exit; returns the exit code (128+N when
   *  killed by signal N), or nullopt when it is still running. */
  std::optional<int> wait(std::chrono::milliseconds timeout);
  /** SIGTERM, wait up to grace, then SIGKILL; returns the exit code as wait()
   *  does. Returns at once with the old code when it has already exited. */
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  /** SIGKILL and reap: the program gets no chance to clean up. */
  int kill9();
  /** Sends any signal (SIGSTOP to freeze a peer, SIGHUP to reload, ...). */
  void signal(int sig);

 private:
  bool reap(int options);

  std::vector<std::string> argv_;
  std::string logPath_;
  pid_t pid_ = -1;
  std::optional<int> exitCode_;
};

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice for
 *  port 0). Another process may still take it before the caller binds it:
 *  fixtures that start servers on it retry with a new port when the bind fails. */
uint16_t freeLoopbackPort();

/** Waits until something accepts TCP connections on 127.0.0.1:port; false after timeoutMs. */
bool waitForTcp(uint16_t port, int timeoutMs);

/** The bytes of path from offset on ("" when missing or shorter): for
 *  watching what a server has logged since it was started. */
std::string readFileFrom(const std::string& path, uint64_t offset);
/** path's size in bytes, 0 when missing. */
uint64_t fileSize(const std::string& path);

/** Polls pred until it is true; false after timeout. Polls every 5 ms at
 *  first, backing off to 100 ms: a predicate that asks a process (a state
 *  request, a cadctl run) must not load the process it is waiting for. */
template <class Pred>
bool waitUntil(Pred pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(5);
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 3 / 2 + std::chrono::milliseconds(1), std::chrono::milliseconds(100));
  }
  return true;
}

}  // namespace mdc::test
