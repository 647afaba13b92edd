#include "mdc/cfs_controller.h"

#include <cmath>

#include "mdc/labels.h"

namespace mdc::ui {

CfsController::CfsController(AgentConnection& agent, QObject* parent) : QObject(parent), agent_(agent) {
  connect(&agent_, &AgentConnection::snapshotChanged, this, &CfsController::refresh);
  refresh();
}

QStringList CfsController::typeCodes() const {
  QStringList l;
  for (const auto& t : types_) l << t.code;
  return l;
}

QStringList CfsController::typeLabels() const {
  QStringList l;
  for (const auto& t : types_) l << t.label;
  return l;
}

bool CfsController::create(const QString& typeCode, double lat, double lon, const QString& address,
                           const QString& note) {
  QString error;
  if (typeCode.isEmpty() || typeCode.size() > 32) error = tr("Choose a call type");
  else if (!std::isfinite(lat) || lat < -90 || lat > 90) error = tr("Latitude %1: out of range -90..90").arg(lat);
  else if (!std::isfinite(lon) || lon < -180 || lon > 180) error = tr("Longitude %1: out of range -180..180").arg(lon);
  else if (address.size() > 200) error = tr("Address: at most 200 characters (%1)").arg(address.size());
  else if (note.size() > 1000) error = tr("Note: at most 1000 characters (%1)").arg(note.size());
  if (!error.isEmpty()) {
    lastError_ = error;
    emit changed();
    emit failed(error);
    return false;
  }
  v1::ApiRequest r;
  auto* c = r.mutable_create_cfs();
  c->set_cfs_type(typeCode.toStdString());
  c->mutable_location()->set_lat(lat);
  c->mutable_location()->set_lon(lon);
  // Entered by hand or copied from the fix: the responder vouches for 2D only.
  c->mutable_location()->set_mode(v1::FIX_MODE_2D);
  c->mutable_location()->set_alt_m(NAN);
  c->mutable_location()->set_speed_mps(NAN);
  c->mutable_location()->set_track_deg(NAN);
  c->mutable_location()->set_eph_m(NAN);
  c->set_address(address.toStdString());
  c->set_note(note.toStdString());
  sending_ = true;
  lastError_.clear();
  emit changed();
  agent_.request(this, std::move(r),
                 {.settle =
                      [this, typeCode](const v1::ApiReply& reply) {
                        sending_ = false;
                        if (!reply.ok()) return;
                        lastSeq_ = reply.queued().seq();
                        lastType_ = typeCode;
                        lastDelivery_ = QStringLiteral("queued");
                        lastIncident_.clear();
                      },
                  .error = &lastError_,
                  .describeFailure = [](const QString& e) { return tr("Call not opened: %1").arg(e); },
                  .changed = [this] { emit changed(); },
                  .queued =
                      [this](const v1::ApiReply&) {
                        emit queued(lastSeq_);
                        refresh();
                      },
                  .failed = [this](const QString& e) { emit failed(e); }});
  return true;
}

void CfsController::refresh() {
  if (!agent_.hasSnapshot()) return;
  const auto& s = agent_.snapshot();
  QList<CfsType> types;
  for (const auto& t : s.cfs_types()) types.append({QString::fromStdString(t.code()), QString::fromStdString(t.label())});
  if (types.isEmpty()) types = defaultCfsTypes();
  if (types != types_) {
    types_ = types;
    emit typesChanged();
  }
  const bool fix = s.gps().has_fix();
  const double lat = s.gps().last_fix().lat(), lon = s.gps().last_fix().lon();
  if (fix != gpsFix_ || lat != lat_ || lon != lon_) {
    gpsFix_ = fix;
    lat_ = lat;
    lon_ = lon;
    emit gpsChanged();
  }
  // Follow the CFS opened last: the one this screen opened, else the newest the agent knows.
  const v1::ActionRecord* last = nullptr;
  for (const auto& a : s.recent_actions()) {
    if (a.kind() != "cfs") continue;
    if (lastSeq_ == 0 || a.seq() == lastSeq_) {
      last = &a;
      break;
    }
  }
  if (!last) return;
  const QString type = QString::fromStdString(last->summary());
  const QString delivery = deliveryKey(last->delivery());
  // The agent writes the incident number into the detail once the backend accepted it.
  const bool refused = last->delivery() == v1::DELIVERY_REJECTED || last->delivery() == v1::DELIVERY_HELD;
  const QString incident = refused ? QString() : QString::fromStdString(last->detail());
  if (type == lastType_ && delivery == lastDelivery_ && incident == lastIncident_ && lastSeq_ == last->seq()) return;
  lastSeq_ = last->seq();
  lastType_ = type;
  lastDelivery_ = delivery;
  lastIncident_ = incident;
  if (last->delivery() == v1::DELIVERY_REJECTED) lastError_ = tr("Rejected: %1").arg(QString::fromStdString(last->detail()));
  else if (last->delivery() == v1::DELIVERY_HELD) lastError_ = tr("Not accepted yet: %1").arg(QString::fromStdString(last->detail()));
  emit changed();
}

}  // namespace mdc::ui
