#include "tests/bench/mqtt_load.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace mdc::bench {
namespace {

constexpr uint8_t kConnect = 0x10, kConnack = 0x20, kPublish = 0x30, kPuback = 0x40, kSubscribe = 0x82,
                  kSuback = 0x90, kPingreq = 0xC0, kPingresp = 0xD0;
constexpr auto kHandshakeTimeout = std::chrono::seconds(30);

void putLength(std::string& out, size_t n) {
  do {
    uint8_t b = n % 128;
    n /= 128;
    if (n) b |= 0x80;
    out.push_back(char(b));
  } while (n);
}

void putU16(std::string& out, uint16_t v) {
  out.push_back(char(v >> 8));
  out.push_back(char(v & 0xff));
}

void putString(std::string& out, std::string_view s) {
  putU16(out, uint16_t(s.size()));
  out.append(s);
}

std::string frame(uint8_t header, const std::string& body) {
  std::string out(1, char(header));
  putLength(out, body.size());
  return out + body;
}

uint16_t u16(std::string_view s, size_t at) { return uint16_t(uint8_t(s[at]) << 8 | uint8_t(s[at + 1])); }

}  // namespace

struct MqttLoad::Conn {
  enum class State { idle, connecting, handshake, up, closed };
  uint16_t port = 0;
  std::string clientId, subscribe;
  bool clean = true;
  State state = State::idle;
  bool everUp = false;  ///< was up once (a loss, not a refusal, when it closes)
  int fd = -1;
  bool wantOut = false;
  std::string in, out;
  uint16_t nextId = 1;
  std::vector<std::pair<uint16_t, Clock::time_point>> inflight;
  Clock::time_point started, lastSent;
};

MqttLoad::MqttLoad(Handler handler, int keepAliveS) : handler_(std::move(handler)), keepAliveS_(keepAliveS) {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) throw std::runtime_error(std::string("mqtt load: epoll: ") + std::strerror(errno));
  lastPingSweep_ = Clock::now();
}

MqttLoad::~MqttLoad() {
  for (auto& c : conns_)
    if (c.fd >= 0) ::close(c.fd);
  if (epoll_ >= 0) ::close(epoll_);
}

size_t MqttLoad::add(uint16_t port, std::string clientId, bool cleanSession, std::string subscribe) {
  Conn c;
  c.port = port;
  c.clientId = std::move(clientId);
  c.clean = cleanSession;
  c.subscribe = std::move(subscribe);
  conns_.push_back(std::move(c));
  return conns_.size() - 1;
}

size_t MqttLoad::size() const { return conns_.size(); }
bool MqttLoad::up(size_t conn) const { return conns_[conn].state == Conn::State::up; }
size_t MqttLoad::inFlight(size_t conn) const { return conns_[conn].inflight.size(); }

void MqttLoad::open(size_t i) {
  Conn& c = conns_[i];
  c.started = Clock::now();
  c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    c.state = Conn::State::closed;
    ++stats_.refused;
    return;
  }
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(c.port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 && errno != EINPROGRESS) {
    ::close(c.fd);
    c.fd = -1;
    c.state = Conn::State::closed;
    ++stats_.refused;
    return;
  }
  c.state = Conn::State::connecting;
  c.wantOut = true;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u64 = i;
  epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
}

void MqttLoad::close(size_t i, bool counted) {
  Conn& c = conns_[i];
  if (c.fd >= 0) {
    epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
  }
  if (c.state == Conn::State::up) {
    c.everUp = true;
    --stats_.connected;
    if (counted) ++stats_.lost;
  } else if (c.state != Conn::State::closed) {
    ++stats_.refused;
  }
  c.state = Conn::State::closed;
  c.inflight.clear();
  c.out.clear();
  c.in.clear();
}

void MqttLoad::watch(size_t i) {
  Conn& c = conns_[i];
  const bool want = !c.out.empty();
  if (want == c.wantOut || c.fd < 0) return;
  c.wantOut = want;
  epoll_event ev{};
  ev.events = uint32_t(EPOLLIN) | (want ? uint32_t(EPOLLOUT) : 0u);
  ev.data.u64 = i;
  epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
}

void MqttLoad::send(size_t i, std::string bytes) {
  Conn& c = conns_[i];
  c.out += bytes;
  c.lastSent = Clock::now();
  flush(i);
}

void MqttLoad::flush(size_t i) {
  Conn& c = conns_[i];
  if (c.state == Conn::State::connecting || c.fd < 0) return;
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, size_t(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    close(i, true);
    return;
  }
  watch(i);
}

uint16_t MqttLoad::publish(size_t conn, std::string_view topic, std::string_view payload) {
  Conn& c = conns_[conn];
  if (c.state != Conn::State::up) return 0;
  uint16_t id = c.nextId++;
  if (c.nextId == 0) c.nextId = 1;
  std::string body;
  body.reserve(topic.size() + payload.size() + 4);
  putString(body, topic);
  putU16(body, id);
  body.append(payload);
  c.inflight.emplace_back(id, Clock::now());
  ++stats_.published;
  send(conn, frame(kPublish | 0x02, body));
  return id;
}

bool MqttLoad::beat(size_t conn, std::string_view topic) {
  Conn& c = conns_[conn];
  if (c.state != Conn::State::up) return false;
  std::string body;
  putString(body, topic);
  ++stats_.beats;
  send(conn, frame(kPublish, body));  // QoS 0: no packet id, nothing comes back
  return true;
}

