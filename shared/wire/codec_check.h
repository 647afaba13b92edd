#pragma once
// What the codec's validators share (codec.cpp, codec_downlink.cpp): the
// field checks that name the field's path and value in their errors. Not an
// interface of the wire: include it only in the codec's own files.
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>

#include "shared/wire/codec.h"

namespace mdc::codec::detail {

/** Offset of the first byte that does not start well-formed UTF-8, or npos. */
size_t invalidUtf8At(std::string_view s);

inline std::string num(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

inline std::string quoted(std::string_view s) {
  std::string out = "\"";
  size_t n = 0;
  for (char c : s) {
    // Count characters, not bytes: a cut inside a multi-byte character would
    // make the message invalid UTF-8, and it travels on in Rejection.detail.
    bool startsCharacter = (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    if (startsCharacter && ++n > 40) { out += "..."; break; }
    if (static_cast<unsigned char>(c) < 0x20) out += '?';
    else out += c;
  }
  out += '"';
  return out;
}

inline Error fail(Reason r, std::string msg) { return Error::make(std::move(msg), int(r)); }

// Each checker returns an empty Status on success; the first failure wins.
struct Check {
  std::string path;

  std::string at(std::string_view field) const { return path + "." + std::string(field); }

  Status text(std::string_view field, const std::string& v, size_t minLen, size_t maxLen) const {
    if (size_t bad = invalidUtf8At(v); bad != std::string_view::npos) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(v[bad]));
      return fail(Reason::BadFormat,
                  at(field) + ": not valid UTF-8 (byte " + hex + " at offset " + std::to_string(bad) + ")");
    }
    size_t n = utf8Length(v);
    if (n < minLen) {
      if (v.empty()) return fail(Reason::MissingField, at(field) + ": required, is empty");
      return fail(Reason::TooLong, at(field) + ": " + quoted(v) + " shorter than " + std::to_string(minLen));
    }
    if (n > maxLen)
      return fail(Reason::TooLong, at(field) + ": " + std::to_string(n) + " characters, at most " +
                                       std::to_string(maxLen) + " allowed");
    return {};
  }

  Status range(std::string_view field, double v, double lo, double hi, bool allowNan) const {
    if (std::isnan(v)) {
      if (allowNan) return {};
      return fail(Reason::OutOfRange, at(field) + ": NaN, a number is required");
    }
    if (!(v >= lo && v <= hi))
      return fail(Reason::OutOfRange, at(field) + ": " + num(v) + " out of range " + num(lo) + ".." + num(hi));
    return {};
  }

  Status time(std::string_view field, int64_t ms, bool allowZero) const {
    if (ms == 0 && allowZero) return {};
    if (ms < kMinTimeMs || ms >= kMaxTimeMs)
      return fail(Reason::OutOfRange, at(field) + ": " + std::to_string(ms) +
                                          " out of range (Unix ms between 2020-01-01 and 2100-01-01)");
    return {};
  }

  template <class IsValid>
  Status enumValue(std::string_view field, int v, IsValid isValid) const {
    if (v == 0) return fail(Reason::MissingField, at(field) + ": required, is unspecified (0)");
    if (!isValid(v)) return fail(Reason::OutOfRange, at(field) + ": " + std::to_string(v) + " is not a known value");
    return {};
  }
};

#define MDC_TRY(expr)               \
  do {                              \
    if (Status s_ = (expr); !s_)    \
      return s_;                    \
  } while (0)

inline Status checkOptionalPosition(bool has, const v1::Position& p, const std::string& path) {
  if (!has) return {};
  return validatePosition(p, path);
}

inline Status checkFlags(const Check& c, const google::protobuf::RepeatedPtrField<v1::RecordsFlag>& flags, size_t maxFlags) {
  if (size_t(flags.size()) > maxFlags)
    return fail(Reason::TooLong, c.at("flags") + ": " + std::to_string(flags.size()) + " entries, at most " +
                                     std::to_string(maxFlags) + " allowed");
  for (int i = 0; i < flags.size(); ++i) {
    Check f{c.at("flags[" + std::to_string(i) + "]")};
    MDC_TRY(f.enumValue("kind", flags[i].kind(), v1::RecordsFlagKind_IsValid));
    MDC_TRY(f.text("detail", flags[i].detail(), 1, 200));
  }
  return {};
}

}  // namespace mdc::codec::detail
