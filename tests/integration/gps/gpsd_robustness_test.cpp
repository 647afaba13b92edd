// GpsdSource against what can go wrong on gpsd's side: a scripted fake gpsd
// that speaks the JSON protocol and sends garbage between good reports, and the
// real gpsd fed by a receiver that has no fix.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <thread>

#include "hw/avl_policy.h"
#include "hw/gpsd_source.h"
#include "tests/support/gpsd.h"
#include "tests/support/nmea_writer.h"
#include "tests/support/probes.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

using namespace std::chrono_literals;
using mdc::hw::Fix;
using mdc::hw::GpsdLine;
using mdc::hw::GpsdOptions;
using mdc::hw::GpsdSource;
using mdc::test::GpsProbe;

namespace {

// A fake gpsd on 127.0.0.1: greets with VERSION, waits for ?WATCH, answers
// DEVICES and WATCH, then sends its script and stays connected, quiet.
class FakeGpsd {
 public:
  explicit FakeGpsd(std::vector<std::string> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeGpsd() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  bool watched() const { return watched_; }

 private:
  bool send(int c, const std::string& line) {
    std::string l = line + "\r\n";
    return ::send(c, l.data(), l.size(), MSG_NOSIGNAL) == ssize_t(l.size());
  }
  void serve() {
    int c = -1;
    while (!stop_ && c < 0) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    }
    if (c < 0) return;
    send(c, R"({"class":"VERSION","release":"3.22","rev":"3.22","proto_major":3,"proto_minor":14})");
    std::string got;
    while (!stop_ && got.find("?WATCH") == std::string::npos) {
      pollfd p{c, POLLIN, 0};
      char buf[256];
      if (::poll(&p, 1, 50) > 0) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, size_t(n));
      }
    }
    watched_ = got.find(R"("json":true)") != std::string::npos;
    send(
        c,
        R"({"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/ttyFAKE","activated":"2026-01-01T00:00:00.000Z"}]})");
    send(
        c,
        R"({"class":"WATCH","enable":true,"json":true,"nmea":false,"raw":0,"scaled":false,"timing":false,"split24":false,"pps":false})");
    for (auto& line : script_) {
      if (stop_ || !send(c, line)) break;
      std::this_thread::sleep_for(5ms);
    }
    while (!stop_) std::this_thread::sleep_for(20ms);
    ::close(c);
  }

  std::vector<std::string> script_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false}, watched_{false};
  std::thread thread_;
};

std::string tpv(int second, double lat, double lon) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                R"({"class":"TPV","device":"/dev/ttyFAKE","mode":3,"time":"2026-01-01T00:00:%02d.000Z",)"
                R"("lat":%.6f,"lon":%.6f,"altMSL":12.5,"speed":8.5,"track":29.0,"eph":6.0})",
                second, lat, lon);
  return buf;
}

// "$GPRMC,...*HH" with its checksum.
std::string nmea(const std::string& body) { return mdc::test::nmea::checksummed(body); }

}  // namespace

