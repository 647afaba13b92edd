// Distances, bearings and their words: what the responder reads as "1.2 km NE".
#include <catch2/catch.hpp>

#include "shared/wire/geo.h"

using namespace mdc;

TEST_CASE("distance and bearing between known points", "[geo]") {
  // Times Square to the Empire State Building: about 1.05 km, south-south-east.
  const double d = geo::distanceM(40.75800, -73.98550, 40.74844, -73.98566);
  CHECK(d == Approx(1063).margin(10));
  CHECK(geo::bearingDeg(40.75800, -73.98550, 40.74844, -73.98566) == Approx(180.8).margin(0.5));
  CHECK(geo::bearingDeg(0, 0, 0, 1) == Approx(90));
  CHECK(geo::bearingDeg(0, 0, -1, 0) == Approx(180));
  CHECK(geo::bearingDeg(0, 0, 0, -1) == Approx(270));
  CHECK(geo::distanceM(51.5, -0.12, 51.5, -0.12) == 0);
}

TEST_CASE("east/north offsets invert offset() within a city", "[geo]") {
  double lat = 0, lon = 0;
  geo::offset(40.758, -73.9855, 1200, -3400, lat, lon);
  double e = 0, n = 0;
  geo::eastNorthM(40.758, -73.9855, lat, lon, e, n);
  CHECK(e == Approx(1200).margin(0.5));
  CHECK(n == Approx(-3400).margin(0.5));
  CHECK(std::hypot(e, n) == Approx(geo::distanceM(40.758, -73.9855, lat, lon)).epsilon(0.001));
}

TEST_CASE("compass points and distances in words", "[geo]") {
  CHECK(std::string(geo::compassPoint(0)) == "N");
  CHECK(std::string(geo::compassPoint(22.4)) == "N");
  CHECK(std::string(geo::compassPoint(22.5)) == "NE");
  CHECK(std::string(geo::compassPoint(180.8)) == "S");
  CHECK(std::string(geo::compassPoint(337.6)) == "N");
  CHECK(std::string(geo::compassPoint(-45)) == "NW");
  CHECK(geo::distanceText(0) == "0 m");
  CHECK(geo::distanceText(84) == "80 m");
  CHECK(geo::distanceText(994) == "990 m");
  CHECK(geo::distanceText(995) == "1.0 km");
  CHECK(geo::distanceText(1063) == "1.1 km");
  CHECK(geo::distanceText(9949) == "9.9 km");
  CHECK(geo::distanceText(14'200) == "14 km");
  CHECK(geo::distanceText(__builtin_nan("")) == "-");
}
