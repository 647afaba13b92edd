#pragma once
// The local API: a Unix domain socket (mode 0660) speaking length-prefixed
// protobuf (see shared/proto/mdc/v1/local.proto). The MDC app and mdcctl are
// its clients; only the agent talks to the network.
#include <QLocalServer>
#include <QLocalSocket>
#include <QObject>
#include <QTimer>

#include <memory>
#include <string>
#include <vector>

#include "shared/wire/error.h"
#include "shared/wire/frame.h"

namespace mdc::agent {

class Agent;

/** Serves the local API for one Agent. Thread-safety: the agent's thread only. */
class LocalApiServer : public QObject {
  Q_OBJECT

 public:
  LocalApiServer(Agent& agent, std::string path, QObject* parent = nullptr);
  ~LocalApiServer() override;

  /** Listens on the socket path (replacing a stale socket file), mode 0660. */
  Status listen();
  int clientCount() const { return int(conns_.size()); }

 private:
  struct Conn {
    QLocalSocket* socket;
    frame::Reader reader;
    bool subscribed = false;
  };
  void onNewConnection();
  void onReadyRead(Conn* c);
  void send(Conn* c, const std::string& agentMessage);
  void pushState();

  Agent& agent_;
  std::string path_;
  QLocalServer server_;
  std::vector<std::unique_ptr<Conn>> conns_;
  QTimer pushTimer_;
};

}  // namespace mdc::agent
