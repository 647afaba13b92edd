#pragma once
// A tiny NMEA 0183 reader for the GPS tests: the expected fixes of a recorded
// log, computed independently of gpsd.
#include <cstdint>
#include <string>
#include <vector>

namespace mdc::test::nmea {

/** One receiver cycle (one UTC time field) of a log. */
struct Epoch {
  std::string timeField;    ///< "030719.000"
  int64_t timeMs = 0;       ///< Unix ms from the RMC date and this time; 0 before any date
  bool valid = false;       ///< RMC status A and GGA quality > 0 with satellites (what gpsd calls a fix)
  double lat = 0, lon = 0;  ///< degrees, south/west negative
  double altMslM = __builtin_nan("");  ///< GGA altitude
  double speedMps = __builtin_nan(""); ///< RMC speed (knots converted)
  double trackDeg = __builtin_nan(""); ///< RMC course
  int satellitesUsed = -1;  ///< GGA field 7
};

/** True when the sentence's "*HH" checksum matches (gpsd drops the others). */
bool checksumOk(const std::string& sentence);
/** "3747.0873","S" -> -37.784788333...; NaN when empty. */
double degrees(const std::string& value, const std::string& hemisphere);
/** The epochs of a log's GGA and RMC sentences, in order. */
std::vector<Epoch> epochs(const std::vector<std::string>& sentences);
/** The time gpsd 3.22 reports for a receiver time: it believes a time before
 *  2017-01-01 with its built-in leap second 18 is a GPS week-number rollover
 *  and adds 1024 weeks (its own regression data, test/daemon/bu353s4.log.chk,
 *  shows 2014-12-31 as 2034-08-16). */
int64_t gpsdReportedTimeMs(int64_t receiverTimeMs);

}  // namespace mdc::test::nmea
