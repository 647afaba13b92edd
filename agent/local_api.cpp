#include "agent/local_api.h"

#include <sys/stat.h>

#include <QFileInfo>

#include <algorithm>

#include "agent/agent.h"
#include "shared/wire/codec.h"
#include "shared/infra/log.h"

namespace mdc::agent {

LocalApiServer::LocalApiServer(Agent& agent, std::string path, QObject* parent)
    : QObject(parent), agent_(agent), path_(std::move(path)) {
  // State changes come in bursts (a drain acks thousands of events); the UI
  // needs at most ~20 updates a second.
  pushTimer_.setSingleShot(true);
  pushTimer_.setInterval(50);
  connect(&pushTimer_, &QTimer::timeout, this, &LocalApiServer::pushState);
  connect(&agent_, &Agent::stateChanged, this, [this] {
    if (!pushTimer_.isActive()) pushTimer_.start();
  });
  connect(&server_, &QLocalServer::newConnection, this, &LocalApiServer::onNewConnection);
}

LocalApiServer::~LocalApiServer() {
  server_.close();
  for (auto& c : conns_) c->socket->abort();
}

Status LocalApiServer::listen() {
  // QLocalServer takes a bare name as one in the temp dir: always give it a path.
  path_ = QFileInfo(QString::fromStdString(path_)).absoluteFilePath().toStdString();
  QLocalServer::removeServer(QString::fromStdString(path_));
  server_.setSocketOptions(QLocalServer::UserAccessOption | QLocalServer::GroupAccessOption);
  if (!server_.listen(QString::fromStdString(path_)))
    return Error::make("local API: cannot listen on \"" + path_ + "\": " + server_.errorString().toStdString());
  ::chmod(path_.c_str(), 0660);
  log::info("api", "listening on " + path_);
  return {};
}

void LocalApiServer::onNewConnection() {
  while (QLocalSocket* s = server_.nextPendingConnection()) {
    auto conn = std::make_unique<Conn>();
    conn->socket = s;
    Conn* c = conn.get();
    conns_.push_back(std::move(conn));
    connect(s, &QLocalSocket::readyRead, this, [this, c] { onReadyRead(c); });
    connect(s, &QLocalSocket::disconnected, this, [this, c] {
      auto it = std::find_if(conns_.begin(), conns_.end(), [c](const auto& p) { return p.get() == c; });
      if (it != conns_.end()) {
        (*it)->socket->deleteLater();
        conns_.erase(it);
      }
    });
  }
}

void LocalApiServer::onReadyRead(Conn* c) {
  QByteArray data = c->socket->readAll();
  c->reader.feed(std::string_view(data.constData(), size_t(data.size())));
  std::string frame;
  for (;;) {
    auto next = c->reader.next(frame);
    if (next == frame::Reader::Next::NeedMore) return;
    if (next == frame::Reader::Next::TooLarge) {
      agent_.countBadRequest();
      log::warn("api", "client sent a frame over " + std::to_string(frame::kMaxFrameBytes) + " bytes; closing it");
      v1::AgentMessage m;
      auto* r = m.mutable_reply();
      r->set_ok(false);
      r->set_error_code(v1::API_ERROR_BAD_REQUEST);
      r->set_error("request: frame longer than " + std::to_string(frame::kMaxFrameBytes) + " bytes; connection closed");
      send(c, m.SerializeAsString());
      c->socket->flush();
      c->socket->disconnectFromServer();
      return;
    }
    v1::AgentMessage m;
    auto req = codec::decodeApiRequest(frame);
    if (!req) {
      agent_.countBadRequest();
      log::warn("api", "bad request: " + req.error().message);
      auto* r = m.mutable_reply();
      // Echo the id when the bytes parse but fail validation.
      v1::ApiRequest partial;
      if (partial.ParseFromString(frame)) r->set_request_id(partial.request_id());
      r->set_ok(false);
      r->set_error_code(v1::API_ERROR_BAD_REQUEST);
      r->set_error(req.error().message);
    } else {
      if (req->has_subscribe()) c->subscribed = true;
      *m.mutable_reply() = agent_.handle(*req);
    }
    send(c, m.SerializeAsString());
  }
}

void LocalApiServer::send(Conn* c, const std::string& bytes) {
  std::string f = frame::encode(bytes);
  c->socket->write(f.data(), qint64(f.size()));
}

void LocalApiServer::pushState() {
  bool any = std::any_of(conns_.begin(), conns_.end(), [](const auto& c) { return c->subscribed; });
  if (!any) return;
  v1::AgentMessage m;
  *m.mutable_state() = agent_.snapshot();
  std::string bytes = m.SerializeAsString();
  for (auto& c : conns_)
    if (c->subscribed) send(c.get(), bytes);
}

}  // namespace mdc::agent
