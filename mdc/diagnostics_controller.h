#pragma once
// What a fleet technician reads on the diagnostics page: identities, versions,
// link, outbox per lane, drops, GPS details and the agent's last errors.
#include <QObject>
#include <QStringList>
#include <QtQml/qqmlregistration.h>

#include "mdc/agent_connection.h"
#include "mdc/row_list_model.h"

namespace mdc::ui {

/** One priority lane of the outbox: how many events wait, and since when. */
struct LaneRow {
  QString name;
  int count = 0;
  QString oldest;
  bool operator==(const LaneRow&) const = default;
};

/** Outbox depth per priority lane. Thread-safety: GUI thread only. */
class LaneModel : public RowListModel<LaneRow> {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("owned by DiagnosticsController")

 public:
  enum Role { NameRole = Qt::UserRole + 1, CountRole, OldestRole };
  Q_ENUM(Role)
  using Entry = LaneRow;
  explicit LaneModel(QObject* parent = nullptr) : RowListModel(parent) {}
  /** Replaces the lanes (resets only when they differ). */
  void setEntries(QList<Entry> entries) { setRows(std::move(entries)); }
  QHash<int, QByteArray> roleNames() const override;

 private:
  QVariant rowData(const Entry& e, int index, int role) const override;
};

/** Diagnostics from the agent's snapshot; "—" where the agent does not say.
 *  Thread-safety: GUI thread only. */
class DiagnosticsController : public QObject {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(QString agentVersion READ agentVersion NOTIFY changed)
  Q_PROPERTY(QString appVersion READ appVersion CONSTANT)
  Q_PROPERTY(QString deviceId READ deviceId NOTIFY changed)
  Q_PROPERTY(QString unitId READ unitId NOTIFY changed)
  Q_PROPERTY(QString agency READ agency NOTIFY changed)
  Q_PROPERTY(QString broker READ broker NOTIFY changed)
  Q_PROPERTY(QString linkDetail READ linkDetail NOTIFY changed)
  Q_PROPERTY(QString certificateExpiry READ certificateExpiry NOTIFY changed)
  Q_PROPERTY(QString certificateSeverity READ certificateSeverity NOTIFY changed)
  Q_PROPERTY(QString lastCommitAck READ lastCommitAck NOTIFY changed)
  Q_PROPERTY(LaneModel* lanes READ lanes CONSTANT)
  Q_PROPERTY(QString droppedAvl READ droppedAvl NOTIFY changed)
  Q_PROPERTY(QString rejectedEvents READ rejectedEvents NOTIFY changed)
  Q_PROPERTY(QString store READ store NOTIFY changed)
  Q_PROPERTY(QString gpsSource READ gpsSource NOTIFY changed)
  Q_PROPERTY(QString gpsFix READ gpsFix NOTIFY changed)
  Q_PROPERTY(QString gpsSatellites READ gpsSatellites NOTIFY changed)
  Q_PROPERTY(QString gpsErrorEstimate READ gpsErrorEstimate NOTIFY changed)
  Q_PROPERTY(QString gpsDetail READ gpsDetail NOTIFY changed)
  Q_PROPERTY(QStringList lastErrors READ lastErrors NOTIFY changed)
  Q_PROPERTY(QStringList counters READ counters NOTIFY changed)
  Q_PROPERTY(QString socketPath READ socketPath CONSTANT)

 public:
  explicit DiagnosticsController(AgentConnection& agent, QObject* parent = nullptr);

  QString agentVersion() const { return v_.agentVersion; }
  QString appVersion() const;
  QString deviceId() const { return v_.deviceId; }
  QString unitId() const { return v_.unitId; }
  QString agency() const { return v_.agency; }
  QString broker() const { return v_.broker; }
  QString linkDetail() const { return v_.linkDetail; }
  /** "2027-12-01 (365 days left) · CN=MDC-0001", "EXPIRED 2026-11-30", or "—" without a certificate. */
  QString certificateExpiry() const { return v_.certificateExpiry; }
  /** "ok", "warn" (under 30 days left), "expired", or "" without a certificate. */
  QString certificateSeverity() const { return v_.certificateSeverity; }
  QString lastCommitAck() const { return v_.lastCommitAck; }
  LaneModel* lanes() { return &lanes_; }
  QString droppedAvl() const { return v_.droppedAvl; }
  QString rejectedEvents() const { return v_.rejectedEvents; }
  /** "1.2 of 256 MiB". */
  QString store() const { return v_.store; }
  QString gpsSource() const { return v_.gpsSource; }
  QString gpsFix() const { return v_.gpsFix; }
  QString gpsSatellites() const { return v_.gpsSatellites; }
  QString gpsErrorEstimate() const { return v_.gpsErrorEstimate; }
  QString gpsDetail() const { return v_.gpsDetail; }
  QStringList lastErrors() const { return v_.lastErrors; }
  /** "published 12", "committed 12", ... */
  QStringList counters() const { return v_.counters; }
  QString socketPath() const { return agent_.socketPath(); }

 signals:
  void changed();

 private:
  struct Values {
    QString agentVersion, deviceId, unitId, agency, broker, linkDetail, lastCommitAck, droppedAvl, rejectedEvents,
        store, gpsSource, gpsFix, gpsSatellites, gpsErrorEstimate, gpsDetail, certificateExpiry, certificateSeverity;
    QStringList lastErrors, counters;
    bool operator==(const Values&) const = default;
  };
  void refresh();

  AgentConnection& agent_;
  LaneModel lanes_;
  Values v_;
};

}  // namespace mdc::ui
