#include "tests/unit/shared/wire_samples.h"

#include <cmath>
#include <cstdio>

#include "shared/wire/uuid.h"

namespace mdc::test::samples {

std::string eventId(uint64_t n) {
  char tail[13];
  std::snprintf(tail, sizeof tail, "%012llu", static_cast<unsigned long long>(n % 1'000'000'000'000ULL));
  return std::string("019b78ad-9340-7000-8000-") + tail;
}

v1::Position position3d() {
  v1::Position p;
  p.set_lat(40.7128);
  p.set_lon(-74.006);
  p.set_alt_m(10.5f);
  p.set_speed_mps(12.5f);
  p.set_track_deg(270.0f);
  p.set_eph_m(4.5f);
  p.set_mode(v1::FIX_MODE_3D);
  p.set_satellites(9);
  p.set_fix_time_ms(kRecordedAtMs - 250);
  return p;
}

v1::Position position2dUnknowns() {
  v1::Position p;
  p.set_lat(40.7580);
  p.set_lon(-73.9855);
  p.set_alt_m(NAN);
  p.set_speed_mps(NAN);
  p.set_track_deg(NAN);
  p.set_eph_m(NAN);
  p.set_mode(v1::FIX_MODE_2D);
  p.set_satellites(4);
  p.set_fix_time_ms(0);
  return p;
}

v1::Envelope envelopeHeader(uint64_t seq) {
  v1::Envelope e;
  e.set_version(1);
  e.set_event_id(eventId(seq));
  e.set_device_id(kDeviceId);
  e.set_unit_id(kUnitId);
  e.set_agency(kAgency);
  e.set_seq(seq);
  e.set_recorded_at_ms(kRecordedAtMs);
  e.set_clock_source(v1::CLOCK_SOURCE_GPS);
  return e;
}

v1::Envelope validStatusEnvelope() {
  v1::Envelope e = envelopeHeader(101);
  auto* s = e.mutable_status();
  s->set_status(v1::UNIT_STATUS_EN_ROUTE);
  s->set_incident_number("2026-000123");
  *s->mutable_position() = position3d();
  return e;
}

v1::Envelope validAvlEnvelope() {
  v1::Envelope e = envelopeHeader(102);
  auto* a = e.mutable_avl();
  *a->mutable_position() = position3d();
  a->set_backfill(false);
  a->set_trigger(v1::AVL_TRIGGER_DISTANCE);
  return e;
}

v1::Envelope validCfsEnvelope() {
  v1::Envelope e = envelopeHeader(103);
  auto* c = e.mutable_cfs();
  c->set_cfs_type("TRAFFIC_STOP");
  *c->mutable_location() = position3d();
  c->set_address("Broadway & Chambers St");
  c->set_note("Grey sedan, NY plate on request");
  return e;
}

v1::Envelope validEmergencyEnvelope() {
  v1::Envelope e = envelopeHeader(104);
  auto* m = e.mutable_emergency();
  m->set_active(true);
  *m->mutable_position() = position3d();
  m->set_source(v1::EMERGENCY_SOURCE_SWITCH);
  return e;
}

v1::Envelope validAssignmentAckEnvelope() {
  v1::Envelope e = envelopeHeader(105);
  auto* a = e.mutable_assignment_ack();
  a->set_incident_number("2026-000123");
  a->set_downlink_seq(17);
  return e;
}

v1::Envelope validMessageEnvelope() {
  v1::Envelope e = envelopeHeader(106);
  e.mutable_message()->set_text("On scene, requesting a second ambulance");
  return e;
}

v1::Envelope validPresenceEnvelope() {
  v1::Envelope e = envelopeHeader(0);
  e.set_event_id(eventId(900));
  auto* p = e.mutable_presence();
  p->set_online(true);
  p->set_agent_version("0.1.0");
  auto* status = p->add_queue();
  status->set_lane(v1::LANE_STATUS);
  status->set_count(2);
  status->set_oldest_at_ms(kRecordedAtMs - 60'000);
  auto* avl = p->add_queue();
  avl->set_lane(v1::LANE_AVL);
  avl->set_count(340);
  avl->set_oldest_at_ms(kRecordedAtMs - 600'000);
  *p->mutable_last_fix() = position3d();
  p->set_dropped_avl(12);
  p->set_rejected_events(1);
  return e;
}

v1::Envelope validResyncEnvelope() {
  v1::Envelope e = envelopeHeader(0);
  e.set_event_id(eventId(901));
  e.mutable_resync()->set_after_seq(16);
  return e;
}

v1::Downlink downlinkHeader(uint64_t seq) {
  v1::Downlink d;
  d.set_version(1);
  d.set_unit_id(kUnitId);
  d.set_seq(seq);
  d.set_sent_at_ms(kSentAtMs);
  return d;
}

v1::Downlink validCommitAckDownlink() {
  v1::Downlink d = downlinkHeader(0);  // commit acks are not kept or replayed: unsequenced
  auto* a = d.mutable_commit_ack();
  auto* r1 = a->add_committed();
  r1->set_first(1);
  r1->set_last(3);
  auto* r2 = a->add_committed();
  r2->set_first(5);
  r2->set_last(5);
  return d;
}

v1::Downlink validAssignmentDownlink() {
  v1::Downlink d = downlinkHeader(17);
  auto* a = d.mutable_assignment();
  a->set_incident_number("2026-000123");
  a->set_cfs_type("STRUCTURE_FIRE");
  a->set_priority(1);
  a->set_address("250 Broadway");
  *a->mutable_location() = position3d();
  a->set_notes("Smoke from 3rd floor windows");
  a->add_units("E12");
  a->add_units("L7");
  auto* t1 = a->add_timeline();
  t1->set_at_ms(kSentAtMs - 120'000);
  t1->set_text("Call received");
  auto* t2 = a->add_timeline();
  t2->set_at_ms(kSentAtMs - 30'000);
  t2->set_text("E12, L7 assigned");
  a->set_assigned_at_ms(kSentAtMs - 30'000);
  return d;
}

v1::Downlink validDispatchMessageDownlink() {
  v1::Downlink d = downlinkHeader(18);
  d.mutable_message()->set_from("Dispatch 3");
  d.mutable_message()->set_text("Use the Chambers St entrance");
  return d;
}

v1::Downlink validCfsAcceptedDownlink() {
  v1::Downlink d = downlinkHeader(19);
  d.mutable_cfs_accepted()->set_event_id(eventId(103));
  d.mutable_cfs_accepted()->set_incident_number("2026-000124");
  return d;
}

v1::Downlink validRejectionDownlink() {
  v1::Downlink d = downlinkHeader(0);  // refused input is never stored: unsequenced
  auto* r = d.mutable_rejection();
  r->set_event_id(eventId(9));
  r->set_seq(9);
  r->set_reason(v1::REJECT_REASON_MALFORMED);
  r->set_detail("envelope.avl.position.lat: 91.5 out of range -90..90");
  return d;
}

v1::Downlink validConfigurationDownlink() {
  v1::Downlink d = downlinkHeader(22);
  auto* c = d.mutable_configuration();
  c->add_statuses(v1::UNIT_STATUS_AVAILABLE);
  c->add_statuses(v1::UNIT_STATUS_EN_ROUTE);
  c->add_statuses(v1::UNIT_STATUS_ON_SCENE);
  c->add_statuses(v1::UNIT_STATUS_OUT_OF_SERVICE);
  c->set_avl_moving_interval_s(5);
  c->set_avl_stationary_interval_s(60);
  return d;
}

v1::Downlink validAssignmentClearedDownlink() {
  v1::Downlink d = downlinkHeader(24);
  d.mutable_assignment_cleared()->set_incident_number("2026-000123");
  d.mutable_assignment_cleared()->set_reason("closed by Dispatcher Rivera");
  return d;
}

std::vector<v1::Envelope> backlogAvlEnvelopes() {
  std::vector<v1::Envelope> out;
  for (uint64_t seq : {201, 202, 205}) {
    v1::Envelope e = envelopeHeader(seq);
    e.set_recorded_at_ms(kRecordedAtMs + (seq == 201 ? 0 : seq == 202 ? 1000 : 5000));
    if (seq == 205) e.set_clock_source(v1::CLOCK_SOURCE_SYSTEM);
    auto* a = e.mutable_avl();
    *a->mutable_position() = seq == 202 ? position2dUnknowns() : position3d();
    a->set_backfill(true);
    a->set_trigger(seq == 205 ? v1::AVL_TRIGGER_HEADING : v1::AVL_TRIGGER_INTERVAL);
    out.push_back(e);
  }
  return out;
}

v1::Envelope validAvlBatchEnvelope() {
  const auto events = backlogAvlEnvelopes();
  v1::Envelope e = envelopeHeader(201);
  e.set_event_id(eventId(200));
  int64_t lastAt = kRecordedAtMs;
  uint64_t lastSeq = 201;
  for (const auto& ev : events) {
    auto* r = e.mutable_avl_batch()->add_reports();
    r->set_event_id(uuidToBytes(ev.event_id()));
    r->set_seq_delta(ev.seq() - lastSeq);
    r->set_recorded_at_delta_ms(ev.recorded_at_ms() - lastAt);
    r->set_clock_source(ev.clock_source());
    *r->mutable_avl() = ev.avl();
    lastSeq = ev.seq();
    lastAt = ev.recorded_at_ms();
  }
  return e;
}

v1::Envelope validRecordsQueryEnvelope() {
  v1::Envelope e = envelopeHeader(0);
  e.set_event_id(eventId(31));
  auto* q = e.mutable_records_query();
  q->mutable_plate()->set_plate("ABC123");
  q->mutable_plate()->set_state("NY");
  q->set_incident_number("2026-000123");
  return e;
}

namespace {
v1::RecordsFlag flag(v1::RecordsFlagKind kind, const std::string& detail) {
  v1::RecordsFlag f;
  f.set_kind(kind);
  f.set_detail(detail);
  return f;
}
}  // namespace

v1::Downlink validRecordsAnswerDownlink() {
  v1::Downlink d = downlinkHeader(0);
  auto* a = d.mutable_records_answer();
  a->set_query_id(eventId(31));
  auto* v = a->add_entries();
  v->set_kind("vehicle");
  v->set_summary("ABC123 (NY): 2019 HONDA CIVIC BLUE, registered to DOE, JOHN (1980-04-12)");
  *v->add_flags() = flag(v1::RECORDS_FLAG_STOLEN, "Reported stolen 2026-11-28");
  auto* p = a->add_entries();
  p->set_kind("person");
  p->set_summary("Registered owner: DOE, JOHN, born 1980-04-12, M, 180 cm");
  a->set_hit(true);
  return d;
}

v1::Downlink validSafetyAlertDownlink() {
  v1::Downlink d = downlinkHeader(25);
  auto* a = d.mutable_safety_alert();
  a->set_incident_number("2026-000123");
  a->set_unit_id("E7");
  a->set_subject("plate ABC123 (NY)");
  *a->add_flags() = flag(v1::RECORDS_FLAG_STOLEN, "Reported stolen 2026-11-28");
  a->set_at_ms(kSentAtMs);
  return d;
}

v1::Downlink validUnitsNearbyDownlink() {
  v1::Downlink d = downlinkHeader(0);
  auto* n = d.mutable_units_nearby();
  n->set_radius_m(5000);
  auto* u = n->add_units();
  u->set_unit_id("E7");
  u->set_status(v1::UNIT_STATUS_ON_SCENE);
  u->set_lat(40.75844);
  u->set_lon(-73.98566);
  u->set_position_at_ms(kSentAtMs - 4000);
  u->set_on_same_call(true);
  u->set_distance_m(320);
  u->set_incident_number("2026-000123");
  auto* far = n->add_units();
  far->set_unit_id("M3");
  far->set_status(v1::UNIT_STATUS_AVAILABLE);
  far->set_lat(40.7691);
  far->set_lon(-73.9818);
  far->set_position_at_ms(kSentAtMs - 9000);
  far->set_emergency(true);
  far->set_distance_m(1250);
  return d;
}

v1::Downlink validEmergencyAckDownlink() {
  v1::Downlink d = downlinkHeader(23);
  d.mutable_emergency_ack()->set_by("Dispatcher Rivera");
  d.mutable_emergency_ack()->set_at_ms(kSentAtMs);
  return d;
}

v1::ApiRequest validSetStatusRequest() {
  v1::ApiRequest r;
  r.set_request_id(1);
  r.mutable_set_status()->set_status(v1::UNIT_STATUS_ON_SCENE);
  r.mutable_set_status()->set_incident_number("2026-000123");
  return r;
}

v1::ApiRequest validSetEmergencyRequest() {
  v1::ApiRequest r;
  r.set_request_id(2);
  r.mutable_set_emergency()->set_active(true);
  r.mutable_set_emergency()->set_source(v1::EMERGENCY_SOURCE_SCREEN);
  return r;
}

v1::ApiRequest validCreateCfsRequest() {
  v1::ApiRequest r;
  r.set_request_id(3);
  auto* c = r.mutable_create_cfs();
  c->set_cfs_type("TRAFFIC_STOP");
  *c->mutable_location() = position3d();
  c->set_address("Broadway & Chambers St");
  c->set_note("Grey sedan");
  return r;
}

v1::ApiRequest validAckAssignmentRequest() {
  v1::ApiRequest r;
  r.set_request_id(4);
  r.mutable_ack_assignment()->set_incident_number("2026-000123");
  return r;
}

v1::ApiRequest validSendMessageRequest() {
  v1::ApiRequest r;
  r.set_request_id(5);
  r.mutable_send_message()->set_text("Clear in 10");
  return r;
}

v1::ApiRequest validGetStateRequest() {
  v1::ApiRequest r;
  r.set_request_id(6);
  r.mutable_get_state();
  return r;
}

v1::ApiRequest validSubscribeRequest() {
  v1::ApiRequest r;
  r.set_request_id(7);
  r.mutable_subscribe();
  return r;
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

v1::ApiRequest validRecordsQueryRequest() {
  v1::ApiRequest r;
  r.set_request_id(11);
  auto* q = r.mutable_records_query();
  q->mutable_person()->set_name("DOE, JOHN");
  q->mutable_person()->set_dob("1980-04-12");
  q->set_reason_code("TRAFFIC_STOP");
  return r;
}

}  // namespace mdc::test::samples
