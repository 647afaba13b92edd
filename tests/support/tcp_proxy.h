#pragma once
// A TCP forwarder on a free loopback port, for cutting one process's link to
// a server while the others keep theirs (the stub's link to the broker, with
// the vehicles connected directly). Thread-safety: the methods may be called
// from any one thread; forwarding runs on a thread of its own.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace mdc::test {

class TcpProxy {
 public:
  /** Listens on 127.0.0.1 (a free port) and forwards each connection to
   *  127.0.0.1:targetPort. Throws std::runtime_error when it cannot listen. */
  explicit TcpProxy(uint16_t targetPort);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  uint16_t port() const { return port_; }
  /** "tcp://127.0.0.1:<port>". */
  std::string uri() const;
  /** Down: every forwarded connection is closed at once and new ones are
   *  closed as soon as they are accepted. Up: forwarding as before. */
  void setUp(bool up);
  /** Connections accepted and forwarded so far. */
  int forwarded() const { return forwarded_; }
  /** Bytes forwarded so far: from clients to the target, and back. */
  uint64_t bytesToTarget() const { return toTarget_; }
  uint64_t bytesFromTarget() const { return fromTarget_; }

 private:
  void run();
  uint16_t target_;
  uint16_t port_ = 0;
  int listenFd_ = -1;
  int wakeFd_[2] = {-1, -1};
  std::atomic<bool> up_{true};
  std::atomic<bool> stop_{false};
  std::atomic<int> forwarded_{0};
  std::atomic<uint64_t> toTarget_{0}, fromTarget_{0};
  std::thread thread_;
};

}  // namespace mdc::test
