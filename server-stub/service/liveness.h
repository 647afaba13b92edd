#pragma once
// When the service last heard each device: any message on its up, presence
// or beat topic. Only a device that beats is watched (an agent from before
// the beat, or one whose broker's ACL does not let it beat yet, is not: it
// goes quiet when it has nothing to say). A device watched and not heard for
// longer than the limit is due to be
// reported silent, once, until it is heard again; one reported silent and
// heard again is due to be reported heard. Times are the service's steady
// clock (ms) for the limit, and Unix ms for what the log says.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "server-stub/store/event_store.h"

namespace cad {

/** An edge watcher's notice (EdgeLiveness), decoded and checked. */
struct EdgeNotice {
  std::string edge;
  std::vector<DeviceSilence> silent, heard;
};

/** A presence payload (an Envelope) that says the device is offline: a
 *  clean disconnect, or the will the broker sends for a lost connection. */
bool isOfflinePresence(std::string_view payload);

/** "A, B, C": device ids for a log line. */
std::string deviceNames(const std::vector<std::string>& devices);

/** Thread-safety: one thread. */
class Liveness {
 public:
  /** silentAfterMs: how long a device may go unheard (at least 1). */
  explicit Liveness(int64_t silentAfterMs) : silentAfterMs_(silentAfterMs) {}

  /** A message from the device arrived; beat: on its beat topic. */
  void heard(const std::string& device, bool beat, int64_t monoMs, int64_t unixMs);
  /** The device said it is offline (its presence, or the will the broker
   *  sent for it): it is no longer watched, and neither reported silent nor
   *  heard again, until it beats again. Its will is not a sign of life. */
  void gone(const std::string& device);
  /** Devices unheard for longer than the limit and not due before; each is
   *  due again only after it has been heard. */
  std::vector<DeviceSilence> silentNow(int64_t monoMs);
  /** The devices reported silent (by the store: their unit was online). */
  void reportedSilent(const std::vector<std::string>& devices);
  /** Devices reported silent and heard since, each once. */
  std::vector<DeviceSilence> takeHeardAgain();
  /** The watcher could not hear anything until monoMs (its own connection
   *  was down): every device counts as heard then, so none is reported for
   *  the gap. Those reported silent stay so, and are reported heard when
   *  they are heard. */
  void restartClock(int64_t monoMs);
  /** The devices heard at least once. */
  size_t size() const { return devices_.size(); }
  int64_t silentAfterMs() const { return silentAfterMs_; }

 private:
  struct Device {
    int64_t lastMonoMs = 0, lastUnixMs = 0;
    bool due = false;       ///< returned by silentNow since last heard
    bool reported = false;  ///< the store wrote it silent
  };
  int64_t silentAfterMs_;
  std::unordered_map<std::string, Device> devices_;
  std::vector<DeviceSilence> heardAgain_;
};

}  // namespace cad
