#pragma once
// The few socket calls the test proxies share.
#include <cstdint>
#include <string>

namespace mdc::test {

/** A listening TCP socket on ipv4Address and a free port (written to *port).
 *  Throws std::runtime_error naming `who` and the address when it cannot. */
int listenOn(const std::string& ipv4Address, uint16_t* port, const std::string& who);
/** A connected socket to 127.0.0.1:port, or -1. */
int connectLoopback(uint16_t port);

}  // namespace mdc::test
