#include "mdc/labels.h"

#include <QCoreApplication>
#include <QDateTime>

namespace mdc::ui {

namespace {
QString tr(const char* s) { return QCoreApplication::translate("mdc", s); }
}  // namespace

QString statusLabel(v1::UnitStatus s) {
  switch (s) {
    case v1::UNIT_STATUS_AVAILABLE: return tr("Available");
    case v1::UNIT_STATUS_EN_ROUTE: return tr("En route");
    case v1::UNIT_STATUS_ON_SCENE: return tr("On scene");
    case v1::UNIT_STATUS_TRANSPORTING: return tr("Transporting");
    case v1::UNIT_STATUS_AT_HOSPITAL: return tr("At hospital");
    case v1::UNIT_STATUS_BUSY: return tr("Busy");
    case v1::UNIT_STATUS_OUT_OF_SERVICE: return tr("Out of service");
    case v1::UNIT_STATUS_AT_STATION: return tr("At station");
    case v1::UNIT_STATUS_RETURNING: return tr("Returning");
    case v1::UNIT_STATUS_STAGED: return tr("Staged");
    default: return QStringLiteral("—");
  }
}

QString deliveryKey(v1::Delivery d) {
  switch (d) {
    case v1::DELIVERY_QUEUED: return QStringLiteral("queued");
    case v1::DELIVERY_DELIVERED: return QStringLiteral("delivered");
    case v1::DELIVERY_REJECTED: return QStringLiteral("rejected");
    case v1::DELIVERY_HELD: return QStringLiteral("held");
    default: return {};
  }
}

QString ageText(qint64 ms) {
  if (ms < 0) ms = 0;
  const qint64 s = ms / 1000;
  if (s < 60) return tr("%1 s").arg(s);
  if (s < 3600) return tr("%1 min").arg(s / 60);
  return tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

QString clockText(qint64 unixMs) {
  if (unixMs <= 0) return QStringLiteral("—");
  return QDateTime::fromMSecsSinceEpoch(unixMs).toLocalTime().toString(QStringLiteral("HH:mm"));
}

QList<int> defaultStatuses() {
  return {v1::UNIT_STATUS_AVAILABLE,    v1::UNIT_STATUS_EN_ROUTE,    v1::UNIT_STATUS_ON_SCENE,
          v1::UNIT_STATUS_TRANSPORTING, v1::UNIT_STATUS_AT_HOSPITAL, v1::UNIT_STATUS_BUSY,
          v1::UNIT_STATUS_OUT_OF_SERVICE};
}

QList<CfsType> defaultCfsTypes() {
  // APCO ANS 2.103 common incident types a unit starts on its own most.
  return {{QStringLiteral("TSTOP"), tr("Traffic stop")},
          {QStringLiteral("PERSUSP"), tr("Suspicious person")},
          {QStringLiteral("VEHSUSP"), tr("Suspicious vehicle")},
          {QStringLiteral("CITASST"), tr("Flagged down")},
          {QStringLiteral("SICK"), tr("Medical assist")},
          {QStringLiteral("THAZ"), tr("Traffic hazard")},
          {QStringLiteral("ADMIN"), tr("Follow-up")},
          {QStringLiteral("INVEST"), tr("Investigation")}};
}

}  // namespace mdc::ui
