#pragma once
// cadctl's dispatching, through the running stub: `create-cfs`, `assign`,
// `message`, `ack-emergency`, `close-cfs`, and the stub's counters (`stats`).
#include "server-stub/cli/cadctl_command.h"

namespace cad::cli {

/** `create-cfs --type T [--priority 1-9] [--address A] [--lat X --lon Y] [--notes N]`. */
int createCfsCommand(Invocation& inv);
/** `assign CFS UNIT [--force]` and `message UNIT TEXT`. */
int assignOrMessageCommand(Invocation& inv);
/** `ack-emergency UNIT` and `close-cfs CFS`. */
int ackOrCloseCommand(Invocation& inv);
/** `stats`: the running stub's counters as JSON. */
int statsCommand(Invocation& inv);

}  // namespace cad::cli
