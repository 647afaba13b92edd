#include "mdc/agent_connection.h"

#include <QPointer>

namespace mdc::ui {

AgentConnection::AgentConnection(QString socketPath, QObject* parent) : QObject(parent), path_(std::move(socketPath)) {
  clock_.start();
  reconnect_.setInterval(1000);
  reconnect_.setSingleShot(true);
  connect(&reconnect_, &QTimer::timeout, this, &AgentConnection::tryConnect);
  timeouts_.setInterval(250);
  connect(&timeouts_, &QTimer::timeout, this, &AgentConnection::expireRequests);
  connect(&socket_, &QLocalSocket::connected, this, &AgentConnection::onConnected);
  connect(&socket_, &QLocalSocket::disconnected, this, &AgentConnection::onDisconnected);
  connect(&socket_, &QLocalSocket::errorOccurred, this, &AgentConnection::onError);
  connect(&socket_, &QLocalSocket::readyRead, this, &AgentConnection::onReadyRead);
}

AgentConnection::~AgentConnection() {
  running_ = false;
  socket_.disconnect(this);  // no callbacks into a half-destroyed object
  socket_.abort();
  // Handlers may capture controllers that are being destroyed too: drop them unrun.
  pending_.clear();
}

void AgentConnection::start() {
  if (running_) return;
  running_ = true;
  timeouts_.start();
  tryConnect();
}

void AgentConnection::stop() {
  running_ = false;
  reconnect_.stop();
  timeouts_.stop();
  socket_.abort();
  failPending(tr("disconnected"));
  setState(Disconnected);
}

void AgentConnection::tryConnect() {
  if (!running_ || socket_.state() != QLocalSocket::UnconnectedState) return;
  ++attempts_;
  emit attemptsChanged();
  setState(Connecting);
  socket_.connectToServer(path_);  // asynchronous: connected() or errorOccurred() follows
}

void AgentConnection::onConnected() {
  reader_ = frame::Reader();
  setLastError({});
  setState(Connected);
  v1::ApiRequest subscribe;
  subscribe.mutable_subscribe();
  send(std::move(subscribe), [this](const v1::ApiReply& reply) {
    if (reply.ok() && reply.has_state()) {
      snapshot_ = reply.state();
      hasSnapshot_ = true;
      emit snapshotChanged();
    }
  });
}

void AgentConnection::onDisconnected() {
  failPending(tr("the agent closed the connection"));
  const bool had = hasSnapshot_;
  hasSnapshot_ = false;
  setState(Disconnected);
  if (had) emit snapshotChanged();
  if (running_) reconnect_.start();
}

void AgentConnection::onError(QLocalSocket::LocalSocketError error) {
  switch (error) {
    case QLocalSocket::ServerNotFoundError:
      setLastError(tr("agent not running (no socket at %1)").arg(path_));
      break;
    case QLocalSocket::ConnectionRefusedError:
      setLastError(tr("agent not running (connection refused at %1)").arg(path_));
      break;
    case QLocalSocket::PeerClosedError:
      setLastError(tr("the agent closed the connection"));
      break;
    default:
      setLastError(tr("agent socket %1: %2").arg(path_, socket_.errorString()));
  }
  if (state_ != Connected) {
    // A failed connect attempt emits no disconnected(): clean up and schedule the retry here.
    socket_.abort();
    failPending(lastError_);
    const bool had = hasSnapshot_;
    hasSnapshot_ = false;
    setState(Disconnected);
    if (had) emit snapshotChanged();
    if (running_ && !reconnect_.isActive()) reconnect_.start();
  }
}

void AgentConnection::onReadyRead() {
  const QByteArray bytes = socket_.readAll();
  reader_.feed(std::string_view(bytes.constData(), size_t(bytes.size())));
  std::string frame;
  for (;;) {
    switch (reader_.next(frame)) {
      case frame::Reader::Next::NeedMore:
        return;
      case frame::Reader::Next::TooLarge:
        setLastError(tr("agent sent an oversized frame; reconnecting"));
        socket_.abort();
        return;
      case frame::Reader::Next::Frame:
        onMessage(frame);
        break;
    }
  }
}

void AgentConnection::onMessage(const std::string& bytes) {
  v1::AgentMessage msg;
  if (!msg.ParseFromString(bytes)) {
    setLastError(tr("agent sent a message that does not decode; ignored"));
    return;
  }
  if (msg.has_state()) {
    snapshot_ = std::move(*msg.mutable_state());
    hasSnapshot_ = true;
    emit snapshotChanged();
    return;
  }
  if (!msg.has_reply()) return;
  auto it = pending_.find(msg.reply().request_id());
  if (it == pending_.end()) return;  // timed out already
  ReplyHandler handler = std::move(it->second.handler);
  pending_.erase(it);
  handler(msg.reply());
}

void AgentConnection::request(QObject* owner, v1::ApiRequest request, ReplyActions actions) {
  send(std::move(request), [guard = QPointer(owner), a = std::move(actions)](const v1::ApiReply& reply) {
    if (!guard) return;
    if (a.settle) a.settle(reply);
    if (!reply.ok() && a.error) {
      const QString agentError = QString::fromStdString(reply.error());
      *a.error = a.describeFailure ? a.describeFailure(agentError) : agentError;
    }
    if (a.changed) a.changed();
    if (reply.ok() && a.queued) a.queued(reply);
    if (!reply.ok() && a.failed) a.failed(a.error ? *a.error : QString());
  });
}

void AgentConnection::send(v1::ApiRequest request, ReplyHandler handler) {
  const uint64_t id = nextRequestId_++;
  request.set_request_id(id);
  if (state_ != Connected) {
    v1::ApiReply r;
    r.set_request_id(id);
    r.set_ok(false);
    r.set_error(tr("the agent is not running; nothing was sent").toStdString());
    // Asynchronous like every other answer, so callers see one code path.
    QTimer::singleShot(0, this, [handler = std::move(handler), r] { handler(r); });
    return;
  }
  pending_[id] = Pending{std::move(handler), clock_.elapsed() + requestTimeoutMs_};
  const std::string framed = frame::encode(request.SerializeAsString());
  socket_.write(framed.data(), qint64(framed.size()));
}

void AgentConnection::failPending(const QString& why) {
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : pending) {
    v1::ApiReply r;
    r.set_request_id(id);
    r.set_ok(false);
    r.set_error(why.toStdString());
    p.handler(r);
  }
}

void AgentConnection::expireRequests() {
  const qint64 now = clock_.elapsed();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadlineMs > now) {
      ++it;
      continue;
    }
    v1::ApiReply r;
    r.set_request_id(it->first);
    r.set_ok(false);
    r.set_error(tr("the agent did not answer within %1 s").arg(requestTimeoutMs_ / 1000.0).toStdString());
    ReplyHandler h = std::move(it->second.handler);
    it = pending_.erase(it);
    h(r);
  }
}

void AgentConnection::setState(State s) {
  if (state_ == s) return;
  state_ = s;
  emit stateChanged();
}

void AgentConnection::setLastError(const QString& e) {
  if (lastError_ == e) return;
  lastError_ = e;
  emit lastErrorChanged();
}

}  // namespace mdc::ui
