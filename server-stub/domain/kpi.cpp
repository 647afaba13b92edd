#include "server-stub/domain/kpi.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <map>
#include <sstream>

#include "mdc/v1/mdc.pb.h"
#include "server-stub/store/read_models.h"
#include "shared/wire/clock.h"
#include "shared/wire/codec.h"

namespace cad {

namespace v1 = mdc::v1;

namespace {

/** The log walked in order: which unit is on which call, and each call's moments. */
class KpiWalk {
 public:
  explicit KpiWalk(KpiReport& r) : r_(r) {}

  void created(const CallClockEvent& e, const CallOrigin& origin) {
    CfsKpi k;
    k.incident = origin.incident;
    k.type = origin.type;
    k.source = origin.source;
    k.createdAtMs = e.kind == "cfs" ? e.recordedAtMs : e.receivedAtMs;
    index_[k.incident] = r_.cfs.size();
    if (e.kind == "cfs" && (unitOn_.find(e.unit) == unitOn_.end())) {
      k.dispatchedAtMs = k.createdAtMs;
      unitOn_[e.unit] = k.incident;
      active_[k.incident].insert(e.unit);
    }
    r_.cfs.push_back(k);
  }

  void assigned(const CallClockEvent& e) {
    const std::string incident = incidentOf(e);
    auto ix = index_.find(incident);
    if (ix == index_.end()) return;
    if (auto prev = unitOn_.find(e.unit); prev != unitOn_.end() && prev->second != incident)
      clear(prev->second, e.unit, e.receivedAtMs);
    if (r_.cfs[ix->second].dispatchedAtMs == 0) r_.cfs[ix->second].dispatchedAtMs = e.receivedAtMs;
    unitOn_[e.unit] = incident;
    active_[incident].insert(e.unit);
  }

  void closed(const CallClockEvent& e) {
    const std::string incident = incidentOf(e);
    auto ix = index_.find(incident);
    if (ix == index_.end()) return;
    if (r_.cfs[ix->second].clearedAtMs == 0) r_.cfs[ix->second].clearedAtMs = e.receivedAtMs;
    for (const auto& u : active_[incident]) unitOn_.erase(u);
    active_.erase(incident);
  }

  void status(const CallClockEvent& e) {
    v1::Envelope env;
    if (!env.ParseFromString(e.payload)) return;
    std::string incident = env.status().incident_number();
    if (incident.empty() && unitOn_.count(e.unit)) incident = unitOn_[e.unit];
    auto ix = index_.find(incident);
    if (ix == index_.end()) return;
    CfsKpi& k = r_.cfs[ix->second];
    auto s = env.status().status();
    if (s == v1::UNIT_STATUS_EN_ROUTE && k.enrouteAtMs == 0) k.enrouteAtMs = e.recordedAtMs;
    if (s == v1::UNIT_STATUS_ON_SCENE && k.arrivedAtMs == 0) k.arrivedAtMs = e.recordedAtMs;
    if (mdc::codec::statusEndsAssignment(s)) clear(incident, e.unit, e.recordedAtMs);
  }

 private:
  static std::string incidentOf(const CallClockEvent& e) {
    QJsonObject j = QJsonDocument::fromJson(QByteArray::fromStdString(e.payload)).object();
    return j.value("incident").toString().toStdString();
  }

  void clear(const std::string& incident, const std::string& unit, int64_t at) {
    auto it = active_.find(incident);
    if (it == active_.end()) return;
    it->second.erase(unit);
    if (unitOn_[unit] == incident) unitOn_.erase(unit);
    auto ix = index_.find(incident);
    if (it->second.empty() && ix != index_.end() && r_.cfs[ix->second].clearedAtMs == 0)
      r_.cfs[ix->second].clearedAtMs = at;
  }

