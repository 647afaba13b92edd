#pragma once
// Makes the GPS source a configuration names: gpsd, the route simulator or a
// log replay, so the agent and the tools choose a receiver in one call.
#include <memory>
#include <string>

#include "hw/gps_source.h"
#include "hw/gpsd_source.h"
#include "hw/log_replay_source.h"
#include "hw/route_simulator.h"
#include "shared/wire/clock.h"

namespace mdc::hw {

/** Which GPS source to make, and the options of each kind (only the chosen
 *  kind's are read). */
struct GpsSourceConfig {
  /** "gpsd", "simulator" or "replay"; anything else ("none", ""): no source. */
  std::string kind;
  GpsdOptions gpsd;
  RouteSimulatorOptions simulator;
  LogReplayOptions replay;
};

/** The source config.kind names, not yet started; nullptr when it names none.
 *  clock must outlive the source. A replay reads its log here: an unreadable
 *  or empty log throws std::runtime_error naming the path (a start-up error). */
std::unique_ptr<GpsSource> makeGpsSource(const GpsSourceConfig& config,
                                         const Clock& clock = SystemClock::instance());

}  // namespace mdc::hw
