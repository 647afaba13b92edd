#pragma once
// Lists the screen shows: the responder's recent actions with where each
// stands (queued / delivered / rejected), and the conversation with dispatch.
#include <QAbstractListModel>
#include <QObject>
#include <QtQml/qqmlregistration.h>

#include "mdc/agent_connection.h"

namespace mdc::ui {

/** The agent's recent actions, newest first. Thread-safety: GUI thread only. */
class ActionsModel : public QAbstractListModel {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(int count READ count NOTIFY countChanged)

 public:
  enum Role { SeqRole = Qt::UserRole + 1, KindRole, SummaryRole, DeliveryRole, DetailRole, TimeRole };
  Q_ENUM(Role)
  struct Entry {
    qulonglong seq = 0;
    QString kind, summary, delivery, detail;
    qint64 atMs = 0;
    bool operator==(const Entry&) const = default;
  };

  explicit ActionsModel(AgentConnection& agent, QObject* parent = nullptr);
  int count() const { return int(entries_.size()); }
  /** The action with this seq (nullptr when it left the agent's recent list). */
  const Entry* find(qulonglong seq) const;

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;

 signals:
  void countChanged();

 private:
  void refresh();
  AgentConnection& agent_;
  QList<Entry> entries_;
};

/** Messages from and to dispatch, newest first. Incoming come from the agent's
 *  inbox, outgoing from its recent actions. Thread-safety: GUI thread only. */
class MessagesModel : public QAbstractListModel {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(int count READ count NOTIFY countChanged)

 public:
  enum Role { OutgoingRole = Qt::UserRole + 1, FromRole, TextRole, TimeRole, DeliveryRole };
  Q_ENUM(Role)
  struct Entry {
    bool outgoing = false;
    QString from, text, delivery;
    qint64 atMs = 0;
    bool operator==(const Entry&) const = default;
  };

  explicit MessagesModel(AgentConnection& agent, QObject* parent = nullptr);
  int count() const { return int(entries_.size()); }

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;

 signals:
  void countChanged();

 private:
  void refresh();
  AgentConnection& agent_;
  QList<Entry> entries_;
};

/** Sends messages to dispatch. Thread-safety: GUI thread only. */
class MessageController : public QObject {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(MessagesModel* messages READ messages CONSTANT)
  Q_PROPERTY(bool sending READ sending NOTIFY changed)
  Q_PROPERTY(QString lastError READ lastError NOTIFY changed)
  Q_PROPERTY(QStringList quickReplies READ quickReplies CONSTANT)

 public:
  explicit MessageController(AgentConnection& agent, QObject* parent = nullptr);
  MessagesModel* messages() { return &messages_; }
  bool sending() const { return sending_; }
  QString lastError() const { return lastError_; }
  /** Canned replies a responder can send with one tap while driving. */
  QStringList quickReplies() const;

  /** Sends text (1..2000 chars) to dispatch; false (and lastError) when invalid. */
  Q_INVOKABLE bool send(const QString& text);

 signals:
  void changed();
  void queued(qulonglong seq);
  void failed(const QString& error);

 private:
  AgentConnection& agent_;
  MessagesModel messages_;
  bool sending_ = false;
  QString lastError_;
};

}  // namespace mdc::ui
