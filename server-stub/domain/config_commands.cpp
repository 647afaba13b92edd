// An agency's configuration of its devices: the status buttons in order and
// the AVL intervals, sent to each of its units as a Configuration downlink.
#include <QJsonArray>
#include <QJsonObject>

#include <set>

#include "server-stub/domain/command_scope.h"
#include "server-stub/store/event_row.h"
#include "shared/wire/codec.h"

namespace cad {

namespace codec = mdc::codec;

Status checkAgencyConfig(CommandScope& c) {
  const control::AgencyConfig& cmd = c.req.agency_config();
  if (cmd.statuses_size() > 10)
    return refuse("statuses: " + std::to_string(cmd.statuses_size()) + " given, at most 10 (one per function key)");
  QJsonArray names;
  std::set<int> seen;
  for (const auto& name : cmd.statuses()) {
    auto status = codec::statusFromName(name);
    if (!status) return refuse("statuses: \"" + name + "\" is not a status (" + codec::statusNamesForHumans() + ")");
    if (!seen.insert(*status).second) return refuse("statuses: \"" + name + "\" is listed twice");
    names.append(QString::fromStdString(codec::statusName(*status)));
  }
  for (auto [key, value] : {std::pair{"avl_moving_s", cmd.avl_moving_s()}, std::pair{"avl_stationary_s", cmd.avl_stationary_s()}})
    if (value < 0 || value > 3600)
      return refuse(std::string(key) + " " + std::to_string(value) + ": out of range 1-3600 (0 keeps the device's value)");
  c.payload = {{"statuses", names}, {"avl_moving_s", cmd.avl_moving_s()}, {"avl_stationary_s", cmd.avl_stationary_s()}};
  return {};
}

void reportAgencyConfig(CommandScope& c, CommandOutcome& out) {
  // One Configuration downlink per unit of the agency.
  out.summary = "configuration of " + c.agency() + " sent to " + std::to_string(out.downlinks.size()) + " units";
}

}  // namespace cad
