#include "shared/wire/uuid.h"

#include <openssl/rand.h>

#include <stdexcept>

namespace mdc {

namespace {
int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string textOf(const uint8_t* b) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[b[i] >> 4];
    out += hex[b[i] & 0x0f];
  }
  return out;
}
}  // namespace

std::string UuidV7Generator::next() {
  std::array<uint8_t, 16> b{};
  if (RAND_bytes(b.data(), int(b.size())) != 1) throw std::runtime_error("uuid: RAND_bytes failed");
  int64_t ms;
  uint16_t counter;
  {
    std::lock_guard lock(mu_);
    ms = clock_.nowMs();
    if (ms <= lastMs_) {
      // Same millisecond or the clock stepped back: keep ordering by counting
      // on from the last timestamp; borrow the next millisecond on overflow.
      ms = lastMs_;
      if (++counter_ > 0x0fff) { ++ms; counter_ = 0; }
    } else {
      counter_ = 0;
    }
    lastMs_ = ms;
    counter = counter_;
  }
  for (int i = 0; i < 6; ++i) b[size_t(i)] = uint8_t(uint64_t(ms) >> (40 - 8 * i));
  b[6] = uint8_t(0x70 | ((counter >> 8) & 0x0f));
  b[7] = uint8_t(counter & 0xff);
  b[8] = uint8_t(0x80 | (b[8] & 0x3f));
  return textOf(b.data());
}

bool isUuidV7(std::string_view t) {
  if (t.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (t[i] != '-') return false;
    } else if (hexValue(t[i]) < 0) {
      return false;
    }
  }
  if (t[14] != '7') return false;                 // version
  int variant = hexValue(t[19]);
  return (variant & 0xc) == 0x8;                  // variant 10xx
}

int64_t uuidV7TimeMs(std::string_view t) {
  int64_t ms = 0;
  for (size_t i = 0; i < 13; ++i) {
    if (i == 8) continue;
    ms = (ms << 4) | hexValue(t[i]);
  }
  return ms;
}

std::string uuidToBytes(std::string_view t) {
  if (!isUuidV7(t)) return {};
  std::string digits;
  for (char c : t)
    if (c != '-') digits += c;
  std::string out;
  for (size_t i = 0; i < 32; i += 2) out += char((hexValue(digits[i]) << 4) | hexValue(digits[i + 1]));
  return out;
}

std::string uuidFromBytes(std::string_view bytes) {
  if (bytes.size() != 16) return {};
  return textOf(reinterpret_cast<const uint8_t*>(bytes.data()));
}

}  // namespace mdc
