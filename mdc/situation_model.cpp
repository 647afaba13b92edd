#include "mdc/situation_model.h"

#include <cmath>

#include "mdc/labels.h"
#include "shared/wire/geo.h"

namespace mdc::ui {

namespace {
QString bearingText(double deg) {
  if (deg < 0) return {};
  return QStringLiteral("%1 · %2°").arg(QString::fromLatin1(geo::compassPoint(deg))).arg(std::lround(deg));
}
}  // namespace

SituationModel::SituationModel(AgentConnection& agent, QObject* parent) : RowListModel(parent), agent_(agent) {
  connect(&agent_, &AgentConnection::snapshotChanged, this, &SituationModel::refresh);
  refresh();
}

void SituationModel::refresh() {
  if (!agent_.hasSnapshot()) return;
  const auto& s = agent_.snapshot();
  const bool fix = s.gps().has_fix() && s.gps().has_last_fix();
  // The plot's origin: this vehicle, or the call when the vehicle has no fix.
  double originLat = 0, originLon = 0;
  bool origin = false;
  if (fix) {
    originLat = s.gps().last_fix().lat();
    originLon = s.gps().last_fix().lon();
    origin = true;
  } else if (s.has_call()) {
    originLat = s.call().lat();
    originLon = s.call().lon();
    origin = true;
  }
  QList<Entry> next;
  for (const auto& u : s.nearby()) {
    Entry e;
    e.unit = QString::fromStdString(u.unit_id());
    e.status = statusLabel(u.status());
    e.distance = QString::fromStdString(geo::distanceText(u.distance_m()));
    e.bearing = bearingText(u.bearing_deg());
    e.incident = QString::fromStdString(u.incident_number());
    if (origin) geo::eastNorthM(originLat, originLon, u.lat(), u.lon(), e.eastM, e.northM);
    e.emergency = u.emergency();
    e.onCall = u.on_same_call();
    e.positionAtMs = u.position_at_ms();
    next.append(std::move(e));
  }
  QString incident, direction;
  double callE = 0, callN = 0;
  if (s.has_call()) {
    incident = QString::fromStdString(s.call().incident_number());
    if (s.call().from_fix()) {
      direction = tr("%1 %2").arg(QString::fromStdString(geo::distanceText(s.call().distance_m())),
                                  bearingText(s.call().bearing_deg()));
      geo::eastNorthM(originLat, originLon, s.call().lat(), s.call().lon(), callE, callN);
    } else {
      direction = tr("No GPS fix: distance to the call unknown");
    }
  }
  const qint64 age = s.now_ms() - s.nearby_at_ms();
  const bool current = s.nearby_at_ms() > 0 && age < kCurrentMs;
  QString summary;
  if (s.nearby_at_ms() == 0)
    summary = tr("No nearby units from dispatch yet");
  else
    summary = tr("%1 within %2 or on the call · updated %3 ago")
                  .arg(next.isEmpty() ? tr("No units") : next.size() == 1 ? tr("1 unit") : tr("%1 units").arg(next.size()),
                       QString::fromStdString(geo::distanceText(s.nearby_radius_m())),
                       ageText(std::max<qint64>(age, 0)));
  QStringList emergencies;
  for (const auto& e : next)
    if (e.emergency) emergencies << QStringLiteral("%1 · %2 %3").arg(e.unit, e.distance, e.bearing.section(' ', 0, 0));

  const bool any = setRows(std::move(next));
  const QString emergency = emergencies.join(QStringLiteral("   "));
  if (any || fix != hasFix_ || incident != callIncident_ || direction != callDirection_ || callE != callEastM_ ||
      callN != callNorthM_ || summary != summary_ || emergency != emergency_ || current != current_ ||
      s.nearby_at_ms() != nearbyAtMs_) {
    hasFix_ = fix;
    callIncident_ = incident;
    callDirection_ = direction;
    callEastM_ = callE;
    callNorthM_ = callN;
    summary_ = summary;
    emergency_ = emergency;
    current_ = current;
    nearbyAtMs_ = s.nearby_at_ms();
    emit changed();
  }
}

int SituationModel::callUnits() const {
  int n = 0;
  for (const auto& e : rows()) n += e.onCall ? 1 : 0;
  return n;
}

double SituationModel::extent(bool callOnly) const {
  double m = 0;
  if (hasCall()) m = std::hypot(callEastM_, callNorthM_);
  for (const auto& e : rows())
    if (!callOnly || e.onCall) m = std::max({m, std::fabs(e.eastM), std::fabs(e.northM)});
  // A little room around the farthest, and never closer than 200 m.
  return std::max(200.0, m * 1.15);
}

QVariant SituationModel::rowData(const Entry& e, int, int role) const {
  switch (role) {
    case Qt::DisplayRole:
    case UnitRole: return e.unit;
    case StatusRole: return e.status;
    case DistanceRole: return e.distance;
    case BearingRole: return e.bearing;
    case EastRole: return e.eastM;
    case NorthRole: return e.northM;
    case EmergencyRole: return e.emergency;
    case OnCallRole: return e.onCall;
    case AgeRole: return clockText(e.positionAtMs);
    case IncidentRole: return e.incident;
    default: return {};
  }
}

QHash<int, QByteArray> SituationModel::roleNames() const {
  return {{UnitRole, "unit"},       {StatusRole, "status"},     {DistanceRole, "distance"},
          {BearingRole, "bearing"}, {EastRole, "eastM"},        {NorthRole, "northM"},
          {EmergencyRole, "emergency"}, {OnCallRole, "onCall"}, {AgeRole, "seenAt"},
          {IncidentRole, "incident"}};
}

}  // namespace mdc::ui
