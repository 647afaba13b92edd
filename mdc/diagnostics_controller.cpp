#include "mdc/diagnostics_controller.h"

#include <QDateTime>
#include <cmath>

#include "mdc/labels.h"
#include "shared/wire/certificate_policy.h"

namespace mdc::ui {

QVariant LaneModel::rowData(const Entry& e, int, int role) const {
  switch (role) {
    case Qt::DisplayRole:
    case NameRole: return e.name;
    case CountRole: return e.count;
    case OldestRole: return e.oldest;
    default: return {};
  }
}

QHash<int, QByteArray> LaneModel::roleNames() const {
  return {{NameRole, "name"}, {CountRole, "count"}, {OldestRole, "oldest"}};
}

DiagnosticsController::DiagnosticsController(AgentConnection& agent, QObject* parent) : QObject(parent), agent_(agent) {
  connect(&agent_, &AgentConnection::snapshotChanged, this, &DiagnosticsController::refresh);
  refresh();
}

QString DiagnosticsController::appVersion() const { return QStringLiteral(MDC_VERSION); }

namespace {
QString mib(qint64 bytes) { return QString::number(double(bytes) / (1024.0 * 1024.0), 'f', 1) + QStringLiteral(" MiB"); }
QString laneName(v1::Lane l) {
  switch (l) {
    case v1::LANE_EMERGENCY: return QObject::tr("Emergency");
    case v1::LANE_STATUS: return QObject::tr("Status / CFS / acks");
    case v1::LANE_MESSAGE: return QObject::tr("Messages");
    case v1::LANE_AVL: return QObject::tr("Positions (AVL)");
    default: return QStringLiteral("—");
  }
}
}  // namespace

void DiagnosticsController::refresh() {
  if (!agent_.hasSnapshot()) return;
  const auto& s = agent_.snapshot();
  const qint64 now = QDateTime::currentMSecsSinceEpoch();
  const QString dash = QStringLiteral("—");
  auto orDash = [&](const std::string& x) { return x.empty() ? dash : QString::fromStdString(x); };
  Values n;
  n.agentVersion = orDash(s.agent_version());
  n.deviceId = orDash(s.device_id());
  n.unitId = orDash(s.unit_id());
  n.agency = orDash(s.agency());
  n.broker = orDash(s.broker());
  n.linkDetail = orDash(s.link_detail());
  n.lastCommitAck = s.last_commit_ack_ms() > 0
                        ? tr("%1 (%2 ago)").arg(clockText(s.last_commit_ack_ms()), ageText(now - s.last_commit_ack_ms()))
                        : dash;
  if (s.cert_not_after_ms() > 0) {
    const QString date = QDateTime::fromMSecsSinceEpoch(s.cert_not_after_ms()).toUTC().toString(QStringLiteral("yyyy-MM-dd"));
    const qint64 daysLeft = (s.cert_not_after_ms() - now) / 86'400'000;
    const QString subject = QString::fromStdString(s.cert_subject());
    if (s.cert_not_after_ms() <= now) {
      n.certificateExpiry = tr("EXPIRED %1 · %2").arg(date, subject);
      n.certificateSeverity = QStringLiteral("expired");
    } else {
      const QString left = daysLeft == 1 ? tr("1 day left") : tr("%1 days left").arg(daysLeft);
      n.certificateExpiry = tr("%1 (%2) · %3").arg(date, left, subject);
      n.certificateSeverity = daysLeft < pki::kCertificateWarnDays ? QStringLiteral("warn") : QStringLiteral("ok");
    }
  } else {
    n.certificateExpiry = s.cert_detail().empty() ? tr("no certificate (plain connection)")
                                                  : tr("unreadable: %1").arg(QString::fromStdString(s.cert_detail()));
    n.certificateSeverity = s.cert_detail().empty() ? QString() : QStringLiteral("expired");
  }
  n.droppedAvl = QString::number(s.dropped_avl());
  n.rejectedEvents = QString::number(s.rejected_events());
  // "1.2 of 256 MiB": the used part with a decimal, the cap as configured.
  n.store = s.store_cap_bytes() > 0
                ? tr("%1 of %2 MiB")
                      .arg(QString::number(double(s.store_bytes()) / (1024.0 * 1024.0), 'f', 1),
                           QString::number(double(s.store_cap_bytes()) / (1024.0 * 1024.0), 'g', 6))
                : mib(s.store_bytes());
  const auto& g = s.gps();
  n.gpsSource = orDash(g.source());
  n.gpsDetail = orDash(g.detail());
  if (g.has_fix()) {
    n.gpsFix = g.last_fix().mode() == v1::FIX_MODE_3D ? tr("3D fix") : tr("2D fix");
    n.gpsFix += QStringLiteral(" · %1, %2").arg(g.last_fix().lat(), 0, 'f', 5).arg(g.last_fix().lon(), 0, 'f', 5);
  } else {
    n.gpsFix = g.no_fix_since_ms() > 0 ? tr("no fix since %1").arg(clockText(g.no_fix_since_ms())) : tr("no fix");
  }
  n.gpsSatellites = g.has_last_fix() ? QString::number(g.last_fix().satellites()) : dash;
  n.gpsErrorEstimate = g.has_last_fix() && std::isfinite(g.last_fix().eph_m()) && g.last_fix().eph_m() > 0
                           ? tr("±%1 m").arg(double(g.last_fix().eph_m()), 0, 'f', 1)
                           : dash;
  for (const auto& e : s.last_errors()) n.lastErrors << QString::fromStdString(e);
  std::map<std::string, uint64_t> sorted(s.counters().begin(), s.counters().end());
  for (const auto& [k, v] : sorted) n.counters << QStringLiteral("%1 %2").arg(QString::fromStdString(k)).arg(v);
  QList<LaneModel::Entry> lanes;
  for (const auto& l : s.lanes())
    lanes.append({laneName(l.lane()), int(l.count()),
                  l.count() > 0 && l.oldest_at_ms() > 0 ? ageText(now - l.oldest_at_ms()) : QString()});
  lanes_.setEntries(std::move(lanes));
  if (n == v_) return;
  v_ = std::move(n);
  emit changed();
}

}  // namespace mdc::ui
