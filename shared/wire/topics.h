#pragma once
// MQTT topic names, built and parsed here only.
#include <optional>
#include <string>
#include <string_view>

namespace mdc::topics {

enum class Kind { Up, Down, Presence, Beat };

/** "cad/v1/dev/{device}/up" etc. The device id must be valid (see isValidDeviceId). */
std::string up(std::string_view deviceId);
std::string down(std::string_view deviceId);
std::string presence(std::string_view deviceId);
/** "cad/v1/dev/{device}/beat": an empty QoS 0 message a device sends when it
 *  has sent nothing else for a while, so the backend hears a silent one
 *  (frozen, out of coverage with its connection still open) within seconds.
 *  Never stored. */
std::string beat(std::string_view deviceId);

/** Subscription filters for the backend: every device's up / presence / beat topic. */
std::string allUp();
std::string allPresence();
std::string allBeat();
/** The same, as an MQTT v5 shared subscription of group (several stub instances share the ingest). */
std::string shared(std::string_view group, std::string_view filter);

/** "cad/v1/edge/{edge}/liveness": an edge watcher's EdgeLiveness notices. The
 *  edge name follows the device id's rules. */
std::string edgeLiveness(std::string_view edge);
std::string allEdgeLiveness();
/** The edge of an edge liveness topic; nullopt for any other topic. */
std::optional<std::string> parseEdgeLiveness(std::string_view topic);

struct Parsed {
  std::string deviceId;
  Kind kind;
};
/** Splits a concrete topic; nullopt when it is not one of ours or its device id is invalid. */
std::optional<Parsed> parse(std::string_view topic);

/** Device ids: 1..64 characters of [A-Za-z0-9._-], so they are safe in topics, file names and certificate CNs. */
bool isValidDeviceId(std::string_view id);

}  // namespace mdc::topics
