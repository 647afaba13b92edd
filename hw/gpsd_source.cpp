#include "hw/gpsd_source.h"

#include <gps.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "shared/log.h"

namespace mdc::hw {

namespace {

constexpr const char* kLog = "gps";
constexpr double kNaN = __builtin_nan("");

// "0.25 s", "2 s": how a person reads a retry delay.
std::string seconds(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", double(d.count()) / 1000.0);
  return buf;
}

double finiteOrNaN(double v) { return std::isfinite(v) ? v : kNaN; }

// gps_read hands back the raw JSON line; only TPV (and SKY) are reports.
bool isClass(const char* msg, const char* cls) {
  char tag[32];
  std::snprintf(tag, sizeof tag, "\"class\":\"%s\"", cls);
  return std::strstr(msg, tag) != nullptr;
}

}  // namespace

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

std::string GpsdSource::describe() const { return "gpsd " + opts_.host + ":" + std::to_string(opts_.port); }

void GpsdSource::start(GpsSink& sink) {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this, &sink] { run(sink); });
}

void GpsdSource::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool GpsdSource::sleepUnlessStopped(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

void GpsdSource::run(GpsSink& sink) {
  const std::string name = describe();
  const std::string port = std::to_string(opts_.port);
  const int waitUs = int(std::chrono::duration_cast<std::chrono::microseconds>(opts_.pollInterval).count());
  auto data = std::make_unique<gps_data_t>();
  auto backoff = opts_.initialBackoff;
  bool everFailed = false;

  while (!stopping_) {
    std::memset(data.get(), 0, sizeof(gps_data_t));
    if (gps_open(opts_.host.c_str(), port.c_str(), data.get()) != 0) {
      // libgps leaves its own (negative, NL_*) code in errno.
      std::string detail = name + " unreachable (" + gps_errstr(errno) + "), retrying in " + seconds(backoff);
      if (!everFailed) log::warn(kLog, detail);
      else log::debug(kLog, detail);
      everFailed = true;
      sink.onSourceState(false, detail);
      if (!sleepUnlessStopped(backoff)) break;
      backoff = std::min(backoff * 2, opts_.maxBackoff);
      continue;
    }
    if (gps_stream(data.get(), WATCH_ENABLE | WATCH_JSON, nullptr) != 0) {
      std::string detail = name + " refused the WATCH request, retrying in " + seconds(backoff);
      log::warn(kLog, detail);
      gps_close(data.get());
      sink.onSourceState(false, detail);
      if (!sleepUnlessStopped(backoff)) break;
      backoff = std::min(backoff * 2, opts_.maxBackoff);
      continue;
    }
    backoff = opts_.initialBackoff;
    everFailed = false;
    log::info(kLog, name + " connected");
    sink.onSourceState(true, name + " connected");

    int64_t lastReportMs = clock_.monotonicMs();
    bool silent = false;
    std::string lost;
    char msg[8192];
    while (!stopping_) {
      if (!gps_waiting(data.get(), waitUs)) {
        int64_t quietMs = clock_.monotonicMs() - lastReportMs;
        if (!silent && opts_.silenceTimeout.count() > 0 && quietMs >= opts_.silenceTimeout.count()) {
          silent = true;
          std::string detail = name + ": connected, but no reports for " + seconds(opts_.silenceTimeout);
          log::warn(kLog, detail);
          sink.onSourceState(false, detail);
        }
        continue;
      }
      data->set = 0;  // TPV replaces set; other classes only add bits
      msg[0] = '\0';
      errno = 0;
      int n = gps_read(data.get(), msg, int(sizeof msg));
      if (n < 0) {
        lost = errno > 0 ? std::strerror(errno) : "gpsd closed it";
        break;
      }
      if (n == 0) continue;
      bool tpv = isClass(msg, "TPV");
      if (!tpv && !isClass(msg, "SKY")) continue;
      lastReportMs = clock_.monotonicMs();
      if (silent) {
        silent = false;
        log::info(kLog, name + ": reports again");
        sink.onSourceState(true, name + ": reports again");
      }
      if (tpv) sink.onFix(fixFromGpsData(*data, lastReportMs));
    }
    gps_close(data.get());
    if (stopping_) break;
    std::string detail = name + ": connection lost (" + lost + "), reconnecting in " + seconds(opts_.initialBackoff);
    log::warn(kLog, detail);
    sink.onSourceState(false, detail);
    if (!sleepUnlessStopped(opts_.initialBackoff)) break;
  }
}

}  // namespace mdc::hw