TEST_CASE("gps: classifyGpsdLine tells good reports from garbage", "[gps]") {
  using mdc::hw::classifyGpsdLine;
  CHECK(classifyGpsdLine(tpv(1, 40.75, -73.99)) == GpsdLine::Tpv);
  CHECK(classifyGpsdLine(R"({"class":"SKY","uSat":9,"satellites":[{"PRN":5,"used":true}]})") == GpsdLine::Sky);
  CHECK(classifyGpsdLine(R"({"class":"VERSION","release":"3.22"})") == GpsdLine::OtherClass);
  CHECK(classifyGpsdLine(R"({"class":"TPV","mode":3,"lat":40.7,"lo)") == GpsdLine::Truncated);
  CHECK(classifyGpsdLine(R"({"class":"TPV","mode":3,"lat":40.7)") == GpsdLine::Truncated);
  CHECK(classifyGpsdLine(R"({"class":"TPV","device":"/dev/x)") == GpsdLine::Truncated);
  CHECK(classifyGpsdLine(R"({"class":"FOO"})") == GpsdLine::UnknownClass);
  CHECK(classifyGpsdLine(R"({"mode":3})") == GpsdLine::UnknownClass);
  CHECK(classifyGpsdLine(R"({"class":3})") == GpsdLine::UnknownClass);
  CHECK(classifyGpsdLine(R"({"class":"TPV","mode":"three"})") == GpsdLine::WrongType);
  CHECK(classifyGpsdLine(R"({"class":"TPV","mode":3,"time":12})") == GpsdLine::WrongType);
  CHECK(classifyGpsdLine(R"({"class":"SKY","uSat":"nine"})") == GpsdLine::WrongType);
  CHECK(classifyGpsdLine("hello") == GpsdLine::NotJson);
  CHECK(classifyGpsdLine("") == GpsdLine::NotJson);
  CHECK(classifyGpsdLine(R"({"class":"TPV"} trailing)") == GpsdLine::NotJson);
  CHECK(classifyGpsdLine(R"({"class":"TPV","lat":4..0})") == GpsdLine::NotJson);
  CHECK(classifyGpsdLine("{\"class\":\"TPV\",\"device\":\"a\tb\"}") == GpsdLine::NotJson);  // raw control char
}

TEST_CASE("gps: garbage from gpsd is skipped and counted by reason, good reports keep coming", "[gps]") {
  FakeGpsd fake({
      tpv(1, 40.750000, -73.990000),
      R"({"class":"TPV","device":"/dev/ttyFAKE","mode":3,"time":"2026-01-01T00:00:02.000Z","lat":40.7)",  // cut
      R"({"class":"BOGUS","mode":3,"lat":40.7,"lon":-73.9})",                                   // unknown class
      R"({"mode":3,"lat":40.7,"lon":-73.9})",                                                   // no class
      R"({"class":"TPV","mode":"three","lat":"north","lon":-73.9})",                            // wrong types
      R"({"class":"TPV","mode":3,"time":12,"lat":40.7,"lon":-73.9})",                           // time is a number
      "hello gpsd",                                                                             // not JSON
      R"({"class":"TPV","mode":3,"lat":40.7,"lon":-73.9} and more)",                            // garbage after
      R"({"class":"TPV","mode":3,"time":"2026-01-01T00:00:03.000Z","lat":400.7,"lon":-73.9})",  // off the globe
      R"({"class":"TPV","mode":9,"time":"2026-01-01T00:00:03.000Z","lat":40.7,"lon":-73.9})",   // no such mode
      R"({"class":"ERROR","message":"unrecognized request"})",
      tpv(4, 40.750500, -73.989800),
      R"({"class":"SKY","device":"/dev/ttyFAKE","satellites":[{"PRN":5,"used":true},{"PRN":7,"used":true}]})",
      tpv(5, 40.751000, -73.989600),
  });
  GpsProbe probe;
  GpsdSource source(GpsdOptions{.host = "127.0.0.1", .port = fake.port()});
  source.start(probe);
  REQUIRE(probe.waitPositions(3, 10s));
  REQUIRE(mdc::test::waitUntil([&] { return source.counters().lines >= 17; }, 5s));
  source.stop();
  CHECK(fake.watched());

  auto fixes = probe.fixes();
  REQUIRE(fixes.size() == 3);  // only the good TPVs, nothing from the garbage
  CHECK(fixes[0].lat == Approx(40.75));
  CHECK(fixes[0].timeMs == 1'767'225'601'000);
  CHECK(fixes[1].lat == Approx(40.7505));
  CHECK(fixes[1].timeMs == 1'767'225'604'000);
  CHECK(fixes[2].lat == Approx(40.751));
  CHECK(fixes[2].lon == Approx(-73.9896));
  CHECK(fixes[2].satellitesUsed == 2);  // from the SKY in between
  for (auto& f : fixes) {
    CHECK(f.mode == Fix::Mode::Fix3D);
    CHECK(f.ephM == 6.0);
  }
  auto c = source.counters();
  CHECK(c.connects == 1);
  CHECK(c.lines == 17);
  CHECK(c.tpv == 3);
  CHECK(c.sky == 1);
  CHECK(c.otherClass == 4);  // VERSION, DEVICES, WATCH, ERROR
  CHECK(c.skippedTruncated == 1);
  CHECK(c.skippedUnknownClass == 2);
  CHECK(c.skippedWrongType == 2);
  CHECK(c.skippedNotJson == 2);
  CHECK(c.skippedOutOfRange == 2);
  CHECK(c.skipped() == 9);
  CHECK(c.connectionsLost == 0);  // garbage is no reason to drop the connection
}

TEST_CASE("gps: a receiver with no fix through the real gpsd gives NoFix fixes and no AVL", "[gps]") {
  mdc::test::TempDir dir("mdc-gps");
  // 30 s of a receiver that sees no satellites: RMC "V", GGA quality 0, GSA mode 1.
  std::string path = dir.file("nofix.log");
  {
    std::ofstream out(path);
    for (int s = 0; s < 30; ++s) {
      char t[16];
      std::snprintf(t, sizeof t, "1402%02d.000", s);
      out << nmea(std::string("GPGGA,") + t + ",,,,,0,00,99.9,,M,,M,,") << "\r\n";
      out << nmea("GPGSA,A,1,,,,,,,,,,,,,99.9,99.9,99.9") << "\r\n";
      out << nmea(std::string("GPRMC,") + t + ",V,,,,,,,240126,,,N") << "\r\n";
    }
  }
  mdc::test::Gpsd gpsd(dir, mdc::test::GpsdFixtureOptions{.log = path});
  GpsProbe probe;
  GpsdSource source(GpsdOptions{.host = gpsd.host(), .port = gpsd.port()});
  source.start(probe);
  REQUIRE(probe.waitState(true, 0, 10s));
  bool some = mdc::test::waitUntil([&] { return probe.fixes().size() >= 20; }, 20s);
  REQUIRE(probe.waitQuiet(300ms));
  source.stop();
  INFO("gpsd log:\n" << gpsd.log());
  REQUIRE(some);

  mdc::hw::AvlPolicy policy;
  auto fixes = probe.fixes();
  for (const Fix& f : fixes) {
    CAPTURE(f.timeMs, int(f.mode));
    CHECK_FALSE(f.hasPosition());
    CHECK((f.mode == Fix::Mode::NoFix || f.mode == Fix::Mode::Unknown));
    CHECK(std::isnan(f.lat));
    CHECK(std::isnan(f.lon));
    // Even in an emergency, a receiver without a fix produces no AVL report.
    CHECK_FALSE(policy.offer(f, mdc::hw::AvlVehicleState{.emergencyActive = true}, f.receivedMonoMs).report);
  }
  CHECK(probe.positions().empty());
  CHECK(policy.counters().reports == 0);
  CHECK(policy.counters().filtered(mdc::hw::AvlFilterReason::NoPosition) == fixes.size());
  // The state says so: the fixes say NoFix (with the receiver's time where gpsd had one).
  size_t noFix = 0;
  for (auto& f : fixes) noFix += f.mode == Fix::Mode::NoFix;
  CHECK(noFix >= 20);
  CHECK(source.counters().skipped() == 0);
}
