#include "mdc/header_state.h"

#include <QDateTime>
#include <cmath>

#include "mdc/labels.h"

namespace mdc::ui {

HeaderState::HeaderState(AgentConnection& agent, QObject* parent) : QObject(parent), agent_(agent) {
  connect(&agent_, &AgentConnection::snapshotChanged, this, &HeaderState::refresh);
  tick_.setInterval(1000);
  connect(&tick_, &QTimer::timeout, this, &HeaderState::refresh);
  tick_.start();
  refresh();
}

void HeaderState::refresh() {
  Values n;
  if (agent_.hasSnapshot()) {
    const auto& s = agent_.snapshot();
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    n.unitId = QString::fromStdString(s.unit_id());
    n.agency = QString::fromStdString(s.agency());
    n.statusLabel = mdc::ui::statusLabel(s.status());
    n.statusDelivery = deliveryKey(s.status_delivery());
    switch (s.link()) {
      case v1::LINK_STATE_ONLINE:
        n.link = Online;
        n.linkText = tr("Online");
        break;
      case v1::LINK_STATE_CONNECTING:
        n.link = Connecting;
        n.linkText = tr("Connecting…");
        break;
      case v1::LINK_STATE_OFFLINE:
        n.link = Offline;
        n.linkText = s.link_since_ms() > 0 ? tr("Offline since %1").arg(clockText(s.link_since_ms())) : tr("Offline");
        break;
      default:
        n.link = Unknown;
        n.linkText = QStringLiteral("—");
    }
    const auto& g = s.gps();
    n.gpsFix = g.has_fix();
    if (g.has_fix()) {
      const auto& f = g.last_fix();
      QString mode = f.mode() == v1::FIX_MODE_3D ? QStringLiteral("3D") : QStringLiteral("2D");
      n.gpsText = tr("GPS %1 · %2 sat").arg(mode).arg(f.satellites());
      if (std::isfinite(f.eph_m()) && f.eph_m() > 0) n.gpsText += tr(" · ±%1 m").arg(qRound(f.eph_m()));
    } else if (g.no_fix_since_ms() > 0) {
      n.gpsText = tr("No fix since %1").arg(clockText(g.no_fix_since_ms()));
    } else {
      n.gpsText = tr("No GPS");
    }
    qint64 oldest = 0;
    for (const auto& l : s.lanes()) {
      n.outboxDepth += int(l.count());
      if (l.lane() == v1::LANE_AVL) continue;
      n.unsentActions += int(l.count());
      if (l.count() > 0 && l.oldest_at_ms() > 0 && (oldest == 0 || l.oldest_at_ms() < oldest)) oldest = l.oldest_at_ms();
    }
    if (n.unsentActions > 0 && oldest > 0) n.oldestUnsentText = ageText(now - oldest);
    n.emergencyActive = s.emergency_active();
  }
  if (n == v_) return;
  v_ = std::move(n);
  emit changed();
}

}  // namespace mdc::ui
