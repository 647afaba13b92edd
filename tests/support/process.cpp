#include "tests/support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace mdc::test {

namespace {

int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// posix_spawn wants NUL-terminated arrays of char*; these own the strings.
std::vector<char*> cArray(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Process::Process(std::vector<std::string> argv, std::string logPath, Env env)
    : argv_(std::move(argv)), logPath_(std::move(logPath)) {
  if (argv_.empty()) throw std::runtime_error("Process: empty argv");

  // The environment: ours, with env's entries replacing or adding.
  std::map<std::string, std::string> merged;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> envStrings;
  for (auto& [k, v] : merged) envStrings.push_back(k + "=" + v);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, logPath_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);

  // The child starts with no blocked signals and default dispositions, whatever
  // the test runner set up for itself (an ignored SIGPIPE or SIGTERM would
  // otherwise be inherited across exec).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> args = argv_;
  auto cargv = cArray(args);
  auto cenv = cArray(envStrings);
  int rc = posix_spawnp(&pid_, args[0].c_str(), &fa, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("Process: cannot start \"" + argv_[0] + "\" (log \"" + logPath_ +
                             "\"): " + std::strerror(rc));
  }
}

Process::~Process() {
  if (pid_ > 0 && !exitCode_) stop(std::chrono::seconds(5));
}

std::string Process::name() const {
  std::string prog = argv_[0];
  auto slash = prog.find_last_of('/');
  if (slash != std::string::npos) prog = prog.substr(slash + 1);
  return prog + " (pid " + std::to_string(pid_) + ")";
}

std::string Process::log() const {
  std::ifstream in(logPath_, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Process::reap(int options) {
  if (exitCode_) return true;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, options);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exitCode_ = decodeStatus(status);
    return true;
  }
  if (r < 0 && errno == ECHILD) {  // reaped by someone else: treat as gone
    exitCode_ = -1;
    return true;
  }
  return false;
}

bool Process::alive() { return !reap(WNOHANG); }

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reap(WNOHANG)) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return exitCode_;
}

int Process::stop(std::chrono::milliseconds grace) {
  if (reap(WNOHANG)) return *exitCode_;
  ::kill(pid_, SIGTERM);
  if (auto code = wait(grace)) return *code;
  return kill9();
}

int Process::kill9() {
  if (reap(WNOHANG)) return *exitCode_;
  ::kill(pid_, SIGKILL);
  reap(0);
  return *exitCode_;
}

void Process::signal(int sig) {
  if (!reap(WNOHANG)) ::kill(pid_, sig);
}

std::string readFileFrom(const std::string& path, uint64_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in || !in.seekg(std::streamoff(offset))) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t fileSize(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : uint64_t(n);
}

uint16_t freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("freeLoopbackPort: socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    std::string err = std::strerror(errno);
    ::close(fd);
    throw std::runtime_error("freeLoopbackPort: bind 127.0.0.1:0: " + err);
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool waitForTcp(uint16_t port, int timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  for (;;) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(port);
      bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
      if (ok) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace mdc::test
