#include "hw/gpsd_source.h"

#include <gps.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string_view>
#include <vector>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "shared/infra/log.h"

namespace mdc::hw {

namespace {

constexpr const char* kLog = "gps";
constexpr double kNaN = __builtin_nan("");

double finiteOrNaN(double v) { return std::isfinite(v) ? v : kNaN; }

// A minimal JSON reader for one gpsd line: syntax, and the kind of each
// top-level value. Distinguishes "cut short" (ran out of input) from "not JSON".
class JsonLine {
 public:
  enum class Kind { String, Number, Other };
  enum class Result { Ok, Truncated, Invalid };

  explicit JsonLine(std::string_view s) : s_(s) {}

  Result parse() {
    ws();
    if (eof() || s_[i_] != '{') return Result::Invalid;
    Result r = object(true);
    if (r != Result::Ok) return r;
    ws();
    return eof() ? Result::Ok : Result::Invalid;
  }
  /** The top-level keys with the kind and (for strings) the text of their values. */
  struct Member {
    std::string_view key;
    Kind kind;
    std::string_view text;
  };
  const std::vector<Member>& members() const { return members_; }

 private:
  bool eof() const { return i_ >= s_.size(); }
  void ws() {
    while (!eof() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) ++i_;
  }
  Result fail() const { return eof() ? Result::Truncated : Result::Invalid; }
  Result string(std::string_view* out) {
    size_t start = ++i_;  // past the quote
    while (!eof() && s_[i_] != '"') {
      if (s_[i_] == '\\') ++i_;
      else if (static_cast<unsigned char>(s_[i_]) < 0x20) return Result::Invalid;
      ++i_;
    }
    if (eof()) return Result::Truncated;
    if (out) *out = s_.substr(start, i_ - start);
    ++i_;
    return Result::Ok;
  }
  Result number() {
    size_t start = i_;
    if (s_[i_] == '-') ++i_;
    while (!eof() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.' || s_[i_] == 'e' ||
                      s_[i_] == 'E' || s_[i_] == '+' || s_[i_] == '-'))
      ++i_;
    if (eof()) return Result::Truncated;
    char* end = nullptr;
    std::string text(s_.substr(start, i_ - start));
    std::strtod(text.c_str(), &end);
    return (!text.empty() && end == text.c_str() + text.size()) ? Result::Ok : Result::Invalid;
  }
  Result literal(std::string_view word) {
    for (char c : word) {
      if (eof()) return Result::Truncated;
      if (s_[i_++] != c) return Result::Invalid;
    }
    return Result::Ok;
  }
  Result value(Kind* kind, std::string_view* text, int depth) {
    if (depth > 16) return Result::Invalid;
    ws();
    if (eof()) return Result::Truncated;
    char c = s_[i_];
    *kind = Kind::Other;
    if (c == '"') {
      *kind = Kind::String;
      return string(text);
    }
    if (c == '{') return object(false, depth + 1);
    if (c == '[') {
      ++i_;
      ws();
      if (!eof() && s_[i_] == ']') {
        ++i_;
        return Result::Ok;
      }
      for (;;) {
        Kind k;
        std::string_view t;
        Result r = value(&k, &t, depth + 1);
        if (r != Result::Ok) return r;
        ws();
        if (eof()) return Result::Truncated;
        if (s_[i_] == ']') {
          ++i_;
          return Result::Ok;
        }
        if (s_[i_++] != ',') return Result::Invalid;
      }
    }
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
      *kind = Kind::Number;
      return number();
    }
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    return Result::Invalid;
  }
  Result object(bool top, int depth = 0) {
    ++i_;  // '{'
    ws();
    if (!eof() && s_[i_] == '}') {
      ++i_;
      return Result::Ok;
    }
    for (;;) {
      ws();
      if (eof()) return Result::Truncated;
      if (s_[i_] != '"') return Result::Invalid;
      std::string_view key;
      Result r = string(&key);
      if (r != Result::Ok) return r;
      ws();
      if (eof()) return Result::Truncated;
      if (s_[i_++] != ':') return Result::Invalid;
      Kind kind;
      std::string_view text;
      r = value(&kind, &text, depth);
      if (r != Result::Ok) return r;
      if (top) members_.push_back({key, kind, text});
      ws();
      if (eof()) return Result::Truncated;
      if (s_[i_] == '}') {
        ++i_;
        return Result::Ok;
      }
      if (s_[i_++] != ',') return Result::Invalid;
    }
  }

  std::string_view s_;
  size_t i_ = 0;
  std::vector<Member> members_;
};

bool isOneOf(std::string_view v, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

}  // namespace

