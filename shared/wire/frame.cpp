#include "shared/wire/frame.h"

namespace mdc::frame {

std::string encode(std::string_view payload) {
  std::string out;
  out.reserve(4 + payload.size());
  uint32_t n = uint32_t(payload.size());
  out += char((n >> 24) & 0xff);
  out += char((n >> 16) & 0xff);
  out += char((n >> 8) & 0xff);
  out += char(n & 0xff);
  out.append(payload);
  return out;
}

Reader::Next Reader::next(std::string& out) {
  if (buf_.size() < 4) return Next::NeedMore;
  auto b = [&](size_t i) { return uint32_t(static_cast<unsigned char>(buf_[i])); };
  uint32_t n = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
  if (n > kMaxFrameBytes) return Next::TooLarge;
  if (buf_.size() < 4 + size_t(n)) return Next::NeedMore;
  out.assign(buf_, 4, n);
  buf_.erase(0, 4 + size_t(n));
  return Next::Frame;
}

}  // namespace mdc::frame
