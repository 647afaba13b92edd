#include "tests/integration/agent/fake_broker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace mdc::test {

namespace {

bool readExact(int fd, uint8_t* buf, size_t n, const std::atomic<bool>& stop) {
  size_t got = 0;
  while (got < n) {
    if (stop) return false;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    if (r <= 0) continue;
    ssize_t k = ::recv(fd, buf + got, n - got, 0);
    if (k <= 0) return false;
    got += size_t(k);
  }
  return true;
}

bool sendAll(int fd, const std::string& data) {
  return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == ssize_t(data.size());
}

// MQTT variable byte integer.
size_t readVarInt(const std::string& b, size_t& off) {
  size_t value = 0, mult = 1;
  while (off < b.size()) {
    uint8_t c = uint8_t(b[off++]);
    value += (c & 0x7f) * mult;
    if (!(c & 0x80)) break;
    mult *= 128;
  }
  return value;
}

}  // namespace

FakeBroker::FakeBroker(Script script) : script_(std::move(script)) {
  listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listenFd_, 4) != 0)
    throw std::runtime_error("FakeBroker: cannot listen on loopback");
  socklen_t len = sizeof a;
  ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { run(); });
}

FakeBroker::~FakeBroker() {
  stop_ = true;
  thread_.join();
  ::close(listenFd_);
}

std::vector<FakePublish> FakeBroker::publishes() const {
  std::lock_guard lock(mu_);
  return publishes_;
}

bool FakeBroker::waitFor(const std::function<bool(const std::vector<FakePublish>&)>& pred, int timeoutMs) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] { return pred(publishes_); });
}

void FakeBroker::run() {
  while (!stop_) {
    pollfd p{listenFd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int n = ++connections_;
    serve(fd, n);  // one client at a time: the agent
    ::close(fd);
  }
}

void FakeBroker::serve(int fd, int connection) {
  for (;;) {
    uint8_t h = 0;
    if (!readExact(fd, &h, 1, stop_)) return;
    size_t remaining = 0, mult = 1;
    for (;;) {
      uint8_t c = 0;
      if (!readExact(fd, &c, 1, stop_)) return;
      remaining += (c & 0x7f) * mult;
      if (!(c & 0x80)) break;
      mult *= 128;
    }
    std::string body(remaining, '\0');
    if (remaining && !readExact(fd, reinterpret_cast<uint8_t*>(body.data()), remaining, stop_)) return;
    switch (h >> 4) {
      case 1:  // CONNECT -> CONNACK; the session is "present" from the second connection on
        sendAll(fd, std::string{char(0x20), char(0x03), char(connection > 1 ? 1 : 0), char(0x00), char(0x00)});
        break;
      case 8: {  // SUBSCRIBE -> SUBACK granting QoS 1
        std::string ack{char(0x90), char(0x04), body[0], body[1], char(0x00), char(0x01)};
        sendAll(fd, ack);
        break;
      }
      case 3: {  // PUBLISH
        FakePublish pub;
        pub.dup = (h & 0x08) != 0;
        int qos = (h >> 1) & 3;
        size_t off = 0;
        size_t tlen = (uint8_t(body[0]) << 8) | uint8_t(body[1]);
        pub.topic = body.substr(2, tlen);
        off = 2 + tlen;
        if (qos > 0) {
          pub.packetId = uint16_t((uint8_t(body[off]) << 8) | uint8_t(body[off + 1]));
          off += 2;
        }
        size_t propLen = readVarInt(body, off);
        off += propLen;
        pub.payload = body.substr(off);
        pub.connection = connection;
        Action action = script_(pub);
        {
          std::lock_guard lock(mu_);
          publishes_.push_back(pub);
        }
        cv_.notify_all();
        if (action == Action::DropConnection) return;
        if (qos > 0)
          sendAll(fd, std::string{char(0x40), char(0x02), char(pub.packetId >> 8), char(pub.packetId & 0xff)});
        break;
      }
      case 12:  // PINGREQ
        sendAll(fd, std::string{char(0xd0), char(0x00)});
        break;
      case 14:  // DISCONNECT
        return;
      default:
        break;
    }
  }
}

}  // namespace mdc::test
