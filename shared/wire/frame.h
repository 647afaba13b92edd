#pragma once
// Length-prefixed frames for the local API: a 4-byte big-endian length, then
// that many bytes. Used by the agent, mdcctl and the MDC app.
#include <cstdint>
#include <string>
#include <string_view>

namespace mdc::frame {

/** Largest frame accepted; a longer announced length is a protocol error. */
inline constexpr uint32_t kMaxFrameBytes = 64 * 1024;

/** Prefixes payload with its length. */
std::string encode(std::string_view payload);

/** Splits a byte stream into frames. Not thread-safe. */
class Reader {
 public:
  enum class Next { NeedMore, Frame, TooLarge };
  /** Appends bytes received from the peer. */
  void feed(std::string_view bytes) { buf_.append(bytes); }
  /** Takes the next whole frame into out; TooLarge means the peer broke the protocol (close it). */
  Next next(std::string& out);
  size_t buffered() const { return buf_.size(); }

 private:
  std::string buf_;
};

}  // namespace mdc::frame
