#pragma once
// The agent's configuration: one JSON file plus command-line overrides. Every
// value is checked at start; an error names the key and the value.
#include <cstdint>
#include <string>
#include <vector>

#include "shared/wire/error.h"

namespace mdc::agent {

struct AgentConfig {
  std::string deviceId;                 ///< device_id: this device's identity (topic, client id, cert CN)
  std::string unitId;                   ///< unit_id: the unit the vehicle serves (e.g. "E12")
  std::string agency;                   ///< agency: tenant code (e.g. "FD1")
  std::string broker = "tcp://127.0.0.1:1883";  ///< broker: tcp://host:port or ssl://host:port, or several comma-separated (a JSON array in the file): the nodes of one cluster, tried in turn
  std::string mqttVersion = "5";        ///< link.mqtt_version: 5 | 3.1.1 (for brokers that speak nothing newer)
  std::string tlsCa;                    ///< tls.ca: CA certificate file (ssl:// only)
  std::string tlsCert;                  ///< tls.cert: this device's certificate
  std::string tlsKey;                   ///< tls.key: this device's private key
  std::string enrollServer;             ///< tls.enroll_server: https://host:port of the enrolment server (EST); empty: no automatic renewal
  int renewMarginDays = 30;             ///< tls.renew_margin_days: renew the certificate this long before it expires (1..3650)
  int renewCheckS = 21600;              ///< tls.renew_check_s: how often the agent looks (and retries a failed renewal) (10..86400)
  std::string storePath = "/var/lib/mdc/agent.db";  ///< store.path: the SQLite file
  std::string storeKeyPath;             ///< store.key_path: at-rest key (0600); empty: <store.path>.key
  int64_t storeCapBytes = 256LL * 1024 * 1024;       ///< store.cap_bytes: outbox size cap (>= 64 KiB)
  int avlCommitMs = 1000;               ///< store.avl_commit_ms: AVL group-commit period (10..10000)
  std::string socketPath = "/run/mdc/agent.sock";    ///< socket.path: local API socket
  int window = 256;                     ///< link.window: events in flight awaiting commit ack (1..4096)
  int keepAliveS = 5;                   ///< link.keepalive_s: MQTT keepalive (2..300)
  int heartbeatS = 2;                   ///< link.heartbeat_s: a beat to the backend after this long with nothing else sent (1..60)
  int backoffInitialMs = 500;           ///< link.backoff_initial_ms (50..60000)
  int backoffMaxMs = 30000;             ///< link.backoff_max_ms (>= initial, <= 600000)
  int ackTimeoutS = 20;                 ///< link.ack_timeout_s: longest wait for a commit ack before resending (1..3600); the actual timeout adapts to the measured round trip
  int recordsSlowS = 5;                 ///< records.slow_s: a query unanswered this long says so on the screen (1..60)
  int recordsTimeoutS = 30;             ///< records.timeout_s: a query unanswered this long has failed (2..300, > slow_s)
  int recordsShowS = 120;               ///< records.show_s: an answer leaves the screen this long after it came (10..3600)
  int recordsAlertShowS = 1800;         ///< records.alert_show_s: another unit's officer-safety hit on this unit's call stays shown (60..86400)
  int healthIntervalS = 60;             ///< link.health_interval_s: while connected, the presence (with the device's health) is published again when the health changed, at most this often (5..3600)
  int downlinkCheckS = 30;              ///< link.downlink_check_s: while connected, how often the agent tells the backend its downlink cursor and learns the head (5..3600)
  int avlBatch = 64;                    ///< link.avl_batch: AVL backlog reports per message at most (0: one per message; 1..128)
  int backfillPerSecond = 20000;        ///< link.backfill_per_s: AVL backlog rate cap after reconnect (1..100000); the window keeps live traffic ahead of it
  std::string gpsSource = "none";       ///< gps.source: none | gpsd | simulator | replay
  std::string gpsdHost = "127.0.0.1";   ///< gps.host
  int gpsdPort = 2947;                  ///< gps.port (1..65535)
  std::string replayFile;               ///< gps.replay_file: NMEA log for gps.source=replay
  double replaySpeedup = 1.0;           ///< gps.replay_speedup: log seconds per wall second (0..1000; 0 = no pauses)
  bool replayLoop = true;               ///< gps.replay_loop: start again at the end
  int simSeed = 1;                      ///< gps.sim_seed: the route simulator's drive (>= 0)
  double simSpeedup = 1.0;              ///< gps.sim_speedup: simulated seconds per wall second (0.1..1000)
  int avlMovingIntervalS = 15;          ///< avl.moving_interval_s (1..3600)
  int avlStationaryIntervalS = 60;      ///< avl.stationary_interval_s (1..3600)
  double avlDistanceM = 50;             ///< avl.distance_m (1..10000)
  double avlHeadingDeg = 15;            ///< avl.heading_deg (1..180)
  double avlMaxEphM = 50;               ///< avl.max_eph_m: fixes less accurate than this are not reported (1..10000)
  std::string inputsSource = "none";    ///< inputs.source: none | evdev
  std::string inputsDevice = "/dev/input/event0";  ///< inputs.device: evdev device of the dash switches
  std::string inputsEmergencyCode = "KEY_F24";     ///< inputs.emergency_code: key/switch code of the emergency switch
  std::string logLevel = "info";        ///< log_level: debug | info | warn | error

  /** Sets one key (dotted name as in the file, value as text); the error names the key and the value. */
  Status set(const std::string& key, const std::string& value);
  /** Checks cross-field rules and required keys. */
  Status validate() const;
  /** The effective configuration as pretty JSON (for --print-config). */
  std::string toJson() const;
  /** The broker URIs, in the order given (at least one once set() accepted broker). */
  std::vector<std::string> brokers() const;
  /** The brokers in the order this device tries them: highest random
   *  weight (rendezvous) hashing of (device_id, broker). A fleet given one
   *  list spreads evenly over it, and the devices of a broker that fails
   *  spread evenly over the others (each device's next choice is its own). */
  std::vector<std::string> brokersInOrder() const;
  /** Every key set() understands, in file order. */
  static std::vector<std::string> keys();
};

/** Reads a JSON config file into cfg (keys not in the file keep their defaults). */
Status loadConfigFile(const std::string& path, AgentConfig& cfg);

}  // namespace mdc::agent
