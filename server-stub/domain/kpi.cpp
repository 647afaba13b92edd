#include "server-stub/domain/kpi.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <map>
#include <sstream>

#include "mdc/v1/mdc.pb.h"
#include "shared/wire/clock.h"
#include "shared/wire/codec.h"

namespace cad {

namespace v1 = mdc::v1;

KpiReport computeKpi(EventStore& store, const std::string& agency) {
  KpiReport r;
  std::map<std::string, size_t> index;              // incident -> r.cfs
  std::map<std::string, std::string> unitOn;        // unit -> incident
  std::map<std::string, std::set<std::string>> active;  // incident -> units not cleared
  // The incident number of a created CFS is derived from its event; the cfs
  // table maps the creating event's id to it.
  std::map<std::string, std::string> incidentOfEvent;
  {
    auto st = store.db().prepare("SELECT origin_event_id, incident_number, cfs_type, source FROM cfs");
    while (st.step()) incidentOfEvent[st.text(0)] = st.text(1) + "\t" + st.text(2) + "\t" + st.text(3);
  }
  auto st = store.db().prepare(
      "SELECT event_id, unit_id, kind, recorded_at_ms, received_at_ms, payload FROM events "
      "WHERE (?1='' OR agency=?1) AND kind IN ('cfs','status','dispatch.create_cfs','dispatch.assign',"
      "'dispatch.close_cfs') ORDER BY pos");
  st.bind(1, agency);
  auto clear = [&](const std::string& incident, const std::string& unit, int64_t at) {
    auto it = active.find(incident);
    if (it == active.end()) return;
    it->second.erase(unit);
    if (unitOn[unit] == incident) unitOn.erase(unit);
    auto ix = index.find(incident);
    if (it->second.empty() && ix != index.end() && r.cfs[ix->second].clearedAtMs == 0) r.cfs[ix->second].clearedAtMs = at;
  };
  while (st.step()) {
    std::string eventId = st.text(0), unit = st.text(1), kind = st.text(2);
    int64_t recorded = st.i64(3), received = st.i64(4);
    if (kind == "cfs" || kind == "dispatch.create_cfs") {
      auto m = incidentOfEvent.find(eventId);
      if (m == incidentOfEvent.end()) continue;
      std::istringstream parts(m->second);
      CfsKpi k;
      std::getline(parts, k.incident, '\t');
      std::getline(parts, k.type, '\t');
      std::getline(parts, k.source, '\t');
      k.createdAtMs = kind == "cfs" ? recorded : received;
      index[k.incident] = r.cfs.size();
      if (kind == "cfs" && (unitOn.find(unit) == unitOn.end())) {
        k.dispatchedAtMs = k.createdAtMs;
        unitOn[unit] = k.incident;
        active[k.incident].insert(unit);
      }
      r.cfs.push_back(k);
    } else if (kind == "dispatch.assign") {
      QJsonObject j = QJsonDocument::fromJson(QByteArray::fromStdString(st.blob(5))).object();
      std::string incident = j.value("incident").toString().toStdString();
      auto ix = index.find(incident);
      if (ix == index.end()) continue;
      if (auto prev = unitOn.find(unit); prev != unitOn.end() && prev->second != incident)
        clear(prev->second, unit, received);
      if (r.cfs[ix->second].dispatchedAtMs == 0) r.cfs[ix->second].dispatchedAtMs = received;
      unitOn[unit] = incident;
      active[incident].insert(unit);
    } else if (kind == "dispatch.close_cfs") {
      QJsonObject j = QJsonDocument::fromJson(QByteArray::fromStdString(st.blob(5))).object();
      std::string incident = j.value("incident").toString().toStdString();
      auto ix = index.find(incident);
      if (ix == index.end()) continue;
      if (r.cfs[ix->second].clearedAtMs == 0) r.cfs[ix->second].clearedAtMs = received;
      for (const auto& u : active[incident]) unitOn.erase(u);
      active.erase(incident);
    } else if (kind == "status") {
      v1::Envelope env;
      if (!env.ParseFromString(st.blob(5))) continue;
      std::string incident = env.status().incident_number();
      if (incident.empty() && unitOn.count(unit)) incident = unitOn[unit];
      auto ix = index.find(incident);
      if (ix == index.end()) continue;
      CfsKpi& k = r.cfs[ix->second];
      auto s = env.status().status();
      if (s == v1::UNIT_STATUS_EN_ROUTE && k.enrouteAtMs == 0) k.enrouteAtMs = recorded;
      if (s == v1::UNIT_STATUS_ON_SCENE && k.arrivedAtMs == 0) k.arrivedAtMs = recorded;
      if (mdc::codec::statusEndsAssignment(s)) clear(incident, unit, recorded);
    }
  }
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
