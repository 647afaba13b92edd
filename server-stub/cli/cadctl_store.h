#pragma once
// cadctl's commands on the store as a whole: `verify`, `digest`, `replay
// --into TARGET` and `migrate --from SOURCE --to TARGET` (between a SQLite
// file and a PostgreSQL database, either way).
#include <string>

#include "server-stub/cli/cadctl_command.h"
#include "server-stub/store/event_store.h"

namespace cad::cli {

/** `init`: creates the store's tables where there are none (a new SQLite
 *  file, or an empty PostgreSQL database, by a role that may create them). */
int initStore(const std::string& target);
/** `verify`: walks the chain; 0 when intact, 1 (naming the first broken link) when not. */
int verifyStore(EventStore& s);
/** `digest`: SHA-256 of every read model. */
int digestStore(EventStore& s);
/** `replay --into TARGET`: every read model rebuilt from the log into a new
 *  store, with progress on stderr. */
int replayStore(EventStore& s, const std::string& target);
/** `migrate --from SOURCE --to TARGET`: the log copied into a new store (a
 *  new file, or a database with no events) and its read models derived
 *  there; then the target's chain walked and its digest compared with the
 *  source's. 0 when both hold. */
int migrateStore(const std::string& from, const std::string& to);

/** `init`. */
int initCommand(Invocation& inv);
/** `migrate --from FILE|URI --to FILE|URI`. */
int migrateCommand(Invocation& inv);
/** `verify`. */
int verifyCommand(Invocation& inv);
/** `digest`. */
int digestCommand(Invocation& inv);
/** `replay --into FILE|URI`. */
int replayCommand(Invocation& inv);

}  // namespace cad::cli
