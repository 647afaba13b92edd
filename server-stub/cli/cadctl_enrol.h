#pragma once
// cadctl's enrolment tokens: `enroll-token create DEVICE [--unit U] [--ttl T]`
// makes a token here (printed once, never stored), and sends only its hash to
// the stub; `enroll-token list` shows what became of each.
#include <QJsonObject>

#include <optional>
#include <string>

#include "server-stub/cli/cadctl_command.h"
#include "server-stub/store/event_store.h"

namespace cad::cli {

/** A token made for a device, and the control request carrying its hash. */
struct TokenRequest {
  std::string token;  ///< "K7QF-9XMA-PL3T-R2WD"
  ControlRequest request;
};

/** A duration such as "90m", "2h", "7d" in seconds; nullopt when it is not one. */
std::optional<int64_t> parseDuration(const std::string& text);

/** The request for `enroll-token create` (base: agency, actor), or nullopt
 *  after printing why the arguments are wrong. */
std::optional<TokenRequest> enrolTokenRequest(ControlRequest base, const std::string& device, const std::string& unit,
                                              const std::string& ttl);

/** Prints how the technician uses the token at the vehicle. */
void printToken(const TokenRequest& t, const std::string& device);

/** `enroll-token list [--json]`: tokens of the agency ("" all), newest first. */
int enrolTokenList(EventStore& s, const std::string& agency, bool json);

/** `enroll-token create DEVICE [--unit UNIT] [--ttl 2h]` through the stub; `enroll-token list` from the store. */
int enrolTokenCommand(Invocation& inv);

}  // namespace cad::cli