GpsdLine classifyGpsdLine(std::string_view line) {
  JsonLine json(line);
  switch (json.parse()) {
    case JsonLine::Result::Truncated: return GpsdLine::Truncated;
    case JsonLine::Result::Invalid: return GpsdLine::NotJson;
    case JsonLine::Result::Ok: break;
  }
  std::string_view cls;
  bool haveClass = false;
  for (auto& m : json.members())
    if (m.key == "class" && m.kind == JsonLine::Kind::String) {
      cls = m.text;
      haveClass = true;
    }
  if (!haveClass) return GpsdLine::UnknownClass;
  const bool tpv = cls == "TPV", sky = cls == "SKY";
  if (!tpv && !sky) {
    // Every class gpsd 3.22 sends to a JSON watcher (gpsd_json.5).
    return isOneOf(cls, {"VERSION", "DEVICES", "DEVICE", "WATCH", "ERROR", "GST", "ATT", "TOFF", "PPS", "OSC",
                         "POLL", "RAW", "AIS", "SUBFRAME", "RTCM2", "RTCM3", "IMU", "LOG", "NOISE"})
               ? GpsdLine::OtherClass
               : GpsdLine::UnknownClass;
  }
  for (auto& m : json.members()) {
    bool numeric = tpv ? isOneOf(m.key, {"mode", "status", "lat", "lon", "alt", "altHAE", "altMSL", "speed", "track",
                                         "climb", "eph", "epx", "epy", "epv", "ept", "eps", "epd", "epc", "geoidSep",
                                         "leapseconds", "magtrack", "magvar"})
                       : isOneOf(m.key, {"nSat", "uSat", "hdop", "vdop", "pdop", "gdop", "tdop", "xdop", "ydop"});
    bool text = isOneOf(m.key, {"device", "time"});
    if ((numeric && m.kind != JsonLine::Kind::Number) || (text && m.kind != JsonLine::Kind::String))
      return GpsdLine::WrongType;
  }
  return tpv ? GpsdLine::Tpv : GpsdLine::Sky;
}

