#include "hw/log_replay_source.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <stdexcept>

namespace mdc::hw {

namespace {

constexpr double kNaN = __builtin_nan("");
// Horizontal user-equivalent range error: eph ≈ HDOP × UERE. 5 m is typical of
// an uncorrected consumer receiver today (gpsd's own tables use similar figures).
constexpr double kUereM = 5.0;
constexpr double kKnotsToMps = 1852.0 / 3600.0;

bool checksumOk(const std::string& s) {
  auto star = s.rfind('*');
  if (star == std::string::npos || star + 3 > s.size()) return false;
  unsigned sum = 0;
  for (size_t i = 1; i < star; ++i) sum ^= static_cast<unsigned char>(s[i]);
  const std::string hex = s.substr(star + 1);
  if (hex.size() != 2 || !std::isxdigit(static_cast<unsigned char>(hex[0])) ||
      !std::isxdigit(static_cast<unsigned char>(hex[1])))
    return false;
  return sum == std::strtoul(hex.c_str(), nullptr, 16);
}

std::vector<std::string> fieldsOf(const std::string& s) {
  std::string body = s.substr(1, s.rfind('*') - 1);
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t comma = body.find(',', start);
    out.push_back(body.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

double number(const std::string& s) {
  if (s.empty()) return kNaN;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  return end && *end == '\0' ? v : kNaN;
}

double degrees(const std::string& v, const std::string& hemi) {
  double raw = number(v);
  if (!std::isfinite(raw)) return kNaN;
  double deg = std::floor(raw / 100);
  double out = deg + (raw - deg * 100) / 60.0;
  return (hemi == "S" || hemi == "W") ? -out : out;
}

// Milliseconds into the day of "hhmmss[.sss]", -1 when malformed.
int64_t msOfDay(const std::string& t) {
  if (t.size() < 6) return -1;
  for (int i = 0; i < 6; ++i)
    if (t[size_t(i)] < '0' || t[size_t(i)] > '9') return -1;
  int h = std::atoi(t.substr(0, 2).c_str()), m = std::atoi(t.substr(2, 2).c_str());
  double s = number(t.substr(4));
  if (h > 23 || m > 59 || !std::isfinite(s) || s >= 61) return -1;
  return (int64_t(h) * 3600 + m * 60) * 1000 + std::llround(s * 1000);
}

// Unix ms of midnight UTC of "ddmmyy", -1 when malformed.
int64_t dayStartMs(const std::string& d) {
  if (d.size() != 6) return -1;
  std::tm tm{};
  tm.tm_mday = std::atoi(d.substr(0, 2).c_str());
  tm.tm_mon = std::atoi(d.substr(2, 2).c_str()) - 1;
  int yy = std::atoi(d.substr(4, 2).c_str());
  tm.tm_year = (yy < 80 ? 2000 + yy : 1900 + yy) - 1900;
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_mon < 0 || tm.tm_mon > 11) return -1;
  return int64_t(timegm(&tm)) * 1000;
}

struct Cycle {
  std::string timeField;
  int64_t msOfDay = -1;
  bool hasRmc = false, rmcValid = false, hasGga = false, ggaValid = false;
  int gsaMode = 0;
  double lat = kNaN, lon = kNaN, alt = kNaN, speed = kNaN, track = kNaN, hdop = kNaN;
  int sats = 0;
  std::string date;
};

// Gathers a log's sentences into receiver cycles (one UTC time field each),
// counting every line by outcome.
class CycleReader {
 public:
  explicit CycleReader(NmeaCounters& counters) : c_(counters) {}

  void line(std::string s) {
    while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.pop_back();
    if (s.empty() || s[0] == '#') return;
    ++c_.lines;
    if (s[0] != '$') {
      ++c_.notNmea;
      return;
    }
    if (!checksumOk(s)) {
      ++c_.badChecksum;
      return;
    }
    ++c_.sentences;
    auto f = fieldsOf(s);
    std::string type = f[0].size() >= 5 ? f[0].substr(f[0].size() - 3) : "";
    if (type == "GGA") gga(f);
    else if (type == "RMC") rmc(f);
    else if (type == "GSA") gsa(f);
    else ++c_.unused;
  }
  const std::vector<Cycle>& cycles() const { return cycles_; }

 private:
  Cycle& cycleFor(const std::string& t) {
    if (cycles_.empty() || cycles_.back().timeField != t) {
      cycles_.push_back(Cycle{});
      cycles_.back().timeField = t;
      cycles_.back().msOfDay = msOfDay(t);
    }
    return cycles_.back();
  }
  void gga(const std::vector<std::string>& f) {
    if (f.size() < 10 || msOfDay(f[1]) < 0) {
      ++c_.malformed;
      return;
    }
    Cycle& e = cycleFor(f[1]);
    e.hasGga = true;
    e.sats = std::atoi(f[7].c_str());
    e.ggaValid = std::atoi(f[6].c_str()) > 0 && e.sats > 0;
    if (!e.hasRmc || e.rmcValid) {
      e.lat = degrees(f[2], f[3]);
      e.lon = degrees(f[4], f[5]);
    }
    e.hdop = number(f[8]);
    e.alt = number(f[9]);
  }
  void rmc(const std::vector<std::string>& f) {
    if (f.size() < 10 || msOfDay(f[1]) < 0) {
      ++c_.malformed;
      return;
    }
    Cycle& e = cycleFor(f[1]);
    e.hasRmc = true;
    e.rmcValid = f[2] == "A";
    e.lat = degrees(f[3], f[4]);
    e.lon = degrees(f[5], f[6]);
    e.speed = number(f[7]) * kKnotsToMps;
    e.track = number(f[8]);
    e.date = f[9];
  }
  // GSA carries no time: it belongs to the cycle in progress.
  void gsa(const std::vector<std::string>& f) {
    if (f.size() < 17) {
      ++c_.malformed;
      return;
    }
    if (cycles_.empty()) return;
    cycles_.back().gsaMode = std::atoi(f[2].c_str());
    if (!std::isfinite(cycles_.back().hdop)) cycles_.back().hdop = number(f[16]);
  }

  NmeaCounters& c_;
  std::vector<Cycle> cycles_;
};

// The fix of one cycle, given the UTC date in force ("" before the first) and
// its pacing offset; counts it in withPosition when it has a position.
Fix fixOf(const Cycle& e, const std::string& date, int64_t offsetMs, NmeaCounters& c) {
  Fix fx;
  fx.lat = fx.lon = kNaN;
  if (!date.empty()) fx.timeMs = dayStartMs(date) + e.msOfDay;
  fx.receivedMonoMs = offsetMs;
  bool valid = (!e.hasRmc || e.rmcValid) && (!e.hasGga || e.ggaValid) && std::isfinite(e.lat) &&
               std::isfinite(e.lon) && (e.hasRmc || e.hasGga);
  fx.satellitesUsed = e.sats;
  if (!valid) {
    fx.mode = Fix::Mode::NoFix;
    return fx;
  }
  fx.mode = e.gsaMode == 2         ? Fix::Mode::Fix2D
            : e.gsaMode == 3       ? Fix::Mode::Fix3D
            : std::isfinite(e.alt) ? Fix::Mode::Fix3D
                                   : Fix::Mode::Fix2D;
  fx.lat = e.lat;
  fx.lon = e.lon;
  if (fx.mode == Fix::Mode::Fix3D) fx.altM = e.alt;
  fx.speedMps = e.speed;
  fx.trackDeg = e.track;
  if (std::isfinite(e.hdop) && e.hdop > 0) fx.ephM = e.hdop * kUereM;
  ++c.withPosition;
  return fx;
}

}  // namespace

std::vector<Fix> parseNmeaLog(const std::vector<std::string>& lines, NmeaCounters* countersOut) {
  NmeaCounters c;
  CycleReader reader(c);
  for (const std::string& s : lines) reader.line(s);

  std::vector<Fix> out;
  out.reserve(reader.cycles().size());
  std::string date;
  int64_t firstMs = -1, prevMs = -1, offset = 0;
  for (auto& e : reader.cycles()) {
    if (!e.date.empty() && dayStartMs(e.date) >= 0) date = e.date;
    // Pacing offset from the time fields (wrapping at midnight).
    if (firstMs < 0) {
      firstMs = prevMs = e.msOfDay;
    } else {
      int64_t d = e.msOfDay - prevMs;
      if (d < 0) d += 86'400'000;
      offset += d;
      prevMs = e.msOfDay;
    }
    out.push_back(fixOf(e, date, offset, c));
  }
  c.epochs = out.size();
  if (countersOut) *countersOut = c;
  return out;
}

LogReplaySource::LogReplaySource(LogReplayOptions options, const Clock& clock)
    : opts_(std::move(options)), clock_(clock) {
  std::ifstream in(opts_.path);
  if (!in) throw std::runtime_error("replay: cannot open \"" + opts_.path + "\"");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  fixes_ = parseNmeaLog(lines, &counters_);
  if (fixes_.empty()) throw std::runtime_error("replay: \"" + opts_.path + "\" holds no GGA/RMC sentences");
}

LogReplaySource::~LogReplaySource() {
  stop();
}

std::string LogReplaySource::describe() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, " x%g", opts_.speedup);
  return "replay " + opts_.path + (opts_.speedup > 0 ? buf : " (no pauses)");
}

