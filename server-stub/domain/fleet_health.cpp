#include "server-stub/domain/fleet_health.h"

namespace cad::fleet {

std::string ageText(int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms >= 86'400'000) return std::to_string(ms / 86'400'000) + "d";
  if (ms >= 3'600'000) return std::to_string(ms / 3'600'000) + "h";
  if (ms >= 60'000) return std::to_string(ms / 60'000) + "m";
  return std::to_string(ms / 1000) + "s";
}

std::vector<std::string> attention(const DeviceHealth& d, int64_t now, const Thresholds& t) {
  std::vector<std::string> out;
  if (d.certNotAfterMs > 0 && d.certNotAfterMs <= now) out.push_back("CERT-EXPIRED");
  else if (d.certNotAfterMs > 0 && d.certNotAfterMs - now <= t.certExpiringMs)
    out.push_back("CERT-EXPIRES " + ageText(d.certNotAfterMs - now));
  if (d.lastSeenMs == 0) out.push_back("NEVER-SEEN");
  else if (!d.online && now - d.lastSeenMs >= t.silentMs) out.push_back("SILENT " + ageText(now - d.lastSeenMs));
  if (d.queueDepth >= t.deepQueue) out.push_back("QUEUE " + std::to_string(d.queueDepth));
  if (d.online && d.healthAtMs > 0 && !d.gpsFix && d.gpsNoFixSinceMs > 0 && now - d.gpsNoFixSinceMs >= t.noFixMs)
    out.push_back("NO-GPS " + ageText(now - d.gpsNoFixSinceMs));
  return out;
}

}  // namespace cad::fleet
