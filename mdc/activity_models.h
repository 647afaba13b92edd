#pragma once
// Lists the screen shows: the responder's recent actions with where each
// stands (queued / delivered / rejected), and the conversation with dispatch.
#include <QObject>
#include <algorithm>
#include <QtQml/qqmlregistration.h>

#include "mdc/agent_connection.h"
#include "mdc/row_list_model.h"
#include "shared/wire/codec.h"

namespace mdc::ui {

/** One of the agent's recent actions and where it stands. */
struct ActionRow {
  qulonglong seq = 0;
  QString kind, summary, delivery, detail;
  qint64 atMs = 0;
  bool operator==(const ActionRow&) const = default;
};

/** One message of the conversation with dispatch. */
struct MessageRow {
  codec::MessageCursor key;
  bool outgoing = false;
  QString from, text, delivery, detail;
  qint64 atMs = 0;
  qulonglong eventSeq = 0;
  bool operator==(const MessageRow&) const = default;
};

/** The agent's recent actions, newest first. Thread-safety: GUI thread only. */
class ActionsModel : public RowListModel<ActionRow> {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(int count READ count NOTIFY countChanged)

 public:
  enum Role { SeqRole = Qt::UserRole + 1, KindRole, SummaryRole, DeliveryRole, DetailRole, TimeRole };
  Q_ENUM(Role)
  using Entry = ActionRow;

  explicit ActionsModel(AgentConnection& agent, QObject* parent = nullptr);
  int count() const { return int(rows().size()); }
  /** The action with this seq (nullptr when it left the agent's recent list). */
  const Entry* find(qulonglong seq) const;

  QHash<int, QByteArray> roleNames() const override;

 signals:
  void countChanged();

 private:
  QVariant rowData(const Entry& e, int index, int role) const override;
  void refresh();
  AgentConnection& agent_;
};

/** The conversation with dispatch, newest first, in the vehicle's order (see
 *  ReceivedMessage). It starts from the newest messages the agent's state
 *  carries and grows older a page at a time (loadOlder); rows are inserted and
 *  updated in place, never reset, so the list keeps its scroll position.
 *  Thread-safety: GUI thread only. */
class MessagesModel : public RowListModel<MessageRow> {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(int count READ count NOTIFY countChanged)
  Q_PROPERTY(int total READ total NOTIFY countChanged)
  Q_PROPERTY(bool hasOlder READ hasOlder NOTIFY countChanged)
  Q_PROPERTY(bool loadingOlder READ loadingOlder NOTIFY loadingChanged)
  Q_PROPERTY(QString olderError READ olderError NOTIFY loadingChanged)

 public:
  enum Role { OutgoingRole = Qt::UserRole + 1, FromRole, TextRole, TimeRole, DeliveryRole, DetailRole };
  Q_ENUM(Role)
  using Entry = MessageRow;
  /** Messages asked for per tap on "earlier messages". */
  static constexpr int kPageSize = 25;

  explicit MessagesModel(AgentConnection& agent, QObject* parent = nullptr);
  int count() const { return int(rows().size()); }
  /** Messages the agent holds for the unit (at least count once all are loaded). */
  int total() const { return std::max(total_, count()); }
  /** The agent holds older messages than the oldest shown. */
  bool hasOlder() const { return !reachedStart_ && total_ > count(); }
  bool loadingOlder() const { return loading_; }
  QString olderError() const { return olderError_; }
  /** Asks the agent for the page before the oldest message shown. */
  Q_INVOKABLE void loadOlder();

  QHash<int, QByteArray> roleNames() const override;

 signals:
  void countChanged();
  void loadingChanged();

 private:
  QVariant rowData(const Entry& e, int index, int role) const override;
  void refresh();
  /** Inserts or updates one message at its place. */
  void merge(const v1::ReceivedMessage& m);
  AgentConnection& agent_;
  std::string unit_;
  int total_ = 0;
  bool reachedStart_ = false;
  bool loading_ = false;
  QString olderError_;
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