Fix fixFromGpsData(const ::gps_data_t& d, int64_t receivedMonoMs) {
  Fix f;
  f.receivedMonoMs = receivedMonoMs;
  f.lat = kNaN;
  f.lon = kNaN;
  const gps_fix_t& fx = d.fix;
  if (d.set & MODE_SET) {
    switch (fx.mode) {
      case MODE_NO_FIX: f.mode = Fix::Mode::NoFix; break;
      case MODE_2D: f.mode = Fix::Mode::Fix2D; break;
      case MODE_3D: f.mode = Fix::Mode::Fix3D; break;
      default: f.mode = Fix::Mode::Unknown; break;  // MODE_NOT_SEEN
    }
  }
  if ((d.set & TIME_SET) && fx.time.tv_sec > 0) {
    // Round: gpsd's decimal seconds ("…:04.802Z") can come back as …801999999 ns.
    f.timeMs = int64_t(fx.time.tv_sec) * 1000 + (int64_t(fx.time.tv_nsec) + 500'000) / 1'000'000;
  }
  if (!f.hasPosition()) return f;
  if ((d.set & LATLON_SET) && std::isfinite(fx.latitude) && std::isfinite(fx.longitude)) {
    f.lat = fx.latitude;
    f.lon = fx.longitude;
  } else {
    f.mode = Fix::Mode::NoFix;  // a fix mode without coordinates is no position
    return f;
  }
  if ((d.set & ALTITUDE_SET) && f.mode == Fix::Mode::Fix3D) {
    if (std::isfinite(fx.altMSL))
      f.altM = fx.altMSL;
    else if (std::isfinite(fx.altHAE) && std::isfinite(fx.geoid_sep))
      f.altM = fx.altHAE - fx.geoid_sep;
  }
  if (d.set & SPEED_SET) f.speedMps = finiteOrNaN(fx.speed);
  if (d.set & TRACK_SET) f.trackDeg = finiteOrNaN(fx.track);
  // eph has no set bit of its own: NaN means gpsd did not send it. Without it,
  // the lat/lon errors (HERR_SET) give the same 2D figure.
  if (std::isfinite(fx.eph))
    f.ephM = fx.eph;
  else if ((d.set & HERR_SET) && std::isfinite(fx.epx) && std::isfinite(fx.epy))
    f.ephM = std::hypot(fx.epx, fx.epy);
  f.satellitesUsed = std::max(0, d.satellites_used);  // from the latest SKY; libgps keeps it
  return f;
}

GpsdSource::GpsdSource(GpsdOptions options, const Clock& clock) : opts_(std::move(options)), clock_(clock) {}

GpsdSource::~GpsdSource() { stop(); }

GpsdCounters GpsdSource::counters() const {
  std::lock_guard lock(countersMu_);
  return counters_;
}

void GpsdSource::count(uint64_t GpsdCounters::*field) {
  std::lock_guard lock(countersMu_);
  ++(counters_.*field);
}

std::string GpsdSource::describe() const { return "gpsd " + opts_.host + ":" + std::to_string(opts_.port); }

void GpsdSource::start(GpsSink& sink) {
  loop_.start([this, &sink] { run(sink); });
}

void GpsdSource::stop() { loop_.stop(); }

void GpsdSource::run(GpsSink& sink) {
  auto data = std::make_unique<gps_data_t>();
  everFailed_ = false;
  loop_.keepConnected(
      ReconnectBackoff{opts_.initialBackoff, opts_.maxBackoff},
      [&](std::chrono::milliseconds retryIn) { return connect(*data, retryIn, sink); },
      [&] { return serve(*data, sink); },
      [&](const std::string& why, std::chrono::milliseconds reconnectIn) {
        std::string detail =
            describe() + ": connection lost (" + why + "), reconnecting in " + describeDelay(reconnectIn);
        log::warn(kLog, detail);
        sink.onSourceState(false, detail);
      });
}

bool GpsdSource::connect(gps_data_t& data, std::chrono::milliseconds retryIn, GpsSink& sink) {
  const std::string name = describe();
  const std::string port = std::to_string(opts_.port);
  std::memset(&data, 0, sizeof(gps_data_t));
  if (gps_open(opts_.host.c_str(), port.c_str(), &data) != 0) {
    // libgps leaves its own (negative, NL_*) code in errno.
    std::string detail = name + " unreachable (" + gps_errstr(errno) + "), retrying in " + describeDelay(retryIn);
    if (!everFailed_) log::warn(kLog, detail);
    else log::debug(kLog, detail);
    everFailed_ = true;
    count(&GpsdCounters::connectFailures);
    sink.onSourceState(false, detail);
    return false;
  }
  if (gps_stream(&data, WATCH_ENABLE | WATCH_JSON, nullptr) != 0) {
    std::string detail = name + " refused the WATCH request, retrying in " + describeDelay(retryIn);
    log::warn(kLog, detail);
    gps_close(&data);
    count(&GpsdCounters::connectFailures);
    sink.onSourceState(false, detail);
    return false;
  }
  everFailed_ = false;
  count(&GpsdCounters::connects);
  log::info(kLog, name + " connected");
  sink.onSourceState(true, name + " connected");
  return true;
}

std::string GpsdSource::serve(gps_data_t& data, GpsSink& sink) {
  const std::string name = describe();
  const int waitUs = int(std::chrono::duration_cast<std::chrono::microseconds>(opts_.pollInterval).count());
  int64_t lastReportMs = clock_.monotonicMs();
  bool silent = false;
  std::string lost;
  char msg[8192];
  while (!loop_.stopping()) {
    if (!gps_waiting(&data, waitUs)) {
      int64_t quietMs = clock_.monotonicMs() - lastReportMs;
      if (!silent && opts_.silenceTimeout.count() > 0 && quietMs >= opts_.silenceTimeout.count()) {
        silent = true;
        std::string detail = name + ": connected, but no reports for " + describeDelay(opts_.silenceTimeout);
        log::warn(kLog, detail);
        sink.onSourceState(false, detail);
      }
      continue;
    }
    data.set = 0;  // TPV replaces set; other classes only add bits
    msg[0] = '\0';
    errno = 0;
    int n = gps_read(&data, msg, int(sizeof msg));
    if (n < 0) {
      lost = errno > 0 ? std::strerror(errno) : "gpsd closed it";
      count(&GpsdCounters::connectionsLost);
      break;
    }
    if (n == 0) continue;
    count(&GpsdCounters::lines);
    Fix fix;
    std::optional<bool> tpv = accept(msg, data, fix);
    if (!tpv) continue;
    count(*tpv ? &GpsdCounters::tpv : &GpsdCounters::sky);
    lastReportMs = clock_.monotonicMs();
    if (silent) {
      silent = false;
      log::info(kLog, name + ": reports again");
      sink.onSourceState(true, name + ": reports again");
    }
    if (*tpv) {
      fix.receivedMonoMs = lastReportMs;
      sink.onFix(fix);
    }
  }
  gps_close(&data);
  return lost;
}

std::optional<bool> GpsdSource::accept(const char* line, const gps_data_t& data, Fix& fix) {
  // libgps has already parsed the line (leniently): decide whether to trust it.
  GpsdLine kind = classifyGpsdLine(line);
  if (kind != GpsdLine::Tpv && kind != GpsdLine::Sky) {
    if (kind == GpsdLine::OtherClass) {
      count(&GpsdCounters::otherClass);
      return std::nullopt;
    }
    auto field = kind == GpsdLine::Truncated      ? &GpsdCounters::skippedTruncated
                 : kind == GpsdLine::UnknownClass ? &GpsdCounters::skippedUnknownClass
                 : kind == GpsdLine::WrongType    ? &GpsdCounters::skippedWrongType
                                                  : &GpsdCounters::skippedNotJson;
    count(field);
    log::debug(kLog, describe() + ": skipped line: " + std::string(line, strnlen(line, 200)));
    return std::nullopt;
  }
  const bool tpv = kind == GpsdLine::Tpv;
  if (tpv && (data.set & MODE_SET) && (data.fix.mode < MODE_NOT_SEEN || data.fix.mode > MODE_3D)) {
    count(&GpsdCounters::skippedOutOfRange);
    return std::nullopt;
  }
  if (tpv) {
    fix = fixFromGpsData(data, clock_.monotonicMs());
    if (fix.hasPosition() && (std::fabs(fix.lat) > 90 || std::fabs(fix.lon) > 180)) {
      count(&GpsdCounters::skippedOutOfRange);
      return std::nullopt;
    }
  }
  return tpv;
}

}  // namespace mdc::hw
