#pragma once
// Response-time KPIs computed from the event log itself (not the read models):
// per CFS and averaged - time to dispatch, to en route, to arrival, on scene.
#include <QJsonObject>

#include <cstdint>
#include <string>
#include <vector>

#include "server-stub/store/event_store.h"

namespace cad {

struct CfsKpi {
  std::string incident;
  std::string type;
  std::string source;          ///< dispatch | self
  int64_t createdAtMs = 0;
  int64_t dispatchedAtMs = 0;  ///< first unit assigned (self-initiated: when created)
  int64_t enrouteAtMs = 0;     ///< first unit en route
  int64_t arrivedAtMs = 0;     ///< first unit on scene
  int64_t clearedAtMs = 0;     ///< last unit cleared, or closed by dispatch
};

struct KpiReport {
  std::vector<CfsKpi> cfs;
  /** Averages in seconds over the CFS that have both ends; -1 when none. */
  double avgToDispatchS = -1, avgToEnrouteS = -1, avgToArrivalS = -1, avgOnSceneS = -1;
  int counted[4] = {0, 0, 0, 0};
  QJsonObject toJson() const;
  std::string toText() const;
};

/** Walks the log in order (agency empty = all agencies). */
KpiReport computeKpi(EventStore& store, const std::string& agency);

}  // namespace cad
