#pragma once
// cadctl's zones and districts: `zones set|remove|assign|supervise|list`.
#include <QJsonObject>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "server-stub/cli/cadctl_command.h"
#include "server-stub/store/event_store.h"

namespace cad::cli {

/** The control request of `zones set ZONE --district D`, `zones remove ZONE`,
 *  `zones assign UNIT --zone Z|none` or `zones supervise UNIT (--zones
 *  Z1,Z2 | --district D | --none)`; nullopt after printing why it is wrong. */
std::optional<ControlRequest> zonesRequest(ControlRequest base, const std::vector<std::string>& pos,
                                        const std::map<std::string, std::string>& opts,
                                        const std::set<std::string>& flags);

/** `zones list [--json]`: each district, its zones, their units and who supervises them. */
int zonesList(EventStore& s, const std::string& agency, bool json);

/** `zones list` from the store; `zones set|remove|assign|supervise` through the stub. */
int zonesCommand(Invocation& inv);

}  // namespace cad::cli
