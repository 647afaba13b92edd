// TCP_NODELAY for every TCP connection this process opens, paho's included.
//
// paho.mqtt.c 1.3 never disables Nagle's algorithm and offers no socket-option
// hook. MQTT QoS 1 traffic is many small packets in both directions, so Nagle
// holding a write until the peer ACKs, and the peer delaying that ACK by up to
// 40 ms, adds 40-90 ms to every hop: a status took ~90 ms to reach the backend
// and its commit ack as long to return, on loopback. Defining connect() in the
// program interposes on the C library's for the shared libraries too (ELF
// symbol resolution finds the executable's definition first); it sets
// TCP_NODELAY on IPv4/IPv6 sockets and calls the real connect. Unix-domain
// sockets (the local API) are untouched.
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

namespace mdc::net {
/** Referenced by the MQTT client so this file is always linked with it. */
bool tcpNoDelayInstalled() { return true; }
}  // namespace mdc::net

extern "C" int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  using Connect = int (*)(int, const struct sockaddr*, socklen_t);
  static const Connect real = reinterpret_cast<Connect>(dlsym(RTLD_NEXT, "connect"));
  if (!real) {
    errno = ENOSYS;
    return -1;
  }
  if (addr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6)) {
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return real(fd, addr, len);
}
