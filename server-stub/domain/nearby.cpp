#include "server-stub/domain/nearby.h"

#include <algorithm>
#include <cmath>

#include "shared/wire/geo.h"

namespace cad::nearby {

namespace geo = mdc::geo;

mdc::v1::UnitsNearby forUnit(const UnitPlace& self, const std::vector<UnitPlace>& all, uint32_t radiusM) {
  struct Candidate {
    const UnitPlace* place;
    double distanceM;
    bool sameCall;
  };
  std::vector<Candidate> picked;
  // A box around self first (a few comparisons), the great circle only inside it.
  const double dLat = geo::toDeg(double(radiusM) / geo::kEarthRadiusM) * 1.01;
  const double cosLat = std::cos(geo::toRad(std::min(89.0, std::fabs(self.lat) + dLat)));
  const double dLon = dLat / std::max(cosLat, 0.01);
  for (const auto& u : all) {
    if (!u.hasPosition || u.agency != self.agency || u.unit == self.unit) continue;
    const bool sameCall = !self.incident.empty() && u.incident == self.incident;
    const bool inBox = self.hasPosition && std::fabs(u.lat - self.lat) <= dLat &&
                       std::fabs(std::remainder(u.lon - self.lon, 360.0)) <= dLon;
    if (!sameCall && !inBox) continue;
    const double d = self.hasPosition ? geo::distanceM(self.lat, self.lon, u.lat, u.lon) : 0.0;
    if (sameCall || d <= double(radiusM)) picked.push_back({&u, d, sameCall});
  }
  auto nearer = [](const Candidate& a, const Candidate& b) {
    return a.distanceM < b.distanceM || (a.distanceM == b.distanceM && a.place->unit < b.place->unit);
  };
  // Over the cap: the units on the call are kept, then the nearest.
  if (picked.size() > size_t(kMaxUnits)) {
    std::sort(picked.begin(), picked.end(), [&](const Candidate& a, const Candidate& b) {
      return a.sameCall != b.sameCall ? a.sameCall : nearer(a, b);
    });
    picked.resize(size_t(kMaxUnits));
  }
  std::sort(picked.begin(), picked.end(), nearer);
  mdc::v1::UnitsNearby out;
  out.set_radius_m(radiusM);
  for (const auto& c : picked) {
    auto* n = out.add_units();
    n->set_unit_id(c.place->unit);
    n->set_status(mdc::v1::UnitStatus(c.place->status));
    n->set_lat(c.place->lat);
    n->set_lon(c.place->lon);
    n->set_position_at_ms(c.place->positionAtMs);
    n->set_emergency(c.place->emergency);
    n->set_on_same_call(c.sameCall);
    n->set_distance_m(uint32_t(std::lround(std::min(c.distanceM, 4e9))));
    n->set_incident_number(c.place->incident);
  }
  return out;
}

namespace {
// What the unit would notice: who, status, emergency, call, and where to ~10 m.
std::string digestOf(const mdc::v1::UnitsNearby& n) {
  std::string d;
  for (const auto& u : n.units())
    d += u.unit_id() + "/" + std::to_string(u.status()) + "/" + (u.emergency() ? "E" : "-") +
         (u.on_same_call() ? "C" : "-") + "/" + u.incident_number() + "/" + std::to_string(std::lround(u.lat() * 1e4)) +
         "," + std::to_string(std::lround(u.lon() * 1e4)) + ";";
  return d;
}
}  // namespace

std::vector<Planner::Due> Planner::due(const std::vector<UnitPlace>& all, int64_t nowMs) {
  // Emergencies that started or ended since the last tick: the units near
  // them (or on their call) are looked at now, whatever their interval.
  std::set<std::string> emergencies;
  for (const auto& u : all)
    if (u.emergency) emergencies.insert(u.unit);
  std::vector<const UnitPlace*> changed;
  for (const auto& u : all)
    if (u.emergency != (lastEmergencies_.count(u.unit) > 0)) changed.push_back(&u);
  lastEmergencies_ = std::move(emergencies);
  auto nearChange = [&](const UnitPlace& self) {
    for (const UnitPlace* c : changed) {
      if (c->agency != self.agency || c->unit == self.unit) continue;
      if (!self.incident.empty() && c->incident == self.incident) return true;
      if (self.hasPosition && c->hasPosition &&
          geo::distanceM(self.lat, self.lon, c->lat, c->lon) <= double(radiusM_) * 1.5)
        return true;
    }
    return false;
  };

  std::vector<Due> out;
  for (const auto& self : all) {
    if (!self.online || self.device.empty()) {
      sent_.erase(self.unit);  // told afresh when it is back
      continue;
    }
    auto it = sent_.find(self.unit);
    const bool fresh = it == sent_.end() || it->second.device != self.device;
    const bool refresh = !fresh && nowMs - it->second.atMs >= refreshMs_;
    const bool look = fresh || refresh || nowMs - it->second.lookedAtMs >= minIntervalMs_ || nearChange(self);
    if (!look) continue;
    mdc::v1::UnitsNearby body = forUnit(self, all, radiusM_);
    std::set<std::string> near;
    for (const auto& u : body.units())
      if (u.emergency()) near.insert(u.unit_id());
    const std::string digest = digestOf(body);
    const bool urgent = !fresh && near != it->second.emergencies;
    const bool send = fresh || refresh || urgent ||
                      (digest != it->second.digest && nowMs - it->second.atMs >= minIntervalMs_);
    if (!send) {
      it->second.lookedAtMs = nowMs;  // unchanged: look again after the interval
      continue;
    }
    sent_[self.unit] = Sent{digest, std::move(near), self.device, nowMs, nowMs};
    out.push_back(Due{&self, std::move(body), urgent || (fresh && !near.empty())});
  }
  return out;
}

}  // namespace cad::nearby
