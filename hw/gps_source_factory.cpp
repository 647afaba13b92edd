#include "hw/gps_source_factory.h"

namespace mdc::hw {

std::unique_ptr<GpsSource> makeGpsSource(const GpsSourceConfig& config, const Clock& clock) {
  if (config.kind == "gpsd") return std::make_unique<GpsdSource>(config.gpsd, clock);
  if (config.kind == "simulator") return std::make_unique<RouteSimulator>(config.simulator, clock);
  if (config.kind == "replay") return std::make_unique<LogReplaySource>(config.replay, clock);
  return nullptr;
}

}  // namespace mdc::hw
