#pragma once
// The real mosquitto broker (/usr/sbin/mosquitto), started by a test on a free
// loopback port with a generated config in the test's own temp directory.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace mdc::test {

/** What the generated mosquitto.conf says. The defaults suit ingest tests:
 *  a broker that does not throttle (1000 in flight) and mosquitto's own
 *  offline queue bound (1000 per client, beyond which it drops). */
struct MosquittoOptions {
  bool persistence = false;       ///< keep sessions and queues in <dir>/mosquitto.db across restart()
  int autosaveIntervalS = 1;      ///< persistence: seconds between saves (kill9() loses at most this)
  int maxInflightMessages = 1000; ///< QoS 1/2 outgoing in flight per client (mosquitto's default is 20)
  int maxQueuedMessages = 1000;   ///< queued per offline persistent client; beyond that mosquitto drops
  bool allowAnonymous = true;     ///< clients without a user name may connect
  bool verboseLog = false;        ///< log_type all: every PUBLISH/PUBACK in the log

  // TLS: set tls and the three files (Mosquitto::tlsOptions(pki) does it).
  bool tls = false;
  std::string caFile;             ///< CA that client certificates must chain to
  std::string certFile;           ///< server certificate (SAN IP:127.0.0.1)
  std::string keyFile;
  bool requireCertificate = true;
  bool useIdentityAsUsername = true;  ///< user name = client certificate's CN
  std::string crlFile;            ///< revoked client certificates (TestPki::writeCrl); empty: none

  std::string acl;                ///< content of an acl_file ("pattern readwrite cad/v1/dev/%u/#"); empty: none
  std::string extraConfig;        ///< appended to the config verbatim
};

/** A mosquitto process and its config, database and log in a TempDir. The
 *  destructor stops it. Not thread-safe: one test thread drives it. */
class Mosquitto {
 public:
  /** Writes <dir>/mosquitto.conf and starts the broker, waiting until it
   *  accepts connections. Throws std::runtime_error with the log's tail when
   *  it does not within 10 s. */
  explicit Mosquitto(const TempDir& dir, MosquittoOptions options = {});
  ~Mosquitto();
  Mosquitto(const Mosquitto&) = delete;
  Mosquitto& operator=(const Mosquitto&) = delete;

  /** TLS options from pki: its CA, its server certificate, require_certificate,
   *  use_identity_as_username, and no anonymous clients. */
  static MosquittoOptions tlsOptions(TestPki& pki);

  /** The listener's port on 127.0.0.1; the same across restarts. */
  uint16_t port() const { return port_; }
  /** "tcp://127.0.0.1:PORT", or "ssl://127.0.0.1:PORT" with TLS. */
  std::string uri() const;
  /** The generated mosquitto.conf. */
  const std::string& configPath() const { return configPath_; }
  /** All runs' output, appended (one file across restarts). */
  const std::string& logPath() const { return logPath_; }
  /** The log file's content, for failure messages and assertions. */
  std::string log() const;
  /** The database file (exists once mosquitto has saved). */
  std::string dbPath() const;
  /** The options the config was generated from. */
  const MosquittoOptions& options() const { return opts_; }
  /** The running broker's pid, or -1 when stopped. */
  pid_t pid() const;

  /** True while the broker process runs. */
  bool running();
  /** SIGTERM and wait: mosquitto saves its database (with persistence) and exits. */
  void stop();
  /** SIGKILL: no save; state since the last autosave is lost, as in a crash. */
  void kill9();
  /** Starts a stopped broker on the same port with the same config and
   *  database; waits until it accepts. Throws as the constructor does. */
  void start();
  /** stop() if running, then start(). */
  void restart();

 private:
  void writeConfig();
  bool launch();  // false when the port was taken by someone else

  std::string dir_;
  MosquittoOptions opts_;
  std::string configPath_;
  std::string logPath_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> proc_;
};

}  // namespace mdc::test
