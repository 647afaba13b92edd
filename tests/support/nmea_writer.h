#pragma once
// Synthetic NMEA 0183 logs for the tests: a receiver at chosen positions,
// with its clock at a chosen time (GGA, GSA and RMC once a second).
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace mdc::test::nmea {

/** "$BODY*HH": the sentence with its checksum. */
std::string checksummed(const std::string& body);

/** Writes `seconds` receiver cycles to path, the first at startMs (UTC), each
 *  at position(second) = {lat, lon} in degrees, with speedKnots on RMC. */
void writeLog(const std::string& path, int64_t startMs, int seconds,
              const std::function<std::pair<double, double>(int)>& position, double speedKnots = 0.0);

}  // namespace mdc::test::nmea
