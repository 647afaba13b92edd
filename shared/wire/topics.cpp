#include "shared/wire/topics.h"

namespace mdc::topics {

namespace {
constexpr std::string_view kPrefix = "cad/v1/dev/";
constexpr std::string_view kEdgePrefix = "cad/v1/edge/";
constexpr std::string_view kLivenessLeaf = "/liveness";

std::string make(std::string_view deviceId, std::string_view leaf) {
  std::string t;
  t.reserve(kPrefix.size() + deviceId.size() + 1 + leaf.size());
  t += kPrefix;
  t += deviceId;
  t += '/';
  t += leaf;
  return t;
}
}  // namespace

std::string up(std::string_view d) { return make(d, "up"); }
std::string down(std::string_view d) { return make(d, "down"); }
std::string presence(std::string_view d) { return make(d, "presence"); }
std::string beat(std::string_view d) { return make(d, "beat"); }
std::string allUp() { return make("+", "up"); }
std::string allPresence() { return make("+", "presence"); }
std::string allBeat() { return make("+", "beat"); }

std::string shared(std::string_view group, std::string_view filter) {
  std::string t = "$share/";
  t += group;
  t += '/';
  t += filter;
  return t;
}

std::string edgeLiveness(std::string_view edge) {
  std::string t(kEdgePrefix);
  t += edge;
  t += kLivenessLeaf;
  return t;
}
std::string allEdgeLiveness() { return edgeLiveness("+"); }

std::optional<std::string> parseEdgeLiveness(std::string_view topic) {
  if (topic.substr(0, kEdgePrefix.size()) != kEdgePrefix || topic.size() <= kEdgePrefix.size() + kLivenessLeaf.size() ||
      topic.substr(topic.size() - kLivenessLeaf.size()) != kLivenessLeaf)
    return std::nullopt;
  std::string_view edge = topic.substr(kEdgePrefix.size(), topic.size() - kEdgePrefix.size() - kLivenessLeaf.size());
  if (!isValidDeviceId(edge)) return std::nullopt;
  return std::string(edge);
}

bool isValidDeviceId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return id != "." && id != "..";
}

std::optional<Parsed> parse(std::string_view topic) {
  if (topic.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = topic.substr(kPrefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view device = rest.substr(0, slash);
  std::string_view leaf = rest.substr(slash + 1);
  if (!isValidDeviceId(device)) return std::nullopt;
  Kind kind;
  if (leaf == "up") kind = Kind::Up;
  else if (leaf == "down") kind = Kind::Down;
  else if (leaf == "presence") kind = Kind::Presence;
  else if (leaf == "beat") kind = Kind::Beat;
  else return std::nullopt;
  return Parsed{std::string(device), kind};
}

}  // namespace mdc::topics
