#include "server-stub/cli/cadctl_command.h"

#include <QJsonDocument>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "server-stub/cli/cadctl_print.h"

namespace cad::cli {

std::string Invocation::opt(const std::string& name, const std::string& fallback) const {
  auto it = a.opts.find(name);
  return it == a.opts.end() ? fallback : it->second;
}

QJsonObject Invocation::request(const char* kind) const {
  return QJsonObject{{"cmd", kind}, {"agency", QString::fromStdString(agency)}, {"actor", QString::fromStdString(actor)}};
}

int usage(const std::string& why) {
  std::cerr << "cadctl: " << why << "\n(see cadctl --help)\n";
  return kUsage;
}

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

namespace {

// The reply line, or what came before the 30 s deadline or the stub's close.
std::string readReply(int fd) {
  std::string reply;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (reply.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, size_t(n));
  }
  return reply;
}

}  // namespace

int control(const std::string& path, const QJsonObject& request, bool printStats) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return usage("--control \"" + path + "\": path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::cerr << "cadctl: cannot reach the stub at \"" << path << "\": " << std::strerror(errno)
              << " (is cad-stub running?)\n";
    if (fd >= 0) ::close(fd);
    return kUnreachable;
  }
  std::string line = QJsonDocument(request).toJson(QJsonDocument::Compact).toStdString() + "\n";
  (void)::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
  std::string reply = readReply(fd);
  ::close(fd);
  QJsonObject r = QJsonDocument::fromJson(QByteArray::fromStdString(reply)).object();
  if (r.isEmpty()) {
    std::cerr << "cadctl: no reply from the stub\n";
    return kUnreachable;
  }
  if (!r.value("ok").toBool()) {
    std::cerr << "cadctl: refused: " << r.value("error").toString().toStdString() << "\n";
    return kFailed;
  }
  if (printStats) printJson(r.value("stats"));
  else std::cout << r.value("result").toString().toStdString() << "\n";
  return kOk;
}

std::optional<int64_t> countOption(const Args& a, const std::string& name, int64_t fallback, int64_t min, int64_t max) {
  auto it = a.opts.find(name);
  if (it == a.opts.end()) return fallback;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end || errno == ERANGE || v < min || v > max) {
    usage(name + " \"" + it->second + "\": expected a whole number " + std::to_string(min) + "-" + std::to_string(max));
    return std::nullopt;
  }
  return v;
}

int withStore(const Invocation& inv, const std::function<int(EventStore&)>& read) {
  auto store = EventStore::open(inv.dbPath, /*readOnly=*/true);
  if (!store) {
    std::cerr << "cadctl: " << store.error().message << "\n";
    return kUnreachable;
  }
  return read(**store);
}

int unknownCommand(const Invocation& inv) {
  return withStore(inv, [&](EventStore&) { return usage("unknown command \"" + inv.a.pos[0] + "\""); });
}

}  // namespace cad::cli
