#include "server-stub/service/control_frames.h"

#include "shared/wire/frame.h"

namespace cad::control {

std::string frame(const google::protobuf::MessageLite& message) { return mdc::frame::encode(message.SerializeAsString()); }

FrameReader::Next FrameReader::next(std::string& out, uint32_t& announced) {
  if (buf_.size() < 4) return Next::NeedMore;
  announced = 0;
  for (int i = 0; i < 4; ++i) announced = (announced << 8) | uint8_t(buf_[size_t(i)]);
  if (announced > kMaxFrameBytes) return Next::TooLarge;
  if (buf_.size() < 4 + size_t(announced)) return Next::NeedMore;
  out.assign(buf_, 4, announced);
  buf_.erase(0, 4 + size_t(announced));
  return Next::Frame;
}

}  // namespace cad::control
