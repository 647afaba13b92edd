#include "server-stub/cli/cadctl_board.h"

#include <QJsonArray>

#include <cstdio>

#include "server-stub/cli/cadctl_print.h"
#include "server-stub/store/read_models.h"
#include "shared/wire/clock.h"
#include "shared/wire/codec.h"

namespace cad::cli {

namespace {

QJsonObject unitJson(const BoardUnit& u) {
  return QJsonObject{{"unit", QString::fromStdString(u.unit)},
                     {"agency", QString::fromStdString(u.agency)},
                     {"device", QString::fromStdString(u.device)},
                     {"status", QString::fromStdString(mdc::codec::statusName(int(u.status)))},
                     {"status_at_ms", qint64(u.statusAtMs)},
                     {"online", u.online},
                     {"online_changed_ms", qint64(u.onlineChangedMs)},
                     {"last_seen_ms", qint64(u.lastSeenMs)},
                     {"cfs", QString::fromStdString(u.cfs)},
                     {"emergency", u.emergency},
                     {"emergency_active", u.emergencyActive},
                     {"emergency_ack_by", QString::fromStdString(u.emergencyAckBy)},
                     {"dropped_avl", qint64(u.droppedAvl)},
                     {"zone", QString::fromStdString(u.zone)}};
}

void printUnitLine(const BoardUnit& u, bool safety) {
  char pos[40] = "-";
  if (u.position) std::snprintf(pos, sizeof pos, "%.5f,%.5f", u.position->first, u.position->second);
  // The device's state (active or cleared) and the dispatcher's (to acknowledge or not).
  const bool flagged = u.emergency, active = u.emergencyActive;
  std::string flags = flagged ? (active ? "EMERGENCY-UNACKED" : "EMERGENCY-CLEARED-UNACKED")
                              : (active ? "EMERGENCY-ACKED" : "");
  if (u.droppedAvl > 0) flags += (flags.empty() ? "" : " ") + std::string("avl-gap:") + std::to_string(u.droppedAvl);
  if (safety) flags += (flags.empty() ? "" : " ") + std::string("OFFICER-SAFETY ") + u.safetyFlag;
  std::printf("%-8s %-6s %-14s %-20s %-6s %-24s %-13s %s\n", u.unit.c_str(), u.agency.c_str(),
              mdc::codec::statusName(int(u.status)).c_str(), iso(u.statusAtMs).substr(0, 19).c_str(),
              u.online ? "online" : "OFF", pos, u.cfs.empty() ? "-" : u.cfs.c_str(), flags.c_str());
}

int board(EventStore& s, const BoardFilter& filter, bool json) {
  const auto units = ReadModels(s).board(filter);
  if (!json && (!filter.zone.empty() || !filter.district.empty()))
    std::printf("%s\n", (filter.zone.empty() ? "district " + filter.district : "zone " + filter.zone).c_str());
  QJsonArray arr;
  if (!json)
    std::printf("%-8s %-6s %-14s %-20s %-6s %-24s %-13s %s\n", "UNIT", "AGENCY", "STATUS", "SINCE", "LINK",
                "POSITION", "CFS", "FLAGS");
  for (const auto& unit : units) {
    QJsonObject u = unitJson(unit);
    // Officer safety: the unit's latest hit, while it is on the CFS of the
    // query (or for an hour after a query that named no CFS).
    const bool safety = !unit.safetyFlag.empty() &&
                        (unit.safetyCfs.empty() ? mdc::SystemClock::instance().nowMs() - unit.safetyAtMs < 3'600'000
                                                : unit.safetyCfs == unit.cfs);
    if (safety) {
      u["safety"] = QString::fromStdString(unit.safetyFlag);
      u["safety_at_ms"] = qint64(unit.safetyAtMs);
    }
    if (unit.position) {
      u["lat"] = unit.position->first;
      u["lon"] = unit.position->second;
      u["pos_at_ms"] = qint64(unit.positionAtMs);
    }
    arr.append(u);
    if (!json) printUnitLine(unit, safety);
  }
  if (json) printJson(arr);
  return kOk;
}

}  // namespace

int boardCommand(Invocation& inv) {
  return withStore(inv, [&](EventStore& s) {
    return board(s, BoardFilter{inv.agency, inv.opt("--zone"), inv.opt("--district")}, inv.json);
  });
}

}  // namespace cad::cli
