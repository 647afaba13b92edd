#include "tests/unit/stub/stub_wire.h"

#include <cstdio>
#include <stdexcept>

#include "shared/wire/codec.h"

namespace cad::test {

std::string eventIdFor(uint32_t deviceIndex, uint64_t seq, uint32_t variant) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "019b78ad-9340-7%03x-8%03x-%012llx", variant & 0xfff, deviceIndex & 0xfff,
                static_cast<unsigned long long>(seq & 0xffffffffffffULL));
  return buf;
}

v1::Position position(double lat, double lon) {
  v1::Position p;
  p.set_lat(lat);
  p.set_lon(lon);
  p.set_alt_m(12.0f);
  p.set_speed_mps(8.0f);
  p.set_track_deg(90.0f);
  p.set_eph_m(5.0f);
  p.set_mode(v1::FIX_MODE_3D);
  p.set_satellites(8);
  return p;
}

v1::Envelope header(const Device& d, uint64_t seq, int64_t recordedAtMs) {
  v1::Envelope e;
  e.set_version(1);
  e.set_event_id(eventIdFor(d.index, seq));
  e.set_device_id(d.id);
  e.set_unit_id(d.unit);
  e.set_agency(d.agency);
  e.set_seq(seq);
  e.set_recorded_at_ms(recordedAtMs);
  e.set_clock_source(v1::CLOCK_SOURCE_GPS);
  return e;
}

v1::Envelope statusEnv(const Device& d, uint64_t seq, int64_t at, v1::UnitStatus s, const std::string& incident) {
  v1::Envelope e = header(d, seq, at);
  e.mutable_status()->set_status(s);
  e.mutable_status()->set_incident_number(incident);
  return e;
}

v1::Envelope avlEnv(const Device& d, uint64_t seq, int64_t at, double lat, double lon, bool backfill) {
  v1::Envelope e = header(d, seq, at);
  *e.mutable_avl()->mutable_position() = position(lat, lon);
  e.mutable_avl()->set_backfill(backfill);
  e.mutable_avl()->set_trigger(backfill ? v1::AVL_TRIGGER_INTERVAL : v1::AVL_TRIGGER_DISTANCE);
  return e;
}

v1::Envelope cfsEnv(const Device& d, uint64_t seq, int64_t at, const std::string& type) {
  v1::Envelope e = header(d, seq, at);
  e.mutable_cfs()->set_cfs_type(type);
  *e.mutable_cfs()->mutable_location() = position(40.7128, -74.0060);
  e.mutable_cfs()->set_address("Broadway & Chambers St");
  e.mutable_cfs()->set_note("grey sedan");
  return e;
}

v1::Envelope emergencyEnv(const Device& d, uint64_t seq, int64_t at, bool active) {
  v1::Envelope e = header(d, seq, at);
  e.mutable_emergency()->set_active(active);
  e.mutable_emergency()->set_source(v1::EMERGENCY_SOURCE_SWITCH);
  return e;
}

v1::Envelope assignmentAckEnv(const Device& d, uint64_t seq, int64_t at, const std::string& incident, uint64_t dlSeq) {
  v1::Envelope e = header(d, seq, at);
  e.mutable_assignment_ack()->set_incident_number(incident);
  e.mutable_assignment_ack()->set_downlink_seq(dlSeq);
  return e;
}

v1::Envelope messageEnv(const Device& d, uint64_t seq, int64_t at, const std::string& text) {
  v1::Envelope e = header(d, seq, at);
  e.mutable_message()->set_text(text);
  return e;
}

v1::Envelope presenceEnv(const Device& d, uint64_t n, int64_t at, bool online) {
  v1::Envelope e = header(d, 0, at);
  e.set_event_id(eventIdFor(d.index, n, 1));
  e.mutable_presence()->set_online(online);
  e.mutable_presence()->set_agent_version("0.1.0");
  return e;
}

v1::Envelope resyncEnv(const Device& d, uint64_t n, int64_t at, uint64_t afterSeq) {
  v1::Envelope e = header(d, 0, at);
  e.set_event_id(eventIdFor(d.index, n, 2));
  e.mutable_resync()->set_after_seq(afterSeq);
  return e;
}

std::string encode(const v1::Envelope& env) {
  auto bytes = mdc::codec::encodeEnvelope(env);
  if (!bytes) throw std::runtime_error("test envelope invalid: " + bytes.error().message);
  return *bytes;
}

Incoming incoming(const v1::Envelope& env, int64_t receivedAtMs) {
  return Incoming{env.device_id(), env.has_presence(), encode(env), receivedAtMs};
}

Incoming incomingRaw(const std::string& topicDevice, std::string payload, int64_t receivedAtMs, bool presence) {
  return Incoming{topicDevice, presence, std::move(payload), receivedAtMs};
}

}  // namespace cad::test
