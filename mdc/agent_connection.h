#pragma once
// The MDC app's only link to the world: an asynchronous client of the agent's
// local API (Unix socket, length-prefixed protobuf, see local.proto). It
// subscribes to the agent's state and keeps the latest snapshot; every screen
// renders from that snapshot, so the app itself holds no state that a crash
// could lose.
#include <QElapsedTimer>
#include <QLocalSocket>
#include <QObject>
#include <QTimer>
#include <QtQml/qqmlregistration.h>

#include <functional>
#include <map>
#include <string>

#include "mdc/v1/local.pb.h"
#include "shared/wire/frame.h"

namespace mdc::ui {

/** What a controller does with the reply to one of its requests, in this
 *  order: settle (always: the request is no longer in flight; on success it
 *  also takes in the reply), on failure *error = describeFailure(the agent's
 *  error), changed (the controller announces it), then queued on success or
 *  failed(*error) on failure. Empty steps are skipped. */
struct ReplyActions {
  std::function<void(const v1::ApiReply&)> settle{};
  QString* error = nullptr;
  std::function<QString(const QString& agentError)> describeFailure{};
  std::function<void()> changed{};
  std::function<void(const v1::ApiReply&)> queued{};
  std::function<void(const QString& error)> failed{};
};

/** Asynchronous connection to mdc-agent. Reconnects on its own (every
 *  reconnectIntervalMs) while the agent is not running. Thread-safety: the
 *  GUI thread only; never blocks it. */
class AgentConnection : public QObject {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app and handed to the screen")
  Q_PROPERTY(State state READ state NOTIFY stateChanged)
  Q_PROPERTY(bool connected READ connected NOTIFY stateChanged)
  Q_PROPERTY(bool hasSnapshot READ hasSnapshot NOTIFY snapshotChanged)
  Q_PROPERTY(QString socketPath READ socketPath CONSTANT)
  Q_PROPERTY(QString lastError READ lastError NOTIFY lastErrorChanged)
  Q_PROPERTY(int attempts READ attempts NOTIFY attemptsChanged)

 public:
  enum State { Disconnected, Connecting, Connected };
  Q_ENUM(State)

  /** Reply handler: ok replies carry the agent's reply; failures (agent gone,
   *  timeout) arrive as a reply with ok=false and a readable error. */
  using ReplyHandler = std::function<void(const v1::ApiReply&)>;

  explicit AgentConnection(QString socketPath, QObject* parent = nullptr);
  ~AgentConnection() override;

  /** Starts connecting (and keeps reconnecting); returns at once. */
  Q_INVOKABLE void start();
  /** Closes the connection and stops reconnecting. */
  void stop();

  /** Sends a request (its request_id is set here). handler runs exactly once
   *  on the GUI thread: with the agent's reply, or with ok=false when the
   *  agent is unreachable or does not answer within requestTimeoutMs. */
  void send(v1::ApiRequest request, ReplyHandler handler);
  /** Sends a request for owner, a controller that shows its progress, and
   *  runs actions on the reply; nothing runs once owner is destroyed. */
  void request(QObject* owner, v1::ApiRequest request, ReplyActions actions);

  /** The latest state the agent pushed (empty before the first). */
  const v1::AgentState& snapshot() const { return snapshot_; }
  bool hasSnapshot() const { return hasSnapshot_; }

  State state() const { return state_; }
  bool connected() const { return state_ == Connected; }
  QString socketPath() const { return path_; }
  QString lastError() const { return lastError_; }
  int attempts() const { return attempts_; }

  void setReconnectIntervalMs(int ms) { reconnect_.setInterval(ms); }
  void setRequestTimeoutMs(int ms) { requestTimeoutMs_ = ms; }

 signals:
  void stateChanged();
  /** A new snapshot arrived (at most every 50 ms, see the agent). */
  void snapshotChanged();
  void lastErrorChanged();
  void attemptsChanged();

 private:
  struct Pending {
    ReplyHandler handler;
    qint64 deadlineMs;
  };
  void tryConnect();
  void onConnected();
  void onDisconnected();
  void onError(QLocalSocket::LocalSocketError error);
  void onReadyRead();
  void onMessage(const std::string& bytes);
  void failPending(const QString& why);
  void expireRequests();
  void setState(State s);
  void setLastError(const QString& e);

  QString path_;
  QLocalSocket socket_;
  frame::Reader reader_;
  QTimer reconnect_;
  QTimer timeouts_;
  QElapsedTimer clock_;
  State state_ = Disconnected;
  bool running_ = false;
  bool hasSnapshot_ = false;
  v1::AgentState snapshot_;
  uint64_t nextRequestId_ = 1;
  std::map<uint64_t, Pending> pending_;
  int requestTimeoutMs_ = 5000;
  int attempts_ = 0;
  QString lastError_;
};

}  // namespace mdc::ui
