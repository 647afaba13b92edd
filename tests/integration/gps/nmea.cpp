#include "tests/integration/gps/nmea.h"

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <map>

namespace mdc::test::nmea {

namespace {
std::vector<std::string> fields(const std::string& s) {
  std::string body = s.substr(1, s.find('*') == std::string::npos ? std::string::npos : s.find('*') - 1);
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t comma = body.find(',', start);
    out.push_back(body.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

double number(const std::string& s) { return s.empty() ? std::nan("") : std::strtod(s.c_str(), nullptr); }

// Milliseconds into the day of "hhmmss.sss".
int64_t msOfDay(const std::string& t) {
  if (t.size() < 6) return -1;
  int h = std::atoi(t.substr(0, 2).c_str()), m = std::atoi(t.substr(2, 2).c_str());
  double s = std::strtod(t.substr(4).c_str(), nullptr);
  return (int64_t(h) * 3600 + m * 60) * 1000 + std::llround(s * 1000);
}

// Unix ms of midnight UTC of "ddmmyy".
int64_t dayStartMs(const std::string& d) {
  if (d.size() != 6) return -1;
  std::tm tm{};
  tm.tm_mday = std::atoi(d.substr(0, 2).c_str());
  tm.tm_mon = std::atoi(d.substr(2, 2).c_str()) - 1;
  int yy = std::atoi(d.substr(4, 2).c_str());
  tm.tm_year = (yy < 80 ? 2000 + yy : 1900 + yy) - 1900;
  return int64_t(timegm(&tm)) * 1000;
}
}  // namespace

bool checksumOk(const std::string& s) {
  auto star = s.find('*');
  if (s.empty() || star == std::string::npos || star + 3 > s.size()) return false;
  unsigned sum = 0;
  for (size_t i = 1; i < star; ++i) sum ^= static_cast<unsigned char>(s[i]);
  return sum == std::strtoul(s.substr(star + 1, 2).c_str(), nullptr, 16);
}

double degrees(const std::string& v, const std::string& hemi) {
  if (v.empty()) return std::nan("");
  double raw = std::strtod(v.c_str(), nullptr);
  double deg = std::floor(raw / 100);
  double out = deg + (raw - deg * 100) / 60.0;
  return (hemi == "S" || hemi == "W") ? -out : out;
}

std::vector<Epoch> epochs(const std::vector<std::string>& sentences) {
  std::vector<Epoch> out;
  std::map<std::string, size_t> index;
  std::vector<std::string> dates;  // per epoch, from its RMC
  auto epochFor = [&](const std::string& t) -> Epoch& {
    auto it = index.find(t);
    if (it != index.end()) return out[it->second];
    index[t] = out.size();
    out.push_back(Epoch{});
    out.back().timeField = t;
    dates.emplace_back();
    return out.back();
  };
  std::map<std::string, bool> hasRmc;
  // gpsd reports no fix for an epoch whose GGA says "no fix" or names no
  // satellites, even when its RMC says A (gpsd's own haicom-305N.log.chk
  // shows mode 1 for 095304.802, GGA quality 1 with 00 satellites).
  std::map<std::string, bool> ggaNoFix;
  for (const auto& s : sentences) {
    if (s.size() < 7 || s[0] != '$' || !checksumOk(s)) continue;
    auto f = fields(s);
    std::string type = f[0].substr(2);
    if (type == "GGA" && f.size() >= 10 && !f[1].empty()) {
      Epoch& e = epochFor(f[1]);
      e.lat = degrees(f[2], f[3]);
      e.lon = degrees(f[4], f[5]);
      e.satellitesUsed = std::atoi(f[7].c_str());
      ggaNoFix[f[1]] = std::atoi(f[6].c_str()) == 0 || e.satellitesUsed == 0;
      if (!hasRmc[f[1]]) e.valid = !ggaNoFix[f[1]];
      e.altMslM = number(f[9]);
    } else if (type == "RMC" && f.size() >= 10 && !f[1].empty()) {
      Epoch& e = epochFor(f[1]);
      hasRmc[f[1]] = true;
      e.valid = f[2] == "A" && !ggaNoFix[f[1]];
      e.lat = degrees(f[3], f[4]);
      e.lon = degrees(f[5], f[6]);
      e.speedMps = number(f[7]) * 1852.0 / 3600.0;
      e.trackDeg = number(f[8]);
      dates[index[f[1]]] = f[9];
    }
  }
  // Epochs before the first RMC date stay at 0; later ones use the latest date.
  std::string date;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!dates[i].empty()) date = dates[i];
    if (!date.empty()) out[i].timeMs = dayStartMs(date) + msOfDay(out[i].timeField);
  }
  return out;
}

int64_t gpsdReportedTimeMs(int64_t t) {
  constexpr int64_t kLeap18Ms = 1'483'228'800'000;  // 2017-01-01, when leap second 18 took effect
  constexpr int64_t k1024WeeksMs = int64_t(1024) * 7 * 86400 * 1000;
  return (t > 0 && t < kLeap18Ms) ? t + k1024WeeksMs : t;
}

}  // namespace mdc::test::nmea
