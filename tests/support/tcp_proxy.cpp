#include "tests/support/tcp_proxy.h"

#include "tests/support/sockets.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace mdc::test {

namespace {

/** Copies what is readable from one socket to the other, counting it; false at EOF or error. */
bool pipeOnce(int from, int to, std::atomic<uint64_t>& counted) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return false;
  counted += uint64_t(n);
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(to, buf + off, size_t(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    off += w;
  }
  return true;
}

}  // namespace

TcpProxy::TcpProxy(uint16_t targetPort) : target_(targetPort) {
  listenFd_ = listenOn("127.0.0.1", &port_, "tcp proxy");
  if (::pipe2(wakeFd_, O_CLOEXEC | O_NONBLOCK) != 0) {
    ::close(listenFd_);
    throw std::runtime_error(std::string("tcp proxy: pipe: ") + std::strerror(errno));
  }
  thread_ = std::thread([this] { run(); });
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  (void)!::write(wakeFd_[1], "x", 1);
  thread_.join();
  ::close(listenFd_);
  ::close(wakeFd_[0]);
  ::close(wakeFd_[1]);
}

std::string TcpProxy::uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

void TcpProxy::setUp(bool up) {
  up_ = up;
  (void)!::write(wakeFd_[1], "x", 1);
}

void TcpProxy::run() {
  std::vector<std::pair<int, int>> pairs;  // (accepted, upstream)
  auto closeAll = [&] {
    for (auto [a, b] : pairs) {
      ::close(a);
      ::close(b);
    }
    pairs.clear();
  };
  while (!stop_) {
    if (!up_) closeAll();
    std::vector<pollfd> fds{{listenFd_, POLLIN, 0}, {wakeFd_[0], POLLIN, 0}};
    for (auto [a, b] : pairs) {
      fds.push_back({a, POLLIN, 0});
      fds.push_back({b, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 200) < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) {
      char drain[64];
      while (::read(wakeFd_[0], drain, sizeof drain) > 0) {
      }
    }
    const size_t polled = pairs.size();  // fds holds these; one accepted below is polled next time
    if (fds[0].revents & POLLIN) {
      int c = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        int u = up_ ? connectLoopback(target_) : -1;
        if (u < 0) ::close(c);
        else {
          pairs.emplace_back(c, u);
          ++forwarded_;
        }
      }
    }
    std::vector<std::pair<int, int>> keep;
    for (size_t i = 0; i < pairs.size(); ++i) {
      auto [a, b] = pairs[i];
      if (i >= polled) {
        keep.emplace_back(a, b);
        continue;
      }
      const pollfd& pa = fds[2 + 2 * i];
      const pollfd& pb = fds[3 + 2 * i];
      bool ok = true;
      if (pa.revents & (POLLIN | POLLHUP | POLLERR)) ok = pipeOnce(a, b, toTarget_);
      if (ok && (pb.revents & (POLLIN | POLLHUP | POLLERR))) ok = pipeOnce(b, a, fromTarget_);
      if (ok) keep.emplace_back(a, b);
      else {
        ::close(a);
        ::close(b);
      }
    }
    pairs.swap(keep);
  }
  closeAll();
}

}  // namespace mdc::test