bool MqttLoad::packet(size_t i, uint8_t header, std::string_view body) {
  Conn& c = conns_[i];
  switch (header & 0xf0) {
    case kConnack:
      if (body.size() < 2 || body[1] != 0) return false;
      if (!c.subscribe.empty()) {
        std::string sub;
        putU16(sub, 1);
        putString(sub, c.subscribe);
        sub.push_back(1);
        send(i, frame(kSubscribe, sub));
        return true;
      }
      c.state = Conn::State::up;
      ++stats_.connected;
      return true;
    case kSuback:
      if (body.size() < 3 || uint8_t(body[2]) == 0x80) return false;
      c.state = Conn::State::up;
      ++stats_.connected;
      return true;
    case kPuback: {
      if (body.size() < 2) return false;
      uint16_t id = u16(body, 0);
      auto it = std::find_if(c.inflight.begin(), c.inflight.end(), [&](const auto& p) { return p.first == id; });
      if (it != c.inflight.end()) {
        auto sentAt = it->second;
        c.inflight.erase(it);
        ++stats_.acked;
        if (handler_.puback) handler_.puback(i, id, sentAt);
      }
      return true;
    }
    case kPublish: {
      const int qos = (header >> 1) & 3;
      if (body.size() < 2) return false;
      size_t tl = u16(body, 0);
      if (body.size() < 2 + tl + (qos ? 2 : 0)) return false;
      std::string_view topic = body.substr(2, tl);
      size_t at = 2 + tl;
      uint16_t id = 0;
      if (qos) {
        id = u16(body, at);
        at += 2;
      }
      ++stats_.received;
      if (handler_.message) handler_.message(i, topic, body.substr(at));
      if (qos == 1) {
        std::string ack;
        putU16(ack, id);
        send(i, frame(kPuback, ack));
      }
      return qos < 2;
    }
    case kPingresp:
      return true;
    default:
      return false;
  }
}

void MqttLoad::readable(size_t i) {
  Conn& c = conns_[i];
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.in.append(buf, size_t(n));
      if (size_t(n) < sizeof buf) break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    close(i, true);  // closed by the broker, or an error
    return;
  }
  size_t at = 0;
  while (c.in.size() - at >= 2) {
    size_t len = 0, k = at + 1;
    int shift = 0;
    bool complete = false;
    while (k < c.in.size() && shift <= 21) {
      uint8_t b = uint8_t(c.in[k++]);
      len |= size_t(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) {
        complete = true;
        break;
      }
    }
    if (!complete || c.in.size() - k < len) break;
    if (!packet(i, uint8_t(c.in[at]), std::string_view(c.in).substr(k, len))) {
      close(i, true);
      return;
    }
    if (c.fd < 0) return;
    at = k + len;
  }
  c.in.erase(0, at);
}

void MqttLoad::poll(int timeoutMs) {
  epoll_event events[512];
  int n = epoll_wait(epoll_, events, 512, timeoutMs);
  for (int k = 0; k < n; ++k) {
    size_t i = events[k].data.u64;
    Conn& c = conns_[i];
    if (c.fd < 0) continue;
    if (c.state == Conn::State::connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err || (events[k].events & (EPOLLERR | EPOLLHUP))) {
        close(i, false);
        continue;
      }
      c.state = Conn::State::handshake;
      std::string body;
      putString(body, "MQTT");
      body.push_back(4);  // 3.1.1
      body.push_back(char(c.clean ? 0x02 : 0x00));
      putU16(body, uint16_t(keepAliveS_));
      putString(body, c.clientId);
      send(i, frame(kConnect, body));
      continue;
    }
    if (events[k].events & EPOLLOUT) flush(i);
    if (c.fd >= 0 && (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) readable(i);
  }
  // Pings: a sweep a second over every connection quiet for half the keep-alive.
  auto now = Clock::now();
  if (now - lastPingSweep_ >= std::chrono::seconds(1)) {
    lastPingSweep_ = now;
    const auto quiet = std::chrono::seconds(std::max(1, keepAliveS_ / 2));
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      if (c.state == Conn::State::up && now - c.lastSent >= quiet) send(i, std::string{char(kPingreq), 0});
      if ((c.state == Conn::State::connecting || c.state == Conn::State::handshake) && now - c.started > kHandshakeTimeout)
        close(i, false);
    }
  }
}

size_t MqttLoad::connectAll(int window, std::chrono::seconds timeout, const std::function<void(size_t)>& progress) {
  auto t0 = Clock::now(), lastReport = t0;
  // Up to five rounds: a connection refused or timed out in one is tried
  // again in the next, as a device would.
  for (int round = 0; round < 5 && stats_.connected < conns_.size(); ++round) {
    std::vector<size_t> todo;
    for (size_t i = 0; i < conns_.size(); ++i) {
      if (conns_[i].state == Conn::State::closed && !conns_[i].everUp) {
        conns_[i].state = Conn::State::idle;
        ++stats_.retried;
      }
      if (conns_[i].state == Conn::State::idle) todo.push_back(i);
    }
    size_t next = 0;
    for (;;) {
      size_t pending = 0;
      for (size_t k = 0; k < next; ++k) {
        const auto st = conns_[todo[k]].state;
        if (st == Conn::State::connecting || st == Conn::State::handshake) ++pending;
      }
      while (next < todo.size() && pending < size_t(window)) {
        open(todo[next++]);
        ++pending;
      }
      poll(10);
      auto now = Clock::now();
      if (progress && now - lastReport >= std::chrono::seconds(1)) {
        lastReport = now;
        progress(stats_.connected);
      }
      if (next == todo.size() && pending == 0) break;
      if (now - t0 > timeout) return stats_.connected;
    }
  }
  return stats_.connected;
}

}  // namespace mdc::bench
