#pragma once
// cad-edge-watch: the liveness watch of one edge broker. Vehicles on edges
// beat on their edge, and the beats stay there (12,000 idle vehicles would
// send the backbone 6,000 a second), so no worker hears them. The watcher
// runs beside its edge, subscribes to every device's beat, up and presence
// topics there (QoS 0: it only listens), and reports the devices that beat
// and went unheard for its limit, and those heard again, as EdgeLiveness
// notices on cad/v1/edge/<edge>/liveness. The edge's bridge sends them with
// the uplinks into the ingest queue, and a worker writes
// registry.device_silent / device_heard from them (liveness.cpp).
//
// A watcher holds nothing the guarantees depend on. Lost, its edge's silent
// vehicles go offline by their wills, as before the beat; restarted, it
// learns the fleet again from the beats.
#include <QObject>
#include <QTimer>

#include <memory>
#include <string>

#include "server-stub/service/liveness.h"
#include "shared/infra/mqtt.h"

namespace cad {

struct EdgeWatchConfig {
  std::string broker;  ///< the edge, ssl://host:port (or tcp:// for a test broker)
  std::string edge;    ///< the edge's name, as broker-config --edge was given it
  std::string clientId;
  std::string tlsCa, tlsCert, tlsKey;
  int silentAfterMs = 4000;
  int tickMs = 250;
  /** Devices per notice: a notice stays far below the edge's packet limit. */
  int maxPerNotice = 500;
};

/** Thread-safety: the thread of its Qt event loop; paho's callbacks are posted there. */
class EdgeWatch : public QObject {
 public:
  explicit EdgeWatch(EdgeWatchConfig config, QObject* parent = nullptr);
  ~EdgeWatch() override;
  /** Starts connecting; an error for a bad configuration (the URI). */
  mdc::Status start();
  void stop();

 private:
  /** What it heard and sent, for its log once a minute. */
  struct Counters {
    uint64_t heard = 0, beats = 0, silent = 0, heardAgain = 0;
  };
  class Bridge;
  friend class Bridge;
  void onConnected();
  void onConnectFailed(const std::string& reason);
  void onLost(const std::string& cause);
  void onMessage(const std::string& topic, const std::string& payload);
  void tick();
  void publish(const std::vector<DeviceSilence>& silent, const std::vector<DeviceSilence>& heard);

  EdgeWatchConfig config_;
  std::unique_ptr<Bridge> bridge_;
  std::unique_ptr<mdc::mqtt::Client> client_;
  Liveness liveness_;
  QTimer tickTimer_, reconnectTimer_, statsTimer_;
  int backoffMs_ = 0;
  Counters counters_;
};

}  // namespace cad
