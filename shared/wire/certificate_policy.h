#pragma once
// The certificate policy every part of the fleet shows alike: the agent's
// self-test and log, and the screen's diagnostics page.

namespace mdc::pki {

/** A device certificate expiring sooner than this is flagged: a WARN in the
 *  self-test, a warning in the agent's log, amber on the diagnostics page. */
inline constexpr int kCertificateWarnDays = 30;

}  // namespace mdc::pki
