#pragma once
// WAL checkpoints off the commit path. With SQLite's automatic checkpoint,
// the commit that takes the WAL past its limit also copies the whole WAL
// into the database and fsyncs it, and every ack waiting on that commit
// waits for the copy too. A WalCheckpointer turns the automatic checkpoint
// off on the writer's connection and runs PASSIVE checkpoints on a
// connection of its own, on a thread of its own, every interval: writers
// never wait for them (SQLite's WAL lets a checkpoint run beside a writer).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "shared/infra/sqlite.h"

namespace mdc::sql {

class WalCheckpointer {
 public:
  /** writer: the connection that commits (its automatic checkpoint is turned
   *  off); the checkpoints run on a new connection to the same file. Throws
   *  SqliteError when that connection cannot be opened. */
  WalCheckpointer(SqliteDb& writer, std::chrono::milliseconds interval);
  /** Stops the thread and restores the writer's automatic checkpoint (1000 pages). */
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  /** Checkpoints run that copied at least one page, the pages copied, and the longest run. */
  uint64_t checkpoints() const { return checkpoints_; }
  uint64_t pagesCopied() const { return pages_; }
  int64_t longestMs() const { return longestMs_; }

 private:
  void run();

  SqliteDb& writer_;
  SqliteDb own_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<uint64_t> checkpoints_{0}, pages_{0};
  std::atomic<int64_t> longestMs_{0};
  std::thread thread_;
};

}  // namespace mdc::sql
