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

std::vector<DeviceHealth> readFleet(EventStore& s, const std::string& agency) {
  auto st = s.db().prepare(
      "SELECT d.device_id, d.unit_id, d.agency, d.agent_version, COALESCE(u.online, 0), COALESCE(u.last_seen_ms, 0), "
      "d.health_at_ms, d.queue_depth, d.queue_oldest_ms, d.cert_not_after_ms, d.gps_fix, d.gps_no_fix_since_ms "
      "FROM devices d LEFT JOIN units u ON u.unit_id = d.unit_id AND u.device_id = d.device_id "
      "WHERE (?1 = '' OR d.agency = ?1) ORDER BY d.device_id");
  st.bind(1, agency);
  std::vector<DeviceHealth> out;
  while (st.step()) {
    DeviceHealth d;
    d.device = st.text(0);
    d.unit = st.text(1);
    d.agency = st.text(2);
    d.agentVersion = st.text(3);
    d.online = st.i64(4) == 1;
    d.lastSeenMs = st.i64(5);
    d.healthAtMs = st.i64(6);
    d.queueDepth = st.i64(7);
    d.queueOldestMs = st.i64(8);
    d.certNotAfterMs = st.i64(9);
    d.gpsFix = st.i64(10) == 1;
    d.gpsNoFixSinceMs = st.i64(11);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace cad::fleet
