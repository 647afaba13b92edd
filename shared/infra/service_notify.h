#pragma once
// The service manager's side of a daemon (systemd, Type=notify): readiness,
// the watchdog, and whether stderr goes to the journal. Every call is a no-op
// outside systemd (no NOTIFY_SOCKET, no WATCHDOG_USEC, no JOURNAL_STREAM).
#include <cstdint>
#include <string_view>

namespace mdc::service {

/** READY=1 with a one-line STATUS: the daemon serves from now on. */
void ready(std::string_view status);
/** STOPPING=1: a clean stop has begun. */
void stopping();
/** How often to ping the watchdog (half of WatchdogSec) in ms; 0 when it is off. */
int64_t watchdogIntervalMs();
/** WATCHDOG=1, from the event loop: a loop that hangs stops pinging and systemd restarts the daemon. */
void watchdogPing();
/** True when stderr is the journal's stream (JOURNAL_STREAM names its device and inode). */
bool stderrIsJournal();

}  // namespace mdc::service
