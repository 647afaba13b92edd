#pragma once
// cadctl's call types: `types list`, `types add`, `types remove`.
#include <QJsonObject>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "server-stub/cli/cadctl_command.h"
#include "server-stub/store/event_store.h"

namespace cad::cli {

/** The control request for `types add CODE --label L --apco C` or `types
 *  remove CODE` (pos: the words after cadctl), or nullopt after printing why
 *  the command is wrong. */
std::optional<ControlRequest> typesRequest(ControlRequest base, const std::vector<std::string>& pos,
                                        const std::map<std::string, std::string>& opts);

/** `types list [--json]`: the agency's own types ("" every agency's); or
 *  (`types apco [--json]`) every APCO ANS 2.103 code with its name and discipline. */
int typesList(EventStore& s, const std::string& agency, bool apco, bool json);

/** `types add|remove` through the stub; `types list|apco` from the store. */
int typesCommand(Invocation& inv);

}  // namespace cad::cli
