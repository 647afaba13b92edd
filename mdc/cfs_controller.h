#pragma once
// Self-initiated calls for service ("traffic stop here"): the call types, a
// location prefilled from GPS, and the incident number once the backend assigns it.
#include <QObject>
#include <QStringList>
#include <QtQml/qqmlregistration.h>

#include "mdc/agent_connection.h"
#include "mdc/labels.h"

namespace mdc::ui {

/** Opens self-initiated CFS and follows the last one. Works offline (the
 *  agent queues it). Thread-safety: GUI thread only. */
class CfsController : public QObject {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(QStringList typeCodes READ typeCodes NOTIFY typesChanged)
  Q_PROPERTY(QStringList typeLabels READ typeLabels NOTIFY typesChanged)
  Q_PROPERTY(bool gpsFix READ gpsFix NOTIFY gpsChanged)
  Q_PROPERTY(double gpsLatitude READ gpsLatitude NOTIFY gpsChanged)
  Q_PROPERTY(double gpsLongitude READ gpsLongitude NOTIFY gpsChanged)
  Q_PROPERTY(QString lastType READ lastType NOTIFY changed)
  Q_PROPERTY(QString lastDelivery READ lastDelivery NOTIFY changed)
  Q_PROPERTY(QString lastIncidentNumber READ lastIncidentNumber NOTIFY changed)
  Q_PROPERTY(bool sending READ sending NOTIFY changed)
  Q_PROPERTY(QString lastError READ lastError NOTIFY changed)

 public:
  explicit CfsController(AgentConnection& agent, QObject* parent = nullptr);

  QStringList typeCodes() const;
  QStringList typeLabels() const;
  /** The last good fix, to prefill the location (editable on screen). */
  bool gpsFix() const { return gpsFix_; }
  double gpsLatitude() const { return lat_; }
  double gpsLongitude() const { return lon_; }
  /** The CFS opened last from this screen (or found in the agent's recent actions). */
  QString lastType() const { return lastType_; }
  QString lastDelivery() const { return lastDelivery_; }
  /** The backend's incident number for it ("" until assigned). */
  QString lastIncidentNumber() const { return lastIncident_; }
  bool sending() const { return sending_; }
  QString lastError() const { return lastError_; }

  /** Opens a CFS of typeCode at (lat, lon); returns false (and sets lastError)
   *  when the input is invalid, else true at once; the agent's answer follows. */
  Q_INVOKABLE bool create(const QString& typeCode, double lat, double lon, const QString& address, const QString& note);

 signals:
  void changed();
  void gpsChanged();
  void typesChanged();
  /** The agent committed it (its action record's seq). */
  void queued(qulonglong seq);
  void failed(const QString& error);

 private:
  void refresh();

  AgentConnection& agent_;
  bool gpsFix_ = false;
  QList<CfsType> types_ = defaultCfsTypes();  // the agency's, else the default set
  double lat_ = 0, lon_ = 0;
  qulonglong lastSeq_ = 0;
  QString lastType_, lastDelivery_, lastIncident_, lastError_;
  bool sending_ = false;
};

}  // namespace mdc::ui
