#include "tests/support/nmea_writer.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <stdexcept>

namespace mdc::test::nmea {

std::string checksummed(const std::string& body) {
  unsigned sum = 0;
  for (char c : body) sum ^= static_cast<unsigned char>(c);
  char tail[8];
  std::snprintf(tail, sizeof tail, "*%02X", sum);
  return "$" + body + tail;
}

namespace {
// ddmm.mmmm,N / dddmm.mmmm,W
std::string coordinate(double deg, bool latitude) {
  const double a = std::fabs(deg);
  const int whole = int(a);
  char out[40];
  std::snprintf(out, sizeof out, latitude ? "%02d%07.4f,%c" : "%03d%07.4f,%c", whole, (a - whole) * 60.0,
                latitude ? (deg < 0 ? 'S' : 'N') : (deg < 0 ? 'W' : 'E'));
  return out;
}
}  // namespace

void writeLog(const std::string& path, int64_t startMs, int seconds,
              const std::function<std::pair<double, double>(int)>& position, double speedKnots) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  for (int s = 0; s < seconds; ++s) {
    const time_t t = time_t((startMs / 1000) + s);
    tm g{};
    gmtime_r(&t, &g);
    char hms[40], dmy[40], speed[16];
    std::snprintf(hms, sizeof hms, "%02d%02d%02d.000", g.tm_hour, g.tm_min, g.tm_sec);
    std::snprintf(dmy, sizeof dmy, "%02d%02d%02d", g.tm_mday, g.tm_mon + 1, g.tm_year % 100);
    std::snprintf(speed, sizeof speed, "%.1f", speedKnots);
    const auto [lat, lon] = position(s);
    const std::string where = coordinate(lat, true) + "," + coordinate(lon, false);
    out << checksummed(std::string("GPGGA,") + hms + "," + where + ",1,09,0.9,10.0,M,-34.0,M,,") << "\r\n";
    out << checksummed("GPGSA,A,3,01,02,03,04,05,06,07,08,09,,,,1.5,0.9,1.2") << "\r\n";
    out << checksummed(std::string("GPRMC,") + hms + ",A," + where + "," + speed + ",0.0," + dmy + ",,,A") << "\r\n";
  }
}

}  // namespace mdc::test::nmea
