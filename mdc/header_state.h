#pragma once
// What the always-visible header shows: who this unit is, its status and
// whether dispatch has it, the link, the GPS, and what is still unsent.
#include <QObject>
#include <QTimer>
#include <QtQml/qqmlregistration.h>

#include "mdc/agent_connection.h"

namespace mdc::ui {

/** Header values derived from the agent's snapshot; ages tick once a second.
 *  Thread-safety: GUI thread only. */
class HeaderState : public QObject {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(QString unitId READ unitId NOTIFY changed)
  Q_PROPERTY(QString agency READ agency NOTIFY changed)
  Q_PROPERTY(QString statusLabel READ statusLabel NOTIFY changed)
  Q_PROPERTY(QString statusDelivery READ statusDelivery NOTIFY changed)
  Q_PROPERTY(Link link READ link NOTIFY changed)
  Q_PROPERTY(QString linkText READ linkText NOTIFY changed)
  Q_PROPERTY(bool gpsFix READ gpsFix NOTIFY changed)
  Q_PROPERTY(QString gpsText READ gpsText NOTIFY changed)
  Q_PROPERTY(int unsentActions READ unsentActions NOTIFY changed)
  Q_PROPERTY(int outboxDepth READ outboxDepth NOTIFY changed)
  Q_PROPERTY(QString oldestUnsentText READ oldestUnsentText NOTIFY changed)
  Q_PROPERTY(bool emergencyActive READ emergencyActive NOTIFY changed)

 public:
  enum Link { Unknown, Offline, Connecting, Online };
  Q_ENUM(Link)

  explicit HeaderState(AgentConnection& agent, QObject* parent = nullptr);

  QString unitId() const { return v_.unitId; }
  QString agency() const { return v_.agency; }
  QString statusLabel() const { return v_.statusLabel; }
  /** "queued" until the backend committed the latest status, then "delivered" ("rejected"). */
  QString statusDelivery() const { return v_.statusDelivery; }
  Link link() const { return v_.link; }
  /** "Online", "Offline since 14:32", "Connecting…". */
  QString linkText() const { return v_.linkText; }
  bool gpsFix() const { return v_.gpsFix; }
  /** "GPS 3D · 9 sat", "No fix since 14:30". */
  QString gpsText() const { return v_.gpsText; }
  /** Responder actions (emergency, status, CFS, acks, messages) the backend has not committed. */
  int unsentActions() const { return v_.unsentActions; }
  /** Every lane, AVL included. */
  int outboxDepth() const { return v_.outboxDepth; }
  /** Age of the oldest unsent responder action ("" when none). */
  QString oldestUnsentText() const { return v_.oldestUnsentText; }
  bool emergencyActive() const { return v_.emergencyActive; }

 signals:
  void changed();

 private:
  struct Values {
    QString unitId, agency, statusLabel, statusDelivery;
    Link link = Unknown;
    QString linkText;
    bool gpsFix = false;
    QString gpsText;
    int unsentActions = 0, outboxDepth = 0;
    QString oldestUnsentText;
    bool emergencyActive = false;
    bool operator==(const Values&) const = default;
  };
  void refresh();

  AgentConnection& agent_;
  QTimer tick_;
  Values v_;
};

}  // namespace mdc::ui
