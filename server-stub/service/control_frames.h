#pragma once
// The control socket's frames: a 4-byte big-endian length, then one protobuf
// message of proto/control.proto. The framing is shared/wire/frame.h's; the
// cap is larger, since an EIDO document travels whole in one request.
#include <google/protobuf/message_lite.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace cad::control {

/** Largest request or reply; a longer announced length is refused. */
inline constexpr uint32_t kMaxFrameBytes = 1 << 20;

/** The message serialised and prefixed with its length. */
std::string frame(const google::protobuf::MessageLite& message);

/** Splits the bytes from a peer into frames. Not thread-safe. */
class FrameReader {
 public:
  enum class Next { NeedMore, Frame, TooLarge };
  /** Appends bytes received from the peer. */
  void feed(std::string_view bytes) { buf_.append(bytes); }
  /** The next whole frame into out; TooLarge (its announced length in
   *  announced): the peer broke the protocol, close the connection. */
  Next next(std::string& out, uint32_t& announced);

 private:
  std::string buf_;
};

}  // namespace cad::control
