#pragma once
// cadctl's audit trail: the log listed by position, and the log followed as a
// reader (the transaction-id horizon, EventStore::readLog).
#include <cstdint>
#include <string>

#include "server-stub/cli/cadctl_command.h"
#include "server-stub/store/event_store.h"

namespace cad::cli {

/** `events [--since POS] [--limit N]`: up to limit events above position
 *  since, of one agency ("" all). Returns the exit status. */
int listEvents(EventStore& s, const std::string& agency, int64_t since, int64_t limit, bool json);

/** `events --after TX:POS | --follow`: the events after the cursor in the
 *  order a reader follows the log, each once; --follow goes on printing new
 *  ones until SIGINT or SIGTERM (--json: one object per line). Prints the
 *  cursor to go on from ("next: --after TX:POS") on stderr. */
int followEvents(EventStore& s, const std::string& agency, LogCursor after, int64_t limit, bool follow, bool json);

/** `events [--since POS] [--limit N] | --after TX:POS | --follow [--json]`. */
int eventsCommand(Invocation& inv);
/** `count`: the number of events in the log. */
int countCommand(Invocation& inv);
/** `refusals [--limit N]`: input the stub refused, newest first. */
int refusalsCommand(Invocation& inv);

}  // namespace cad::cli
