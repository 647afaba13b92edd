#include "tests/support/gpsd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "shared/infra/files.h"

namespace mdc::test {

namespace {
constexpr const char* kGpsd = "/usr/sbin/gpsd";
constexpr int kStartTimeoutMs = 10'000;
constexpr int kPortAttempts = 5;

std::string tail(const std::string& text, size_t n = 2000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

// The UTC time field of a sentence that carries one ("030719.000"), or "".
// A change of it marks a new epoch (one receiver fix cycle).
std::string epochTimeOf(const std::string& s) {
  if (s.size() < 7 || s[0] != '$') return {};
  std::string type = s.substr(3, 3);
  int field = (type == "GGA" || type == "RMC" || type == "ZDA" || type == "GNS") ? 1 : type == "GLL" ? 5 : -1;
  if (field < 0) return {};
  size_t pos = 0;
  for (int i = 0; i < field; ++i) {
    pos = s.find(',', pos);
    if (pos == std::string::npos) return {};
    ++pos;
  }
  size_t end = s.find_first_of(",*", pos);
  return s.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}
// True when the server on 127.0.0.1:port is a gpsd reading feedUrl: asks it
// for its devices, so a port another test's server took is not mistaken for ours.
bool isOurGpsd(uint16_t port, const std::string& feedUrl, int timeoutMs) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  timeval tv{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const char ask[] = "?DEVICES;\n";
  bool ours = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::send(fd, ask, sizeof ask - 1, MSG_NOSIGNAL) == ssize_t(sizeof ask - 1)) {
    std::string got;
    char buf[1024];
    const std::string want = "\"path\":\"" + feedUrl + "\"";
    while (!ours && got.size() < 65536) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, size_t(n));
      ours = got.find(want) != std::string::npos;
    }
  }
  ::close(fd);
  return ours;
}
}  // namespace

std::string gpsDataDir() {
  const char* v = std::getenv("MDC_GPS_DATA_DIR");
  return v && *v ? v : MDC_GPS_DATA_DIR_DEFAULT;
}

std::vector<std::string> readNmeaLog(const std::string& name) {
  std::string path = name.find('/') == std::string::npos ? gpsDataDir() + "/" + name : name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("readNmeaLog: cannot open \"" + path + "\"");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (line[0] != '$' && line[0] != '!') continue;
    out.push_back(line);
  }
  if (out.empty()) throw std::runtime_error("readNmeaLog: \"" + path + "\" holds no NMEA sentences");
  return out;
}

Gpsd::Gpsd(const TempDir& dir, GpsdFixtureOptions options)
    : dir_(dir.path()),
      opts_(std::move(options)),
      sentences_(readNmeaLog(opts_.log)),
      logPath_(dir.file("gpsd.log")),
      socketPath_(dir.file("gpsd.sock")) {
  listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listenFd_ < 0) throw std::runtime_error(std::string("Gpsd feeder: socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listenFd_, 8) != 0 ||
      ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    std::string err = std::strerror(errno);
    ::close(listenFd_);
    throw std::runtime_error("Gpsd feeder: listen on 127.0.0.1:0: " + err);
  }
  feederPort_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });

  port_ = freeLoopbackPort();
  if (!opts_.startGpsd) return;
  try {
    for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
      if (launch()) return;
      port_ = freeLoopbackPort();
    }
    throw std::runtime_error("Gpsd: no free port after " + std::to_string(kPortAttempts) + " attempts; log \"" +
                             logPath_ + "\":\n" + tail(log()));
  } catch (...) {
    stopping_ = true;
    cv_.notify_all();
    acceptor_.join();
    ::close(listenFd_);
    throw;
  }
}

Gpsd::~Gpsd() {
  if (proc_) proc_->stop(std::chrono::seconds(5));
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> servers;
  {
    std::lock_guard lock(mu_);
    servers.swap(servers_);
  }
  for (auto& t : servers) t.join();
  if (listenFd_ >= 0) ::close(listenFd_);
}

