#pragma once
// The unit's current assignment (the newest CFS dispatch gave it): what, where,
// who else, what happened so far, and the responder's acknowledgement.
#include <QObject>
#include <QStringList>
#include <QtQml/qqmlregistration.h>

#include "mdc/agent_connection.h"
#include "mdc/row_list_model.h"

namespace mdc::ui {

/** One line of a CFS timeline. */
struct TimelineRow {
  qint64 atMs = 0;
  QString text;
  bool operator==(const TimelineRow&) const = default;
};

/** A CFS timeline, oldest first. Thread-safety: GUI thread only. */
class TimelineModel : public RowListModel<TimelineRow> {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("owned by AssignmentController")

 public:
  enum Role { TimeRole = Qt::UserRole + 1, TextRole };
  Q_ENUM(Role)
  using Entry = TimelineRow;

  explicit TimelineModel(QObject* parent = nullptr) : RowListModel(parent) {}
  /** Replaces the entries (resets only when they differ). */
  void setEntries(QList<Entry> entries) { setRows(std::move(entries)); }

  QHash<int, QByteArray> roleNames() const override;

 private:
  QVariant rowData(const Entry& e, int index, int role) const override;
};

/** The current assignment and its acknowledgement. Thread-safety: GUI thread only. */
class AssignmentController : public QObject {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(bool hasAssignment READ hasAssignment NOTIFY changed)
  Q_PROPERTY(QString incidentNumber READ incidentNumber NOTIFY changed)
  Q_PROPERTY(QString cfsType READ cfsType NOTIFY changed)
  Q_PROPERTY(int priority READ priority NOTIFY changed)
  Q_PROPERTY(QString address READ address NOTIFY changed)
  Q_PROPERTY(QString locationText READ locationText NOTIFY changed)
  Q_PROPERTY(QString notes READ notes NOTIFY changed)
  Q_PROPERTY(QStringList units READ units NOTIFY changed)
  Q_PROPERTY(QString assignedAt READ assignedAt NOTIFY changed)
  Q_PROPERTY(TimelineModel* timeline READ timeline CONSTANT)
  Q_PROPERTY(bool acknowledged READ acknowledged NOTIFY changed)
  Q_PROPERTY(QString ackDelivery READ ackDelivery NOTIFY changed)
  Q_PROPERTY(bool alerting READ alerting NOTIFY changed)
  Q_PROPERTY(bool soundEnabled READ soundEnabled WRITE setSoundEnabled NOTIFY soundEnabledChanged)
  Q_PROPERTY(bool sending READ sending NOTIFY changed)
  Q_PROPERTY(QString lastError READ lastError NOTIFY changed)
  Q_PROPERTY(QString lastCleared READ lastCleared NOTIFY changed)

 public:
  explicit AssignmentController(AgentConnection& agent, QObject* parent = nullptr);

  bool hasAssignment() const { return !incident_.isEmpty(); }
  /** When the unit's latest call is over: "2026-000002 STRUCTURE_FIRE: closed by disp-7" ("" otherwise). */
  QString lastCleared() const { return lastCleared_; }
  QString incidentNumber() const { return incident_; }
  QString cfsType() const { return type_; }
  /** 1 (highest) .. 9; 0 without an assignment. */
  int priority() const { return priority_; }
  QString address() const { return address_; }
  /** "40.71280, -74.00600" or "" when dispatch sent no coordinates. */
  QString locationText() const { return location_; }
  QString notes() const { return notes_; }
  QStringList units() const { return units_; }
  QString assignedAt() const { return assignedAt_; }
  TimelineModel* timeline() { return &timeline_; }
  bool acknowledged() const { return acknowledged_; }
  /** "queued"/"delivered" for the acknowledgement ("" before it). */
  QString ackDelivery() const { return ackDelivery_; }
  /** A new, unacknowledged assignment the responder has not yet seen. */
  bool alerting() const { return alerting_; }
  /** Whether a new assignment also sounds (off by default, and in tests). */
  bool soundEnabled() const { return sound_; }
  void setSoundEnabled(bool on);
  bool sending() const { return sending_; }
  QString lastError() const { return lastError_; }

  /** Acknowledges the current assignment; returns at once. */
  Q_INVOKABLE void acknowledge();
  /** The responder has seen the alert (the assignment stays unacknowledged). */
  Q_INVOKABLE void dismissAlert();

 signals:
  void changed();
  void soundEnabledChanged();
  /** A new assignment arrived (once per incident number). */
  void newAssignment(const QString& incidentNumber);
  /** The agent committed the acknowledgement (its action record's seq). */
  void queued(qulonglong seq);
  void failed(const QString& error);
  /** Play the alert sound now (only emitted when soundEnabled). */
  void alertSound();

 private:
  void refresh();

  AgentConnection& agent_;
  TimelineModel timeline_;
  QString incident_, type_, address_, location_, notes_, assignedAt_, ackDelivery_, lastError_;
  int priority_ = 0;
  QStringList units_;
  QString lastCleared_;
  bool acknowledged_ = false, alerting_ = false, sound_ = false, sending_ = false;
  QString seenIncident_;
};

}  // namespace mdc::ui
