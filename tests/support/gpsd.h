#pragma once
// The real gpsd (/usr/sbin/gpsd) reading a recorded NMEA log that a feeder
// thread in the test process serves over TCP, so GPS code is tested against
// gpsd exactly as in a vehicle, without gpsfake.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace mdc::test {

/** The recorded GPS logs: $MDC_GPS_DATA_DIR (set by CTest), else the
 *  ../shared/data/gps beside the repository, else tests/data/gps (chosen at configure time). */
std::string gpsDataDir();

/** Reads an NMEA log: sentences only (lines starting with '$' or '!'), with
 *  '#' comment headers and blank lines skipped. name is a file name under
 *  gpsDataDir() or a path containing '/'. Throws when unreadable or empty. */
std::vector<std::string> readNmeaLog(const std::string& name);

/** What the feeder replays, how fast, and how gpsd is started. */
struct GpsdFixtureOptions {
  std::string log = "bu353s4.log";  ///< see readNmeaLog
  /** Pause after each sentence. The default replays a 1 Hz log ~100x faster than real time. */
  std::chrono::milliseconds sentenceInterval{2};
  /** Extra pause before each new epoch (a change of the NMEA time field): 100 ms
   *  paces the log at 10 Hz, 1000 ms at its real rate. 0: none. */
  std::chrono::milliseconds epochInterval{0};
  /** Replay the log again and again on a connection; otherwise send it once
   *  and keep the connection open and quiet, so gpsd neither sees EOF nor
   *  reconnects for a second copy. Every new connection starts at the top. */
  bool loop = false;
  /** Start gpsd in the constructor; false: only the feeder runs until start()
   *  (gpsd's port is chosen up front, so a client can already try it). */
  bool startGpsd = true;
  /** gpsd -n: open the feed at start instead of when the first client
   *  watches. Off by default: then nothing is replayed before a client
   *  listens, and every fix of the log reaches the first watcher. */
  bool nowait = false;
};

/** A feeder thread plus a gpsd process (-N -S port -F sock tcp://feeder) in a
 *  TempDir. The destructor stops both. Not thread-safe: one test thread drives
 *  it (the feeder's counters may be read from any thread). */
class Gpsd {
 public:
  /** Loads the log, starts the feeder and (unless !startGpsd) gpsd, waiting
   *  until gpsd accepts. Throws std::runtime_error with gpsd's log when it
   *  does not within 10 s. */
  explicit Gpsd(const TempDir& dir, GpsdFixtureOptions options = {});
  ~Gpsd();
  Gpsd(const Gpsd&) = delete;
  Gpsd& operator=(const Gpsd&) = delete;

  /** gpsd's client port on 127.0.0.1 (fixed for the fixture's life). */
  uint16_t port() const { return port_; }
  /** Always "127.0.0.1". */
  std::string host() const { return "127.0.0.1"; }
  /** The feeder's port: gpsd's source is tcp://127.0.0.1:feederPort(). */
  uint16_t feederPort() const { return feederPort_; }
  /** gpsd's stderr, appended across restarts. */
  const std::string& logPath() const { return logPath_; }
  /** gpsd's output so far (all runs). */
  std::string log() const;
  /** The sentences being replayed. */
  const std::vector<std::string>& sentences() const { return sentences_; }

  /** True while the gpsd process runs. */
  bool running();
  /** Starts gpsd (if not running) on port(), waiting until it accepts; throws as the constructor. */
  void start();
  /** SIGTERM and wait. */
  void stop();
  /** SIGKILL, as when gpsd crashes. */
  void kill9();
  /** stop() then start(). */
  void restart();

  /** Connections gpsd has made to the feeder so far. */
  int feederConnections() const { return connections_.load(); }
  /** Sentences written to gpsd so far, over all connections. */
  int64_t sentencesSent() const { return sent_.load(); }

 private:
  void acceptLoop();
  void serve(int fd);
  bool launch();

  std::string dir_;
  GpsdFixtureOptions opts_;
  std::vector<std::string> sentences_;
  std::string logPath_;
  std::string socketPath_;
  uint16_t port_ = 0;
  uint16_t feederPort_ = 0;
  int listenFd_ = -1;
  std::unique_ptr<Process> proc_;

  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int64_t> sent_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread acceptor_;
  std::vector<std::thread> servers_;  // guarded by mu_
};

}  // namespace mdc::test
