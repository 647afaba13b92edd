#pragma once
// Dispatcher commands for the store's tests: the fields a test gives, by the
// command's kind, made into the typed control request the stub runs.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <QJsonDocument>
#include <QJsonObject>

#include "server-stub/proto/control.pb.h"

namespace cad::test {

/** A command as a test writes it: its kind and the fields that kind uses. */
struct Command {
  std::string kind, actor, agency, incident, unit, device, cfsType;
  std::optional<int> priority;  ///< absent: the stub's default (3)
  std::string address;
  std::optional<std::pair<double, double>> location;
  std::string text;  ///< a message's text, a call's notes
  bool force = false;
  std::vector<std::string> statuses;
  int avlMovingS = 0, avlStationaryS = 0;
  std::string tokenHash;
  int64_t ttlS = 0;
  std::string scheduleId;
  int64_t everyS = 0, fromMs = 0, untilMs = 0;
  std::string label, apcoCode;
  QJsonObject document;
  std::string zone, district;
  std::vector<std::string> zones;
};

/** The control request of a test's command; throws for a kind the stub has no command for. */
inline control::ControlRequest request(const Command& c) {
  control::ControlRequest r;
  r.set_actor(c.actor);
  r.set_agency(c.agency);
  auto location = [&c](auto* m) {
    if (c.location) {
      m->mutable_location()->set_lat(c.location->first);
      m->mutable_location()->set_lon(c.location->second);
    }
    if (c.priority) m->set_priority(*c.priority);
    m->set_type(c.cfsType);
    m->set_address(c.address);
    m->set_notes(c.text);
  };
  const std::string& k = c.kind;
  if (k == "create_cfs") location(r.mutable_create_cfs());
  else if (k == "schedule_create") {
    location(r.mutable_schedule_create());
    r.mutable_schedule_create()->set_every_s(c.everyS);
    r.mutable_schedule_create()->set_from_ms(c.fromMs);
    r.mutable_schedule_create()->set_until_ms(c.untilMs);
  } else if (k == "assign") {
    r.mutable_assign()->set_incident(c.incident);
    r.mutable_assign()->set_unit(c.unit);
    r.mutable_assign()->set_force(c.force);
  } else if (k == "message") {
    r.mutable_message()->set_unit(c.unit);
    r.mutable_message()->set_text(c.text);
  } else if (k == "ack_emergency") r.mutable_ack_emergency()->set_unit(c.unit);
  else if (k == "close_cfs") r.mutable_close_cfs()->set_incident(c.incident);
  else if (k == "device_add") {
    r.mutable_device_add()->set_device(c.device);
    r.mutable_device_add()->set_unit(c.unit);
  } else if (k == "device_move") {
    r.mutable_device_move()->set_device(c.device);
    r.mutable_device_move()->set_unit(c.unit);
  } else if (k == "device_remove") r.mutable_device_remove()->set_device(c.device);
  else if (k == "enroll_token") {
    r.mutable_enroll_token()->set_device(c.device);
    r.mutable_enroll_token()->set_unit(c.unit);
    r.mutable_enroll_token()->set_token_sha256(c.tokenHash);
    r.mutable_enroll_token()->set_ttl_s(c.ttlS);
  } else if (k == "agency_config") {
    for (const auto& s : c.statuses) r.mutable_agency_config()->add_statuses(s);
    r.mutable_agency_config()->set_avl_moving_s(c.avlMovingS);
    r.mutable_agency_config()->set_avl_stationary_s(c.avlStationaryS);
  } else if (k == "cfs_type_add") {
    r.mutable_cfs_type_add()->set_type(c.cfsType);
    r.mutable_cfs_type_add()->set_label(c.label);
    r.mutable_cfs_type_add()->set_apco(c.apcoCode);
  } else if (k == "cfs_type_remove") r.mutable_cfs_type_remove()->set_type(c.cfsType);
  else if (k == "zone_set") {
    r.mutable_zone_set()->set_zone(c.zone);
    r.mutable_zone_set()->set_district(c.district);
  } else if (k == "zone_remove") r.mutable_zone_remove()->set_zone(c.zone);
  else if (k == "unit_zone") {
    r.mutable_unit_zone()->set_unit(c.unit);
    r.mutable_unit_zone()->set_zone(c.zone);
  } else if (k == "supervisor") {
    r.mutable_supervisor()->set_unit(c.unit);
    r.mutable_supervisor()->set_district(c.district);
    for (const auto& z : c.zones) r.mutable_supervisor()->add_zones(z);
  } else if (k == "eido_import")
    r.mutable_eido_import()->set_document_json(QJsonDocument(c.document).toJson(QJsonDocument::Compact).toStdString());
  else if (k == "schedule_cancel") r.mutable_schedule_cancel()->set_schedule(c.scheduleId);
  else if (k == "stats") r.mutable_stats();
  else if (!k.empty()) throw std::invalid_argument("no command \"" + k + "\"");
  return r;
}

}  // namespace cad::test
