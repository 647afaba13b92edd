#pragma once
// A TCP forwarder that holds every byte for a fixed time in each direction:
// the round trip of a cellular link, for benchmarks (bandwidth comes from tc
// on a network interface; see tests/bench/bench_link.cpp). Order is kept;
// each direction buffers at most 4 MiB, then stops reading, so a slow side
// pushes back as a real link does. Thread-safety: the methods may be called
// from any one thread; forwarding runs on a thread of its own.
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace mdc::test {

class DelayProxy {
 public:
  /** Listens on listenAddress (IPv4, a free port) and forwards each connection
   *  to 127.0.0.1:targetPort, each byte oneWayMs later in either direction.
   *  Throws std::runtime_error when it cannot listen. */
  DelayProxy(const std::string& listenAddress, uint16_t targetPort, int oneWayMs);
  ~DelayProxy();
  DelayProxy(const DelayProxy&) = delete;
  DelayProxy& operator=(const DelayProxy&) = delete;

  uint16_t port() const { return port_; }
  /** "tcp://<listen address>:<port>". */
  std::string uri() const;
  /** Closes every forwarded connection now (a cell handover gone wrong); new
   *  connections are accepted as before. */
  void cut();
  int cuts() const { return cuts_; }
  /** Bytes forwarded so far: from clients to the target, and back. */
  uint64_t bytesToTarget() const { return toTarget_; }
  uint64_t bytesFromTarget() const { return fromTarget_; }

 private:
  void run();
  std::string address_;
  uint16_t target_;
  int oneWayMs_;
  uint16_t port_ = 0;
  int listenFd_ = -1;
  int wakeFd_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<int> cutRequests_{0};
  int cuts_ = 0;
  std::atomic<uint64_t> toTarget_{0}, fromTarget_{0};
  std::thread thread_;
};

}  // namespace mdc::test
