#pragma once
// Enrolment over the network (EST, RFC 7030): the one-time token a
// technician carries to the vehicle, and the paths both ends use.
//
// A token is 80 random bits written as 16 Crockford base32 characters in
// groups of four (K7QF-9XMA-PL3T-R2WD): short enough to type, no I, L, O or
// U to misread. The backend keeps only its SHA-256. The token also lets the
// device trust the server before it has the fleet CA: the server proves it
// knows the token by an HMAC over the CA certificates it returns (see
// caProof), so a technician types one thing and no fingerprint.
#include <optional>
#include <string>

namespace mdc::enrol {

inline constexpr const char* kCaCertsPath = "/.well-known/est/cacerts";
inline constexpr const char* kEnrollPath = "/.well-known/est/simpleenroll";
inline constexpr const char* kReenrollPath = "/.well-known/est/simplereenroll";
/** Not EST: the device's configuration (unit, agency, broker), for a device
 *  holding its certificate. */
inline constexpr const char* kConfigPath = "/mdc/v1/config";
/** The request header naming the device on GET cacerts, and the answer's proof. */
inline constexpr const char* kDeviceHeader = "X-MDC-Device";
inline constexpr const char* kProofHeader = "X-MDC-CA-Proof";

/** A new random token, "XXXX-XXXX-XXXX-XXXX". */
std::string newToken();
/** The token as typed (any case, dashes and spaces, O for 0, I or L for 1)
 *  reduced to its 16 characters; nullopt when it cannot be a token. */
std::optional<std::string> normalizeToken(const std::string& typed);
/** SHA-256 of the normalised token, hex: what the backend stores. */
std::string tokenHash(const std::string& normalized);
/** HMAC-SHA256 keyed by the token's hash over body, hex. */
std::string caProof(const std::string& tokenHashHex, const std::string& body);
/** Constant-time comparison of two strings of equal length. */
bool sameSecret(const std::string& a, const std::string& b);

}  // namespace mdc::enrol
