#pragma once
// cadctl's unit board: `board [--zone Z | --district D] [--json]`.
#include "server-stub/cli/cadctl_command.h"

namespace cad::cli {

/** `board`: every unit of the agency (all agencies without one), of one zone
 *  or of one district's zones, with its status, link, position and flags. */
int boardCommand(Invocation& inv);

}  // namespace cad::cli
