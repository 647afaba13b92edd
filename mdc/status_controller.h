#pragma once
// The status buttons: which statuses the agency shows (in order, F1..F10) and
// one-tap changes whose progress (sending → queued → delivered) the screen shows.
#include <QObject>
#include <QtQml/qqmlregistration.h>

#include "mdc/agent_connection.h"
#include "mdc/row_list_model.h"

namespace mdc::ui {

/** The agency's status buttons, in order. Thread-safety: GUI thread only. */
class StatusOptionsModel : public RowListModel<int> {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("owned by StatusController")
  Q_PROPERTY(int count READ count NOTIFY countChanged)

 public:
  enum Role { StatusRole = Qt::UserRole + 1, LabelRole, FunctionKeyRole };
  Q_ENUM(Role)

  explicit StatusOptionsModel(QObject* parent = nullptr);
  /** Replaces the list (at most 10: one per function key). */
  void setStatuses(const QList<int>& statuses);
  const QList<int>& statuses() const { return rows(); }
  int count() const { return int(rows().size()); }

  QHash<int, QByteArray> roleNames() const override;

 signals:
  void countChanged();

 private:
  QVariant rowData(const int& status, int index, int role) const override;
};

/** Current status and status changes. Thread-safety: GUI thread only. */
class StatusController : public QObject {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(StatusOptionsModel* options READ options CONSTANT)
  Q_PROPERTY(int current READ current NOTIFY changed)
  Q_PROPERTY(QString currentLabel READ currentLabel NOTIFY changed)
  Q_PROPERTY(QString delivery READ delivery NOTIFY changed)
  Q_PROPERTY(int requested READ requested NOTIFY changed)
  Q_PROPERTY(bool sending READ sending NOTIFY changed)
  Q_PROPERTY(QString lastError READ lastError NOTIFY changed)

 public:
  explicit StatusController(AgentConnection& agent, QObject* parent = nullptr);

  StatusOptionsModel* options() { return &options_; }
  /** The status the agent holds (a v1::UnitStatus value; 0 before any). */
  int current() const { return current_; }
  QString currentLabel() const;
  /** "queued" / "delivered" / "rejected" for the current status. */
  QString delivery() const { return delivery_; }
  /** The status tapped last while its request is in flight (0 otherwise). */
  int requested() const { return requested_; }
  bool sending() const { return requested_ != 0; }
  /** Why the last change was not queued ("" after a success). */
  QString lastError() const { return lastError_; }

  /** Asks the agent to change status; returns at once. The result shows in
   *  current/delivery (queued as soon as the agent committed it) or lastError. */
  Q_INVOKABLE void setStatus(int status);
  /** Function key n (1..10) as on real MDCs: the n-th status button. */
  Q_INVOKABLE bool pressFunctionKey(int n);
  /** The label of a status code. */
  Q_INVOKABLE QString label(int status) const;

 signals:
  void changed();
  /** The agent committed the change (seq of its action record). */
  void queued(int status, qulonglong seq);
  void failed(int status, const QString& error);

 private:
  void refresh();

  AgentConnection& agent_;
  StatusOptionsModel options_;
  int current_ = 0;
  QString delivery_;
  int requested_ = 0;
  QString lastError_;
};

}  // namespace mdc::ui
