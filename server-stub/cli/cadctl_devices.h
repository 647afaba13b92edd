#pragma once
// cadctl's fleet of devices: `devices list` (their health, from the store)
// and `devices add|move|decommission|import` (through the running stub).
#include "server-stub/cli/cadctl_command.h"

namespace cad::cli {

/** `devices list|add|move|decommission|import ...`; another word is an unknown command. */
int devicesCommand(Invocation& inv);

}  // namespace cad::cli
