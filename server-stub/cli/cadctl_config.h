#pragma once
// cadctl's agency configuration pushed to the units: `config show`, `config set`.
#include "server-stub/cli/cadctl_command.h"

namespace cad::cli {

/** `config show [--json]` and `config set --statuses S1,S2,... [--avl-moving SEC]
 *  [--avl-stationary SEC]`; another word is an unknown command. */
int configCommand(Invocation& inv);

}  // namespace cad::cli
