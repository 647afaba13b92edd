#pragma once
// Envelopes for the stub's tests and benchmarks: any device, unit, agency,
// seq and time, with deterministic UUIDv7 ids, encoded by the project's codec
// (so every byte a test sends is what a real agent would send).
#include <cstdint>
#include <string>

#include "mdc/v1/mdc.pb.h"
#include "server-stub/store/event_store.h"

namespace cad::test {

namespace v1 = mdc::v1;

/** 2026-01-01T08:30:00Z: the start of every scripted shift. */
inline constexpr int64_t kShiftStartMs = 1'767'256'200'000;

/** A device as the registry knows it; index (0..4095) makes its event ids unique. */
struct Device {
  std::string id;
  std::string unit;
  std::string agency;
  uint32_t index = 0;
};

/** A UUIDv7 unique per (device index, seq, variant): variant 0 for sequenced
 *  events, others for presence/resync (seq 0) or a conflicting re-use of a seq. */
std::string eventIdFor(uint32_t deviceIndex, uint64_t seq, uint32_t variant = 0);

v1::Position position(double lat, double lon);
v1::Envelope header(const Device& d, uint64_t seq, int64_t recordedAtMs);
v1::Envelope statusEnv(const Device& d, uint64_t seq, int64_t at, v1::UnitStatus s, const std::string& incident = "");
v1::Envelope avlEnv(const Device& d, uint64_t seq, int64_t at, double lat, double lon, bool backfill = false);
v1::Envelope cfsEnv(const Device& d, uint64_t seq, int64_t at, const std::string& type);
v1::Envelope emergencyEnv(const Device& d, uint64_t seq, int64_t at, bool active);
v1::Envelope assignmentAckEnv(const Device& d, uint64_t seq, int64_t at, const std::string& incident, uint64_t dlSeq);
v1::Envelope messageEnv(const Device& d, uint64_t seq, int64_t at, const std::string& text);
/** Presence (seq 0); n makes its event id unique. */
v1::Envelope presenceEnv(const Device& d, uint64_t n, int64_t at, bool online);
/** Resync request (seq 0); n makes its event id unique. */
v1::Envelope resyncEnv(const Device& d, uint64_t n, int64_t at, uint64_t afterSeq);

/** The codec's bytes; throws std::runtime_error naming the field when invalid. */
std::string encode(const v1::Envelope& env);
/** As the stub's MQTT ingest hands it to the store (presence on the presence topic). */
Incoming incoming(const v1::Envelope& env, int64_t receivedAtMs);
/** Raw bytes on a device's topic. */
Incoming incomingRaw(const std::string& topicDevice, std::string payload, int64_t receivedAtMs, bool presence = false);

}  // namespace cad::test
