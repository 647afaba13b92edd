#include "server-stub/cli/cadctl_board.h"

#include <QJsonArray>

#include <cstdio>

#include "server-stub/cli/cadctl_print.h"
#include "shared/wire/clock.h"
#include "shared/wire/codec.h"

namespace cad::cli {

namespace {

QJsonObject unitJson(const mdc::sql::Stmt& st) {
  return QJsonObject{{"unit", QString::fromStdString(st.text(0))},
                     {"agency", QString::fromStdString(st.text(1))},
                     {"device", QString::fromStdString(st.text(2))},
                     {"status", QString::fromStdString(mdc::codec::statusName(int(st.i64(3))))},
                     {"status_at_ms", qint64(st.i64(4))},
                     {"online", st.i64(8) == 1},
                     {"online_changed_ms", qint64(st.i64(9))},
                     {"last_seen_ms", qint64(st.i64(10))},
                     {"cfs", QString::fromStdString(st.text(11))},
                     {"emergency", st.i64(12) == 1},
                     {"emergency_active", st.i64(13) == 1},
                     {"emergency_ack_by", QString::fromStdString(st.text(14))},
                     {"dropped_avl", qint64(st.i64(15))},
                     {"zone", QString::fromStdString(st.text(19))}};
}

void printUnitLine(const mdc::sql::Stmt& st, bool safety) {
  char pos[40] = "-";
  if (!st.isNull(5)) std::snprintf(pos, sizeof pos, "%.5f,%.5f", st.f64(5), st.f64(6));
  // The device's state (active or cleared) and the dispatcher's (to acknowledge or not).
  const bool flagged = st.i64(12) == 1, active = st.i64(13) == 1;
  std::string flags = flagged ? (active ? "EMERGENCY-UNACKED" : "EMERGENCY-CLEARED-UNACKED")
                              : (active ? "EMERGENCY-ACKED" : "");
  if (st.i64(15) > 0) flags += (flags.empty() ? "" : " ") + std::string("avl-gap:") + std::to_string(st.i64(15));
  if (safety) flags += (flags.empty() ? "" : " ") + std::string("OFFICER-SAFETY ") + st.text(16);
  std::printf("%-8s %-6s %-14s %-20s %-6s %-24s %-13s %s\n", st.text(0).c_str(), st.text(1).c_str(),
              mdc::codec::statusName(int(st.i64(3))).c_str(), iso(st.i64(4)).substr(0, 19).c_str(),
              st.i64(8) ? "online" : "OFF", pos, st.text(11).empty() ? "-" : st.text(11).c_str(), flags.c_str());
}

int board(EventStore& s, const std::string& agency, const std::string& zone, const std::string& district, bool json) {
  auto st = s.db().prepare(
      "SELECT unit_id, agency, device_id, status, status_at_ms, lat, lon, pos_at_ms, online, online_changed_ms, "
      "last_seen_ms, current_cfs, emergency, emergency_active, emergency_ack_by, dropped_avl, safety_flag, "
      "safety_at_ms, safety_cfs, zone FROM units "
      "WHERE (?1='' OR agency=?1) AND (?2='' OR zone=?2) AND (?3='' OR zone IN (SELECT z.zone FROM zones z WHERE "
      "z.agency=units.agency AND z.district=?3)) ORDER BY agency, unit_id");
  st.bind(1, agency).bind(2, zone).bind(3, district);
  if (!json && (!zone.empty() || !district.empty()))
    std::printf("%s\n", (zone.empty() ? "district " + district : "zone " + zone).c_str());
  QJsonArray arr;
  if (!json)
    std::printf("%-8s %-6s %-14s %-20s %-6s %-24s %-13s %s\n", "UNIT", "AGENCY", "STATUS", "SINCE", "LINK",
                "POSITION", "CFS", "FLAGS");
  while (st.step()) {
    QJsonObject u = unitJson(st);
    // Officer safety: the unit's latest hit, while it is on the CFS of the
    // query (or for an hour after a query that named no CFS).
    const std::string safetyCfs = st.text(18);
    const bool safety = !st.text(16).empty() &&
                        (safetyCfs.empty() ? mdc::SystemClock::instance().nowMs() - st.i64(17) < 3'600'000
                                           : safetyCfs == st.text(11));
    if (safety) {
      u["safety"] = QString::fromStdString(st.text(16));
      u["safety_at_ms"] = qint64(st.i64(17));
    }
    if (!st.isNull(5)) {
      u["lat"] = st.f64(5);
      u["lon"] = st.f64(6);
      u["pos_at_ms"] = qint64(st.i64(7));
    }
    arr.append(u);
    if (!json) printUnitLine(st, safety);
  }
  if (json) printJson(arr);
  return kOk;
}

}  // namespace

int boardCommand(Invocation& inv) {
  return withStore(inv, [&](EventStore& s) {
    return board(s, inv.agency, inv.opt("--zone"), inv.opt("--district"), inv.json);
  });
}

}  // namespace cad::cli
