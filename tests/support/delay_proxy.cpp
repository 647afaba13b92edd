#include "tests/support/delay_proxy.h"

#include "tests/support/sockets.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>
#include <vector>

namespace mdc::test {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxHeld = size_t(4) << 20;  // per direction, then reading stops

void nonBlocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

struct Chunk {
  Clock::time_point due;
  std::string data;
  size_t sent = 0;
};

/** One direction of a connection: bytes read from `from`, held, written to `to`. */
struct Flow {
  int from, to;
  std::deque<Chunk> held;
  size_t heldBytes = 0;
  bool eof = false;
};

struct Pair {
  Flow up, down;  // client -> target, target -> client
  bool dead = false;
};

/** Reads what is there into the flow, due `delay` from now; false on error. */
bool readInto(Flow& f, std::chrono::milliseconds delay, std::atomic<uint64_t>& counted) {
  char buf[16384];
  ssize_t n = ::read(f.from, buf, sizeof buf);
  if (n == 0) {
    f.eof = true;
    return true;
  }
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  counted += uint64_t(n);
  f.held.push_back(Chunk{Clock::now() + delay, std::string(buf, size_t(n))});
  f.heldBytes += size_t(n);
  return true;
}

/** Writes what is due; false on error. */
bool writeDue(Flow& f, Clock::time_point now) {
  while (!f.held.empty() && f.held.front().due <= now) {
    Chunk& c = f.held.front();
    ssize_t w = ::send(f.to, c.data.data() + c.sent, c.data.size() - c.sent, MSG_NOSIGNAL);
    if (w < 0) return errno == EAGAIN || errno == EINTR;
    c.sent += size_t(w);
    if (c.sent < c.data.size()) return true;  // the socket is full: later
    f.heldBytes -= c.data.size();
    f.held.pop_front();
  }
  return true;
}

}  // namespace

DelayProxy::DelayProxy(const std::string& listenAddress, uint16_t targetPort, int oneWayMs)
    : address_(listenAddress), target_(targetPort), oneWayMs_(oneWayMs) {
  listenFd_ = listenOn(listenAddress, &port_, "delay proxy");
  if (::pipe2(wakeFd_, O_CLOEXEC | O_NONBLOCK) != 0) {
    ::close(listenFd_);
    throw std::runtime_error(std::string("delay proxy: pipe: ") + std::strerror(errno));
  }
  thread_ = std::thread([this] { run(); });
}

DelayProxy::~DelayProxy() {
  stop_ = true;
  (void)!::write(wakeFd_[1], "x", 1);
  thread_.join();
  ::close(listenFd_);
  ::close(wakeFd_[0]);
  ::close(wakeFd_[1]);
}

std::string DelayProxy::uri() const { return "tcp://" + address_ + ":" + std::to_string(port_); }

void DelayProxy::cut() {
  ++cutRequests_;
  (void)!::write(wakeFd_[1], "x", 1);
}

void DelayProxy::run() {
  const std::chrono::milliseconds delay(oneWayMs_);
  std::vector<std::unique_ptr<Pair>> pairs;
  int cutsSeen = 0;
  auto close = [](Pair& p) {
    ::close(p.up.from);
    ::close(p.up.to);
    p.dead = true;
  };
  while (!stop_) {
    if (cutRequests_ != cutsSeen) {
      cutsSeen = cutRequests_;
      for (auto& p : pairs) close(*p);
      pairs.clear();
      ++cuts_;
    }
    // Wake for the first byte falling due, or at once for new input.
    auto now = Clock::now();
    int timeout = 200;
    for (auto& p : pairs)
      for (Flow* f : {&p->up, &p->down})
        if (!f->held.empty()) {
          auto ms = std::chrono::ceil<std::chrono::milliseconds>(f->held.front().due - now).count();
          timeout = std::min<int>(timeout, int(std::max<long long>(ms, 0)));
        }
    std::vector<pollfd> fds{{listenFd_, POLLIN, 0}, {wakeFd_[0], POLLIN, 0}};
    for (auto& p : pairs)
      for (Flow* f : {&p->up, &p->down}) {
        short ev = (f->heldBytes < kMaxHeld && !f->eof) ? POLLIN : 0;
        fds.push_back({f->from, ev, 0});
        // Writable interest only when something is due and waiting on a full socket.
        bool due = !f->held.empty() && f->held.front().due <= now;
        fds.push_back({f->to, short(due ? POLLOUT : 0), 0});
      }
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) {
      char drain[64];
      while (::read(wakeFd_[0], drain, sizeof drain) > 0) {
      }
    }
    size_t i = 2;
    for (auto& p : pairs)
      for (Flow* f : {&p->up, &p->down}) {
        const pollfd& in = fds[i++];
        ++i;  // the writable side: tried below whatever it says
        if (in.revents & (POLLIN | POLLHUP | POLLERR))
          if (!readInto(*f, delay, f == &p->up ? toTarget_ : fromTarget_)) p->dead = true;
      }
    now = Clock::now();
    for (auto& p : pairs) {
      if (p->dead) continue;
      if (!writeDue(p->up, now) || !writeDue(p->down, now)) p->dead = true;
      // A side that closed, once everything it sent has been delivered.
      if ((p->up.eof && p->up.held.empty()) || (p->down.eof && p->down.held.empty())) p->dead = true;
    }
    for (auto& p : pairs)
      if (p->dead) close(*p);
    std::erase_if(pairs, [](const auto& p) { return p->dead; });
    if (fds[0].revents & POLLIN) {
      int c = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        int u = connectLoopback(target_);
        if (u < 0) ::close(c);
        else {
          nonBlocking(u);
          nonBlocking(c);
          auto p = std::make_unique<Pair>();
          p->up.from = c;
          p->up.to = u;
          p->down.from = u;
          p->down.to = c;
          pairs.push_back(std::move(p));
        }
      }
    }
  }
  for (auto& p : pairs) close(*p);
}

}  // namespace mdc::test
