#pragma once
// Small geodesy for AVL decisions, the route simulator, and where the call and
// the other units are: distances of a few metres to some tens of kilometres,
// where a spherical Earth is off by < 0.5 %.
#include <cmath>
#include <string>

namespace mdc::geo {

inline constexpr double kEarthRadiusM = 6'371'008.8;  ///< IUGG mean radius
inline constexpr double kPi = 3.14159265358979323846;

inline double toRad(double deg) {
  return deg * kPi / 180.0;
}
inline double toDeg(double rad) {
  return rad * 180.0 / kPi;
}

/** Great-circle distance in metres between two WGS84 points (haversine). NaN in, NaN out. */
inline double distanceM(double lat1, double lon1, double lat2, double lon2) {
  double p1 = toRad(lat1), p2 = toRad(lat2);
  double dp = p2 - p1, dl = toRad(lon2 - lon1);
  double a = std::sin(dp / 2) * std::sin(dp / 2) + std::cos(p1) * std::cos(p2) * std::sin(dl / 2) * std::sin(dl / 2);
  return 2 * kEarthRadiusM * std::asin(std::sqrt(std::fmin(1.0, a)));
}

/** Initial bearing from point 1 to point 2, degrees true in [0, 360). */
inline double bearingDeg(double lat1, double lon1, double lat2, double lon2) {
  double p1 = toRad(lat1), p2 = toRad(lat2), dl = toRad(lon2 - lon1);
  double y = std::sin(dl) * std::cos(p2);
  double x = std::cos(p1) * std::sin(p2) - std::sin(p1) * std::cos(p2) * std::cos(dl);
  double b = std::fmod(toDeg(std::atan2(y, x)) + 360.0, 360.0);
  return b >= 360.0 ? 0.0 : b;
}

/** Smallest absolute difference between two headings, degrees in [0, 180]. */
inline double headingDifferenceDeg(double a, double b) {
  double d = std::fmod(std::fabs(a - b), 360.0);
  return d > 180.0 ? 360.0 - d : d;
}

/** Normalises a heading to [0, 360). */
inline double normaliseDeg(double h) {
  double r = std::fmod(h, 360.0);
  if (r < 0) r += 360.0;
  return r >= 360.0 ? 0.0 : r;
}

/** The point east/north metres from (lat, lon) on a local tangent plane
 *  (equirectangular): exact enough within a city (< 0.1 m over 10 km). */
inline void offset(double lat, double lon, double eastM, double northM, double& outLat, double& outLon) {
  outLat = lat + toDeg(northM / kEarthRadiusM);
  outLon = lon + toDeg(eastM / (kEarthRadiusM * std::cos(toRad(lat))));
}

/** East and north metres of point 2 from point 1 on the local tangent plane
 *  at point 1 (the inverse of offset). */
inline void eastNorthM(double lat1, double lon1, double lat2, double lon2, double& eastM, double& northM) {
  northM = toRad(lat2 - lat1) * kEarthRadiusM;
  eastM = toRad(lon2 - lon1) * kEarthRadiusM * std::cos(toRad(lat1));
}

/** The 8-point compass name of a bearing: "N", "NE", ... "NW". */
inline const char* compassPoint(double bearingDeg) {
  static const char* const kPoints[] = {"N", "NE", "E", "SE", "S", "SW", "W", "NW"};
  return kPoints[int(std::floor(normaliseDeg(bearingDeg + 22.5) / 45.0)) % 8];
}

/** A distance as a responder reads it: "80 m", "950 m", "1.2 km", "14 km". */
inline std::string distanceText(double m) {
  if (!(m >= 0)) return "-";
  if (m < 995) return std::to_string(int(std::lround(m / 10.0) * 10)) + " m";
  if (m < 9950) {
    long tenths = std::lround(m / 100.0);
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " km";
  }
  return std::to_string(std::lround(m / 1000.0)) + " km";
}

}  // namespace mdc::geo