void LogReplaySource::start(GpsSink& sink) {
  loop_.start([this, &sink] { run(sink); });
}

void LogReplaySource::stop() {
  loop_.stop();
}

void LogReplaySource::run(GpsSink& sink) {
  sink.onSourceState(true, describe() + ": replaying " + std::to_string(fixes_.size()) + " fixes");
  int64_t firstTime = 0;
  for (auto& f : fixes_)
    if (f.timeMs > 0) {
      firstTime = f.timeMs - f.receivedMonoMs;  // the log's time at offset 0
      break;
    }
  const int64_t shift = opts_.rebaseToNow && firstTime > 0 ? clock_.nowMs() - firstTime : 0;
  int64_t loopOffset = 0;  // log time already played in earlier loops
  const int64_t logSpan = fixes_.back().receivedMonoMs + 1'000;
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    for (const Fix& logged : fixes_) {
      if (opts_.speedup > 0) {
        auto due = t0 + std::chrono::microseconds(
                            int64_t(double(loopOffset + logged.receivedMonoMs) * 1000.0 / opts_.speedup));
        if (!loop_.sleepUntil(due)) return;
      } else if (loop_.stopping()) {
        return;
      }
      Fix f = logged;
      if (f.timeMs > 0) f.timeMs += shift + (opts_.rebaseToNow ? loopOffset : 0);
      f.receivedMonoMs = clock_.monotonicMs();
      sink.onFix(f);
    }
    if (!opts_.loop) break;
    loopOffset += logSpan;
  }
  sink.onSourceState(false, "replay " + opts_.path + ": ended after " + std::to_string(fixes_.size()) + " fixes");
}

}  // namespace mdc::hw