  KpiReport& r_;
  std::map<std::string, size_t> index_;                  // incident -> r.cfs
  std::map<std::string, std::string> unitOn_;            // unit -> incident
  std::map<std::string, std::set<std::string>> active_;  // incident -> units not cleared
};

/** The averages over the calls that have both ends of each interval. */
void average(KpiReport& r) {
  double sums[4] = {0, 0, 0, 0};
  for (const auto& k : r.cfs) {
    auto add = [&](int i, int64_t from, int64_t to) {
      if (from > 0 && to > 0 && to >= from) {
        sums[i] += double(to - from) / 1000.0;
        ++r.counted[i];
      }
    };
    add(0, k.createdAtMs, k.dispatchedAtMs);
    add(1, k.dispatchedAtMs, k.enrouteAtMs);
    add(2, k.createdAtMs, k.arrivedAtMs);
    add(3, k.arrivedAtMs, k.clearedAtMs);
  }
  double* avgs[4] = {&r.avgToDispatchS, &r.avgToEnrouteS, &r.avgToArrivalS, &r.avgOnSceneS};
  for (int i = 0; i < 4; ++i)
    if (r.counted[i] > 0) *avgs[i] = sums[i] / r.counted[i];
}

}  // namespace

KpiReport computeKpi(EventStore& store, const std::string& agency) {
  KpiReport r;
  ReadModels read(store);
  // The incident number of a created CFS is derived from its event; the cfs
  // table maps the creating event's id to it.
  std::map<std::string, CallOrigin> incidentOfEvent;
  for (auto& o : read.callOrigins()) incidentOfEvent[o.originEventId] = std::move(o);
  KpiWalk walk(r);
  read.callClockEvents(agency, [&](const CallClockEvent& e) {
    if (e.kind == "cfs" || e.kind == "dispatch.create_cfs") {
      if (auto m = incidentOfEvent.find(e.eventId); m != incidentOfEvent.end()) walk.created(e, m->second);
    } else if (e.kind == "dispatch.assign") {
      walk.assigned(e);
    } else if (e.kind == "dispatch.close_cfs") {
      walk.closed(e);
    } else if (e.kind == "status") {
      walk.status(e);
    }
  });
  average(r);
  return r;
}

namespace {
double secs(int64_t from, int64_t to) { return from > 0 && to > 0 && to >= from ? double(to - from) / 1000.0 : -1; }
}  // namespace

QJsonObject KpiReport::toJson() const {
  QJsonArray arr;
  for (const auto& k : cfs)
    arr.append(QJsonObject{{"incident", QString::fromStdString(k.incident)},
                           {"type", QString::fromStdString(k.type)},
                           {"source", QString::fromStdString(k.source)},
                           {"to_dispatch_s", secs(k.createdAtMs, k.dispatchedAtMs)},
                           {"to_enroute_s", secs(k.dispatchedAtMs, k.enrouteAtMs)},
                           {"to_arrival_s", secs(k.createdAtMs, k.arrivedAtMs)},
                           {"on_scene_s", secs(k.arrivedAtMs, k.clearedAtMs)}});
  return QJsonObject{{"cfs", arr},
                     {"average", QJsonObject{{"to_dispatch_s", avgToDispatchS},
                                             {"to_enroute_s", avgToEnrouteS},
                                             {"to_arrival_s", avgToArrivalS},
                                             {"on_scene_s", avgOnSceneS}}},
                     {"counted", QJsonObject{{"to_dispatch", counted[0]},
                                             {"to_enroute", counted[1]},
                                             {"to_arrival", counted[2]},
                                             {"on_scene", counted[3]}}}};
}

std::string KpiReport::toText() const {
  std::ostringstream o;
  auto f = [](double v) {
    if (v < 0) return std::string("-");
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", v);
    return std::string(b);
  };
  char line[200];
  std::snprintf(line, sizeof line, "%-12s %-18s %-8s %12s %12s %12s %12s\n", "CFS", "TYPE", "SOURCE", "DISPATCH s",
                "EN ROUTE s", "ARRIVAL s", "ON SCENE s");
  o << line;
  for (const auto& k : cfs) {
    std::snprintf(line, sizeof line, "%-12s %-18s %-8s %12s %12s %12s %12s\n", k.incident.c_str(), k.type.c_str(),
                  k.source.c_str(), f(secs(k.createdAtMs, k.dispatchedAtMs)).c_str(),
                  f(secs(k.dispatchedAtMs, k.enrouteAtMs)).c_str(), f(secs(k.createdAtMs, k.arrivedAtMs)).c_str(),
                  f(secs(k.arrivedAtMs, k.clearedAtMs)).c_str());
    o << line;
  }
  std::snprintf(line, sizeof line, "%-12s %-18s %-8s %12s %12s %12s %12s\n", "average", "", "", f(avgToDispatchS).c_str(),
                f(avgToEnrouteS).c_str(), f(avgToArrivalS).c_str(), f(avgOnSceneS).c_str());
  o << line;
  return o.str();
}

}  // namespace cad
