#pragma once
// Zones and districts. A dispatcher puts each unit in a zone and each zone in
// a district (registry.zone_set, registry.unit_zone), and makes a unit the
// supervisor of some zones or of a district (registry.supervisor). The board
// can be read by zone or district (cadctl board --zone, --district), and a
// supervisor's device receives the board of its zones, read-only: the
// SupervisorBoard downlink, sent by the stub only to supervisors' devices and
// holding only the units of their own zones. Operational like the units
// nearby: computed from the read models, unsequenced, never logged.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mdc/v1/mdc.pb.h"
#include "server-stub/store/read_models.h"

namespace cad::zones {

/** A supervisor with the zones its scope covers now (ReadModels::supervisors). */
using Supervisor = cad::Supervisor;
/** A unit in a zone, as the board shows it (ReadModels::supervisedRows). */
using Row = cad::SupervisedUnit;

/** The board a supervisor may see: the units of its agency in its zones, nothing else. */
mdc::v1::SupervisorBoard boardFor(const Supervisor& s, const std::vector<Row>& rows);
inline constexpr int kMaxUnits = 256;

/** Decides when each supervisor's device is told: when its board changed, at
 *  most every minIntervalMs; every refreshMs regardless; urgent (QoS 1) when
 *  an emergency on it started or ended. Thread-safety: one thread. */
class Planner {
 public:
  Planner(int64_t minIntervalMs, int64_t refreshMs) : minIntervalMs_(minIntervalMs), refreshMs_(refreshMs) {}
  struct Due {
    std::string unit, device;
    mdc::v1::SupervisorBoard board;  ///< empty scope: withdrawn (the unit supervises nothing now)
    bool urgent = false;
  };
  /** The boards to send now (only to connected supervisors' devices), and a
   *  withdrawal to each device that was sent one and is no longer a
   *  supervisor's; marks them sent. */
  std::vector<Due> due(const std::vector<Supervisor>& supervisors, const std::vector<Row>& rows, int64_t nowMs);
  void reset() { sent_.clear(); }

 private:
  struct Sent {
    std::string unit;
    std::string bytes;
    std::set<std::string> emergencies;
    int64_t atMs = 0;
  };
  int64_t minIntervalMs_, refreshMs_;
  std::map<std::string, Sent> sent_;  // by device
};

/** A zone or district name: 1-32 characters of A-Z a-z 0-9 _ -. */
bool validName(const std::string& name);

}  // namespace cad::zones
