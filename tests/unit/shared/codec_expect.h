#pragma once
// Assertions for the codec tests: a rejection is checked on every path that
// can see the message (validate, encode, and decode of its bytes) with the
// exact Reason and the exact text a person will read.
#include <catch2/catch.hpp>

#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>

#include <string>

#include "shared/wire/codec.h"

namespace Catch {
template <>
struct StringMaker<mdc::codec::Reason> {
  static std::string convert(mdc::codec::Reason r) { return mdc::codec::reasonName(r); }
};
}  // namespace Catch

namespace mdc::test {

inline codec::Reason reasonOf(const Error& e) { return static_cast<codec::Reason>(e.code); }

/** The envelope fails validate(), encodeEnvelope() and decodeEnvelope() of its
 *  bytes, each with reason and exactly message. */
inline void requireRejected(const v1::Envelope& e, codec::Reason reason, const std::string& message) {
  Status v = codec::validate(e);
  REQUIRE_FALSE(v.ok());
  CHECK(reasonOf(v.error()) == reason);
  CHECK(v.error().message == message);

  auto encoded = codec::encodeEnvelope(e);
  REQUIRE_FALSE(encoded.ok());
  CHECK(reasonOf(encoded.error()) == reason);
  CHECK(encoded.error().message == message);

  auto decoded = codec::decodeEnvelope(e.SerializeAsString());
  REQUIRE_FALSE(decoded.ok());
  CHECK(reasonOf(decoded.error()) == reason);
  CHECK(decoded.error().message == message);
}

/** The same for a Downlink. */
inline void requireRejected(const v1::Downlink& d, codec::Reason reason, const std::string& message) {
  Status v = codec::validate(d);
  REQUIRE_FALSE(v.ok());
  CHECK(reasonOf(v.error()) == reason);
  CHECK(v.error().message == message);

  auto encoded = codec::encodeDownlink(d);
  REQUIRE_FALSE(encoded.ok());
  CHECK(reasonOf(encoded.error()) == reason);
  CHECK(encoded.error().message == message);

  auto decoded = codec::decodeDownlink(d.SerializeAsString());
  REQUIRE_FALSE(decoded.ok());
  CHECK(reasonOf(decoded.error()) == reason);
  CHECK(decoded.error().message == message);
}

/** The same for a local ApiRequest (there is no encoder: the UI serialises). */
inline void requireRejected(const v1::ApiRequest& r, codec::Reason reason, const std::string& message) {
  Status v = codec::validate(r);
  REQUIRE_FALSE(v.ok());
  CHECK(reasonOf(v.error()) == reason);
  CHECK(v.error().message == message);

  auto decoded = codec::decodeApiRequest(r.SerializeAsString());
  REQUIRE_FALSE(decoded.ok());
  CHECK(reasonOf(decoded.error()) == reason);
  CHECK(decoded.error().message == message);
}

/** Sets an enum field of msg to a raw number, known or not (proto3 enums are
 *  open: an old decoder sees a newer sender's values as plain numbers). */
inline void setEnumNumber(google::protobuf::Message& msg, const char* field, int number) {
  const auto* f = msg.GetDescriptor()->FindFieldByName(field);
  REQUIRE(f != nullptr);
  msg.GetReflection()->SetEnumValue(&msg, f, number);
}

/** Appends `field = value` as a varint to serialized protobuf bytes; the last
 *  occurrence of a scalar field wins, so this overrides it on the wire. */
inline std::string withVarint(std::string bytes, uint32_t field, uint64_t value) {
  uint64_t tag = uint64_t(field) << 3;  // wire type 0
  for (uint64_t v : {tag, value}) {
    while (v >= 0x80) {
      bytes += char(0x80 | (v & 0x7f));
      v >>= 7;
    }
    bytes += char(v);
  }
  return bytes;
}

/** Adds an unknown length-delimited field (number 1000) so that msg serialises
 *  to exactly size bytes; unknown fields survive decoding, so this pads a valid
 *  message to a size limit. */
inline void padTo(google::protobuf::Message& msg, size_t size) {
  auto* unknown = msg.GetReflection()->MutableUnknownFields(&msg);
  unknown->DeleteByNumber(1000);
  size_t base = msg.ByteSizeLong();
  REQUIRE(base + 8 < size);
  for (size_t payload = size - base - 8; payload <= size - base; ++payload) {
    unknown->DeleteByNumber(1000);
    unknown->AddLengthDelimited(1000, std::string(payload, 'x'));
    if (msg.ByteSizeLong() == size) return;
  }
  FAIL("cannot pad the message to exactly " << size << " bytes");
}

}  // namespace mdc::test
