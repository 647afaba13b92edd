// The registry's commands on devices: register one to a unit, move it to
// another, take it out, and issue an enrolment token for it.
#include <QJsonObject>

#include "server-stub/store/read_models.h"
#include "server-stub/domain/command_scope.h"
#include "server-stub/store/event_row.h"
#include "shared/wire/clock.h"
#include "shared/wire/topics.h"

namespace cad {

namespace {

/** Refused unless the unit is 1-32 characters and not another agency's. */
Status checkServedUnit(CommandScope& c, const std::string& unit) {
  if (unit.empty() || unit.size() > 32) return refuse("unit \"" + unit + "\": must be 1-32 characters");
  if (auto a = c.unitAgency(unit); a && *a != c.agency()) return refuse("unit \"" + unit + "\": belongs to another agency");
  return {};
}

/** The unit a device of the command's agency serves; refused for another agency's or none. */
Result<std::string> deviceOfAgency(CommandScope& c, const std::string& device) {
  auto st = c.cached("SELECT agency, unit_id FROM devices WHERE device_id=?");
  st->bind(1, device);
  if (!st->step() || st->text(0) != c.agency())
    return refuse("device \"" + device + "\": no such device in agency " + c.agency());
  return st->text(1);
}

}  // namespace

Status checkDeviceAdd(CommandScope& c) {
  const control::DeviceAdd& cmd = c.req.device_add();
  if (!mdc::topics::isValidDeviceId(cmd.device()))
    return refuse("device \"" + cmd.device() + "\": must be 1-64 characters of A-Z a-z 0-9 . _ -");
  if (cmd.unit().empty() || cmd.unit().size() > 32) return refuse("unit \"" + cmd.unit() + "\": must be 1-32 characters");
  if (ReadModels(c.store).unitOfDevice(cmd.device())) return refuse("device \"" + cmd.device() + "\": already registered (use devices move)");
  if (Status s = checkServedUnit(c, cmd.unit()); !s) return s;
  c.payload = {{"device", QString::fromStdString(cmd.device())}, {"unit", QString::fromStdString(cmd.unit())}};
  c.unit = cmd.unit();
  c.summary = "device " + cmd.device() + " serves unit " + cmd.unit() + " of " + c.agency();
  return {};
}

Status checkDeviceMove(CommandScope& c) {
  const control::DeviceMove& cmd = c.req.device_move();
  if (auto served = deviceOfAgency(c, cmd.device()); !served) return served.error();
  if (Status s = checkServedUnit(c, cmd.unit()); !s) return s;
  c.payload = {{"device", QString::fromStdString(cmd.device())}, {"unit", QString::fromStdString(cmd.unit())}};
  c.unit = cmd.unit();
  c.summary = "device " + cmd.device() + " now serves unit " + cmd.unit();
  return {};
}

Status checkDeviceRemove(CommandScope& c) {
  const std::string& device = c.req.device_remove().device();
  auto served = deviceOfAgency(c, device);
  if (!served) return served.error();
  c.unit = *served;
  c.payload = {{"device", QString::fromStdString(device)}, {"unit", QString::fromStdString(c.unit)}};
  c.summary = "device " + device + " removed from the registry (it served unit " + c.unit + ")";
  return {};
}

Status checkEnrollToken(CommandScope& c) {
  const control::EnrollToken& cmd = c.req.enroll_token();
  auto served = deviceOfAgency(c, cmd.device());
  if (!served) return served.error();
  const std::string& unit = c.unit = *served;
  if (!cmd.unit().empty() && cmd.unit() != unit)
    return refuse("device \"" + cmd.device() + "\": serves unit " + unit + ", not " + cmd.unit() +
                  " (devices move it first, or leave --unit out)");
  const std::string& hash = cmd.token_sha256();
  if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos)
    return refuse("token hash: 64 lower-case hex digits expected");
  if (cmd.ttl_s() < 600 || cmd.ttl_s() > 30 * 86400) return refuse("ttl " + std::to_string(cmd.ttl_s()) + " s: out of range 10m-30d");
  if (ReadModels(c.store).enrolToken(hash)) return refuse("token: this token exists already");
  const int64_t expiresAtMs = c.nowMs + cmd.ttl_s() * 1000;
  c.payload = {{"device", QString::fromStdString(cmd.device())}, {"unit", QString::fromStdString(unit)},
               {"token_sha256", QString::fromStdString(hash)}, {"expires_at_ms", qint64(expiresAtMs)}};
  c.summary = "enrolment token for " + cmd.device() + " (unit " + unit + "), single use, valid until " +
              mdc::formatIsoUtc(expiresAtMs);
  return {};
}

}  // namespace cad
