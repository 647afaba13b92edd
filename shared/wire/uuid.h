#pragma once
// Event ids: UUIDv7 (RFC 9562), time-ordered, in canonical text form.
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "shared/wire/clock.h"

namespace mdc {

/** Makes UUIDv7 ids that sort by creation time, strictly increasing within one
 *  generator even when the wall clock stands still or steps back (RFC 9562
 *  method 3: the 12-bit rand_a field is a counter within a millisecond).
 *  Thread-safe. */
class UuidV7Generator {
 public:
  explicit UuidV7Generator(const Clock& clock = SystemClock::instance()) : clock_(clock) {}
  /** A new id, e.g. "0190f5c1-7a3b-7c00-8d4e-1f2a3b4c5d6e". */
  std::string next();

 private:
  const Clock& clock_;
  std::mutex mu_;
  int64_t lastMs_ = 0;
  uint16_t counter_ = 0;
};

/** True when text is a canonical lowercase or uppercase UUID of version 7 and variant 10. */
bool isUuidV7(std::string_view text);

/** The Unix-ms timestamp in a valid UUIDv7 (undefined for other text). */
int64_t uuidV7TimeMs(std::string_view text);

/** The 16 bytes of a UUIDv7 in text form (RFC 9562 byte order); "" when text is not one. */
std::string uuidToBytes(std::string_view text);
/** The canonical lowercase text of 16 UUID bytes; "" when there are not 16. */
std::string uuidFromBytes(std::string_view bytes);

}  // namespace mdc
