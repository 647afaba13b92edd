#include "agent/api_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mdc::agent {

ApiClient::~ApiClient() {
  if (fd_ >= 0) ::close(fd_);
}

Status ApiClient::connect(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return Error::make("socket path \"" + path + "\" is too long");
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Error::make(std::string("socket: ") + std::strerror(errno));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd_);
    fd_ = -1;
    return Error::make("cannot reach mdc-agent at \"" + path + "\": " + std::strerror(e) +
                       (e == ENOENT || e == ECONNREFUSED ? " (is the agent running?)" : ""));
  }
  return {};
}

Status ApiClient::sendRaw(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::make(std::string("local API: send failed: ") + std::strerror(errno));
    }
    off += size_t(n);
  }
  return {};
}

Status ApiClient::sendFrame(const std::string& payload) { return sendRaw(frame::encode(payload)); }

std::optional<v1::AgentMessage> ApiClient::next(std::chrono::milliseconds timeout) {
  if (stashed_) {
    auto m = std::move(stashed_);
    stashed_.reset();
    return m;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string f;
  for (;;) {
    auto r = reader_.next(f);
    if (r == frame::Reader::Next::Frame) {
      v1::AgentMessage m;
      if (m.ParseFromString(f)) return m;
      continue;
    }
    if (r == frame::Reader::Next::TooLarge) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || fd_ < 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    int pr = ::poll(&p, 1, int(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) return std::nullopt;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      ::close(fd_);
      fd_ = -1;
      return std::nullopt;
    }
    reader_.feed(std::string_view(buf, size_t(n)));
  }
}

Result<v1::ApiReply> ApiClient::call(v1::ApiRequest request, std::chrono::milliseconds timeout) {
  if (fd_ < 0) return Error::make("local API: not connected");
  request.set_request_id(nextId_++);
  if (Status s = sendFrame(request.SerializeAsString()); !s) return s.error();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error::make("local API: no reply from mdc-agent within " +
                                              std::to_string(timeout.count()) + " ms");
    auto m = next(left);
    if (!m) return Error::make(fd_ < 0 ? "local API: mdc-agent closed the connection"
                                       : "local API: no reply from mdc-agent within " + std::to_string(timeout.count()) + " ms");
    if (m->has_reply() && m->reply().request_id() == request.request_id()) return m->reply();
    if (m->has_reply() && m->reply().request_id() == 0 && !m->reply().ok()) return m->reply();
    // A pushed state arrived first: it is dropped here; subscribers read next().
  }
}

}  // namespace mdc::agent