std::string Gpsd::log() const {
  auto r = files::read(logPath_);
  return r ? *r : std::string();
}

bool Gpsd::launch() {
  ::unlink(socketPath_.c_str());  // left behind by a killed gpsd
  std::vector<std::string> argv{kGpsd, "-N"};
  if (opts_.nowait) argv.push_back("-n");
  argv.insert(argv.end(), {"-S", std::to_string(port_), "-F", socketPath_,
                           "tcp://127.0.0.1:" + std::to_string(feederPort_)});
  const uint64_t logBefore = fileSize(logPath_);
  proc_ = std::make_unique<Process>(argv, logPath_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStartTimeoutMs);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out = readFileFrom(logPath_, logBefore);
    // gpsd keeps running when one of its listeners fails to bind (it also
    // listens on ::1): that port belongs to someone else, try another.
    if (out.find("can't bind") != std::string::npos || out.find("already in use") != std::string::npos) {
      proc_->kill9();
      proc_.reset();
      return false;
    }
    if (!proc_->alive()) {
      proc_.reset();
      throw std::runtime_error("Gpsd: " + std::string(kGpsd) + " exited at start on port " +
                               std::to_string(port_) + ":\n" + tail(out));
    }
    if (waitForTcp(port_, 50) && isOurGpsd(port_, "tcp://127.0.0.1:" + std::to_string(feederPort_), 500) &&
        proc_->alive())
      return true;
  }
  std::string out = readFileFrom(logPath_, logBefore);
  proc_->kill9();
  proc_.reset();
  throw std::runtime_error("Gpsd: 127.0.0.1:" + std::to_string(port_) + " not accepting after " +
                           std::to_string(kStartTimeoutMs) + " ms:\n" + tail(out));
}

bool Gpsd::running() { return proc_ && proc_->alive(); }

void Gpsd::start() {
  if (running()) return;
  if (!launch())
    throw std::runtime_error("Gpsd: start on port " + std::to_string(port_) + ": address already in use");
}

void Gpsd::stop() {
  if (proc_) proc_->stop(std::chrono::seconds(5));
  proc_.reset();
}

void Gpsd::kill9() {
  if (proc_) proc_->kill9();
  proc_.reset();
}

void Gpsd::restart() {
  stop();
  start();
}

void Gpsd::acceptLoop() {
  while (!stopping_) {
    pollfd p{listenFd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    std::lock_guard lock(mu_);
    servers_.emplace_back([this, fd] { serve(fd); });
  }
}

void Gpsd::serve(int fd) {
  // True when the peer has closed (or reset) the connection; drains what gpsd
  // may write to a receiver it probes, so its writes never block.
  auto peerGone = [fd] {
    char buf[512];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) continue;
      if (n == 0) return true;
      return !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    }
  };
  auto pause = [this](std::chrono::milliseconds d) {
    if (d.count() <= 0) return !stopping_.load();
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [this] { return stopping_.load(); });
  };

  bool open = true;
  std::string lastEpoch;
  size_t i = 0;
  while (open && !stopping_) {
    if (i == sentences_.size()) {
      if (!opts_.loop) break;
      i = 0;
    }
    const std::string& s = sentences_[i++];
    std::string epoch = epochTimeOf(s);
    if (!epoch.empty() && epoch != lastEpoch) {
      if (!lastEpoch.empty() && !pause(opts_.epochInterval)) break;
      lastEpoch = epoch;
    }
    std::string line = s + "\r\n";
    size_t off = 0;
    while (off < line.size()) {
      ssize_t n = ::send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        open = false;
        break;
      }
      off += size_t(n);
    }
    if (!open) break;
    ++sent_;
    if (peerGone() || !pause(opts_.sentenceInterval)) open = false;
  }
  // Log sent once: hold the connection quietly until gpsd closes it.
  while (open && !stopping_) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0 && peerGone()) break;
  }
  ::close(fd);
}

}  // namespace mdc::test
