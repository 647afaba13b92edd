#pragma once
// The deployment's mosquitto configuration, generated from the fleet CA: a TLS
// listener that requires a client certificate, takes the user name from its CN,
// checks the fleet CRL, and an ACL that pins each device to its own topics.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "shared/wire/codec.h"
#include "shared/wire/error.h"

namespace cad {

/** The broker's packet cap: the codec's largest message (a downlink) plus
 *  room for the MQTT fixed header, topic and properties. */
inline constexpr size_t kBrokerMaxPacketBytes = mdc::codec::kMaxDownlinkBytes + 1024;

struct BrokerConfigOptions {
  std::string outFile;       ///< mosquitto.conf; acl, broker and stub certificates go beside it
  uint16_t port = 8883;
  std::string bind;          ///< listener address; empty: all interfaces
  std::string caDir;         ///< the fleet CA (cadctl ca init)
  std::string serverSan = "IP:127.0.0.1,DNS:localhost";
  std::string logFile;       ///< empty: log to stderr
  int fleetSize = 1000;      ///< devices this broker serves: sizes the stub's queue (1..1,000,000)
  /** An edge broker: its name (the bridge's client id on the backbone) and
   *  the backbone's MQTT listeners (tcp:// or ssl://host:port), tried in
   *  turn. Empty: the single broker the stub itself connects to. */
  std::string edgeName;
  std::vector<std::string> bridgeTo;
};

/** An edge's bridge to the backbone: the devices' up and presence topics
 *  out, their down topics in (every edge gets every downlink and delivers
 *  those of the devices connected to it). Checks the addresses; the error
 *  names the one that is wrong. */
mdc::Result<std::string> bridgeSection(const std::string& edgeName, const std::vector<std::string>& bridgeTo,
                                       const std::string& caFile);

/** Messages a bridge may have unacknowledged on its way to the backbone:
 *  mosquitto's max_inflight_messages, global (bench_edge_bridge). */
inline constexpr int kBridgeInflight = 1000;

/** Events a device may have in flight awaiting commit acks: link.window's
 *  largest default (256) and the emergencies always let through (4). */
inline constexpr long kDeviceInFlightMax = 260;

/** max_queued_messages for a fleet: the stub's session must hold every
 *  device's window at once (after an outage every vehicle drains at the same
 *  time and the backend is at its limit); mosquitto's default, 1,000, would
 *  drop fresh events beyond it, to be sent again 20 s later. */
inline long brokerQueuedMessages(int fleetSize) { return std::max(1000L, long(fleetSize) * kDeviceInFlightMax); }

/** What broker-config wrote. */
struct BrokerConfigFiles {
  std::string config, acl, serverCert, serverKey, stubCert, stubKey;
};

/** Writes mosquitto.conf and its ACL, issues the broker's server certificate and
 *  the stub's client certificate (CN=cad-stub) from the fleet CA, and refreshes
 *  the CRL. Running as root, the config says `user root` (mosquitto would
 *  otherwise drop to its own user and fail to read the 0600 keys). */
mdc::Result<BrokerConfigFiles> writeBrokerConfig(const BrokerConfigOptions& options);

/** The ACL: devices readwrite cad/v1/dev/%u/#, the stub (user cad-stub) cad/v1/# and the broker's drop count. */
std::string brokerAcl();

}  // namespace cad
