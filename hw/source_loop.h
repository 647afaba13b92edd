#pragma once
// The thread every hardware source runs on: started and stopped by its owner,
// interruptible pauses, and the reconnect-with-backoff loop of a source whose
// device or daemon can be absent or go away (gpsd, an evdev device).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace mdc::hw {

/** Retry delays of a source that reconnects: the first retry after initial,
 *  doubling on each failure in a row up to max; after a lost link, initial. */
struct ReconnectBackoff {
  std::chrono::milliseconds initial;
  std::chrono::milliseconds max;
};

/** Owns a source's thread and its stop flag.
 *  Thread-safety: start/stop from one owning thread; stopping() and the
 *  pauses from the source's thread. */
class SourceLoop {
 public:
  SourceLoop() = default;
  ~SourceLoop() { stop(); }
  SourceLoop(const SourceLoop&) = delete;
  SourceLoop& operator=(const SourceLoop&) = delete;

  /** Runs body on a new thread; ignored while a thread is running. */
  void start(std::function<void()> body);
  /** Asks the thread to end, wakes its pauses and joins it. */
  void stop();
  /** stop() has been called: the thread should return. */
  bool stopping() const { return stopping_; }
  /** Pauses for d unless stop() is called; false when stopping. */
  bool sleepFor(std::chrono::milliseconds d);
  /** Pauses until due unless stop() is called; false when stopping. */
  bool sleepUntil(std::chrono::steady_clock::time_point due);

  /** Keeps a link up until stop(): connect(retryIn) opens it, or reports its
   *  failure and returns false (retried after retryIn, the backoff doubling);
   *  serve() reads the open link until it drops or the loop stops, closes it
   *  and returns why it ended; lost(why, reconnectIn) reports a drop (never
   *  called when stopping), reconnecting after backoff.initial. */
  template <class Connect, class Serve, class Lost>
  void keepConnected(ReconnectBackoff backoff, Connect connect, Serve serve, Lost lost) {
    auto retryIn = backoff.initial;
    while (!stopping()) {
      if (!connect(retryIn)) {
        if (!sleepFor(retryIn)) break;
        retryIn = std::min(retryIn * 2, backoff.max);
        continue;
      }
      retryIn = backoff.initial;
      const std::string why = serve();
      if (stopping()) break;
      lost(why, backoff.initial);
      if (!sleepFor(backoff.initial)) break;
    }
  }

 private:
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

/** "0.25 s", "2 s": how a person reads a retry delay. */
std::string describeDelay(std::chrono::milliseconds d);

}  // namespace mdc::hw
