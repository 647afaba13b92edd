#pragma once
// The fleet's health as the operator sees it (`cadctl devices list`): each
// device's last reported health (its presence) and what needs attention: a
// certificate expiring soon or expired, a device silent for long, a deep
// queue, a receiver without a fix.
#include <cstdint>
#include <string>
#include <vector>

#include "server-stub/store/read_models.h"

namespace cad::fleet {

/** One device as the read models hold it (ReadModels::fleetHealth). */
using DeviceHealth = ::cad::DeviceHealth;

/** When a device needs attention. */
struct Thresholds {
  int64_t certExpiringMs = 30LL * 86'400'000;  ///< --expiring-days (30): the agent renews 30 days ahead
  int64_t silentMs = 24LL * 3'600'000;         ///< --silent-hours (24)
  int64_t deepQueue = 1000;                    ///< --deep-queue (1000 events)
  int64_t noFixMs = 3'600'000;                 ///< an hour online without a fix
};

/** What needs attention, most urgent first: "CERT-EXPIRED", "CERT-EXPIRES 12d",
 *  "SILENT 3d", "NEVER-SEEN", "QUEUE 5400", "NO-GPS 2h". Empty: healthy. */
std::vector<std::string> attention(const DeviceHealth& d, int64_t nowMs, const Thresholds& t);

/** "3d", "5h", "12m", "40s". */
std::string ageText(int64_t ms);

}  // namespace cad::fleet
