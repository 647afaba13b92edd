#pragma once
// cadctl's scheduled calls: `schedule create`, `schedule list`, `schedule cancel`.
#include <QJsonObject>

#include <map>
#include <optional>
#include <string>

#include "server-stub/cli/cadctl_command.h"
#include "server-stub/store/event_store.h"

namespace cad::cli {

/** The control request for `schedule create --type T --address A --every 24h
 *  [--from T] [--until T] [--priority P] [--lat X --lon Y] [--notes N]`, or
 *  nullopt after printing why the options are wrong. */
std::optional<ControlRequest> scheduleRequest(ControlRequest base, const std::map<std::string, std::string>& opts,
                                           int64_t nowMs);

/** `schedule list [--json]`: the agency's schedules ("" all), newest first. */
int scheduleList(EventStore& s, const std::string& agency, bool json);

/** `schedule create ...` and `schedule cancel SCHEDULE` through the stub, `schedule list` from the store. */
int scheduleCommand(Invocation& inv);

}  // namespace cad::cli
