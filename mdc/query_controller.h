#pragma once
// Records queries from the screen: a plate or a person, with the CFS or a
// reason; the answers while they are on the screen (the agent holds them in
// memory only); the full-width officer-safety alert of a hit; and the hits of
// other units on this unit's call.
#include <QObject>
#include <QSet>
#include <QStringList>
#include <QVariantList>
#include <QVariantMap>
#include <QtQml/qqmlregistration.h>

#include "mdc/agent_connection.h"

namespace mdc::ui {

/** Thread-safety: GUI thread only. */
class QueryController : public QObject {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(bool online READ online NOTIFY changed)
  Q_PROPERTY(QString incidentNumber READ incidentNumber NOTIFY changed)
  Q_PROPERTY(QStringList reasonCodes READ reasonCodes CONSTANT)
  Q_PROPERTY(QStringList reasonLabels READ reasonLabels CONSTANT)
  Q_PROPERTY(QVariantList queries READ queries NOTIFY changed)
  Q_PROPERTY(bool sending READ sending NOTIFY changed)
  Q_PROPERTY(QString lastError READ lastError NOTIFY changed)
  Q_PROPERTY(QVariantMap hitAlert READ hitAlert NOTIFY changed)
  Q_PROPERTY(QVariantList safetyAlerts READ safetyAlerts NOTIFY changed)

 public:
  explicit QueryController(AgentConnection& agent, QObject* parent = nullptr);

  /** The link to dispatch is up: queries can run. */
  bool online() const { return online_; }
  /** The unit's current call ("" without one): the default reason. */
  QString incidentNumber() const { return incident_; }
  QStringList reasonCodes() const;
  QStringList reasonLabels() const;
  /** Newest first: {id, subject, reason, state (waiting|slow|answered|failed),
   *  detail, hit, flags (text), entries [{kind, summary, flags [{kind, detail}]}],
   *  expiresAtMs (Unix ms; 0 while waiting)}. */
  QVariantList queries() const { return queries_; }
  bool sending() const { return sending_; }
  QString lastError() const { return lastError_; }
  /** The newest answered hit of this unit's queries the responder has not
   *  acknowledged ({} when none): shown full width over every page. */
  QVariantMap hitAlert() const { return hitAlert_; }
  /** Other units' hits on this unit's calls, not dismissed: {seq, unit,
   *  incident, subject, flags (text), details}. */
  QVariantList safetyAlerts() const { return safetyAlerts_; }

  /** reason: "CFS" (the current call) or a reason code. False (and
   *  lastError) when the input is refused before it leaves the screen. */
  Q_INVOKABLE bool runPlate(const QString& plate, const QString& state, const QString& reason);
  Q_INVOKABLE bool runPerson(const QString& name, const QString& dob, const QString& reason);
  Q_INVOKABLE void acknowledgeHit(const QString& queryId);
  Q_INVOKABLE void dismissSafetyAlert(qulonglong seq);

 signals:
  void changed();

 private:
  bool run(v1::RecordsQuery query, const QString& reason);
  void refresh();

  AgentConnection& agent_;
  bool online_ = false;
  QString incident_;
  QVariantList queries_;
  bool sending_ = false;
  QString lastError_;
  QVariantMap hitAlert_;
  QSet<QString> acknowledgedHits_;
  QVariantList safetyAlerts_;
  QSet<qulonglong> dismissedAlerts_;
};


}  // namespace mdc::ui
