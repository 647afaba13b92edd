#pragma once
// Who is near: for each connected unit, the units of its agency within a
// radius of its last reported position, and the units on its current call
// wherever they are. Operational, not a read model: computed from the board,
// sent unsequenced (UnitsNearby), never logged.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mdc/v1/mdc.pb.h"
#include "server-stub/store/read_models.h"

namespace cad::nearby {

/** One unit as the board shows it (ReadModels::unitPlaces). */
using UnitPlace = ::cad::UnitPlace;

/** What self should see (nearest first, at most kMaxUnits: the units on its
 *  call are always kept). Without its own position, only the units on its call. */
mdc::v1::UnitsNearby forUnit(const UnitPlace& self, const std::vector<UnitPlace>& all, uint32_t radiusM);
inline constexpr int kMaxUnits = 64;

/** Decides when each unit is told: when what it would see changed (positions
 *  to about 10 m), at most every minIntervalMs; at once when an emergency near
 *  it started or ended; and every refreshMs regardless. Thread-safety: one thread. */
class Planner {
 public:
  Planner(uint32_t radiusM, int64_t minIntervalMs, int64_t refreshMs)
      : radiusM_(radiusM), minIntervalMs_(minIntervalMs), refreshMs_(refreshMs) {}
  /** A list to send now. urgent: an emergency near the unit started or ended
   *  (worth QoS 1); otherwise the next list replaces it within seconds (QoS 0,
   *  which the broker does not queue for an offline device). */
  struct Due {
    const UnitPlace* unit;
    mdc::v1::UnitsNearby body;
    bool urgent = false;
  };
  /** The lists to send now; marks them sent. Only online units with a device. */
  std::vector<Due> due(const std::vector<UnitPlace>& all, int64_t nowMs);
  /** Forget what was sent (the link was lost: every unit is told again). */
  void reset() {
    sent_.clear();
    lastEmergencies_.clear();
  }

 private:
  struct Sent {
    std::string digest;
    std::set<std::string> emergencies;
    std::string device;
    int64_t atMs = 0;        ///< last sent
    int64_t lookedAtMs = 0;  ///< last computed (sent or found unchanged)
  };
  uint32_t radiusM_;
  int64_t minIntervalMs_, refreshMs_;
  std::map<std::string, Sent> sent_;
  std::set<std::string> lastEmergencies_;  ///< units whose emergency was active at the last tick
};

}  // namespace cad::nearby
