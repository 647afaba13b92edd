#pragma once
// The emergency ("officer needs help"): raised by a deliberate press-and-hold
// on screen, shown everywhere while active, with the dispatcher's acknowledgement.
#include <QObject>
#include <QtQml/qqmlregistration.h>

#include "mdc/agent_connection.h"

namespace mdc::ui {

/** Emergency state and intents. Thread-safety: GUI thread only. */
class EmergencyController : public QObject {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(bool active READ active NOTIFY changed)
  Q_PROPERTY(QString delivery READ delivery NOTIFY changed)
  Q_PROPERTY(QString acknowledgedBy READ acknowledgedBy NOTIFY changed)
  Q_PROPERTY(bool sending READ sending NOTIFY changed)
  Q_PROPERTY(QString lastError READ lastError NOTIFY changed)
  Q_PROPERTY(int holdMs READ holdMs CONSTANT)

 public:
  explicit EmergencyController(AgentConnection& agent, QObject* parent = nullptr);

  bool active() const { return active_; }
  /** "queued" until the backend committed the activation, then "delivered". */
  QString delivery() const { return delivery_; }
  /** The dispatcher who acknowledged it ("" until then). */
  QString acknowledgedBy() const { return ackBy_; }
  bool sending() const { return sending_; }
  QString lastError() const { return lastError_; }
  /** How long the button must be held before it raises the emergency. */
  int holdMs() const { return 1500; }

  /** Raises the emergency (source: screen); returns at once. */
  Q_INVOKABLE void activate();
  /** Clears it (the responder is safe); returns at once. */
  Q_INVOKABLE void clear();

 signals:
  void changed();

 private:
  void request(bool active);
  void refresh();

  AgentConnection& agent_;
  bool active_ = false;
  QString delivery_, ackBy_, lastError_;
  bool sending_ = false;
};

}  // namespace mdc::ui
