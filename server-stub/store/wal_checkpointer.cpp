#include "server-stub/store/wal_checkpointer.h"

#include "shared/infra/log.h"

namespace mdc::sql {

WalCheckpointer::WalCheckpointer(SqliteDb& writer, std::chrono::milliseconds interval)
    : writer_(writer), own_(writer.path(), /*create=*/false), interval_(interval) {
  own_.exec("PRAGMA synchronous=FULL");  // the database file is fsynced after each copy
  writer_.exec("PRAGMA wal_autocheckpoint=0");
  thread_ = std::thread([this] { run(); });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  try {
    writer_.exec("PRAGMA wal_autocheckpoint=1000");
  } catch (const SqliteError&) {
  }
}

void WalCheckpointer::run() {
  // SQLite reports the frames of the WAL checkpointed so far; the WAL starts
  // again from its beginning once it has all been copied.
  int seenFrames = 0, seenCopied = 0;
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    const auto t0 = std::chrono::steady_clock::now();
    int walFrames = 0, copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(own_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &walFrames, &copied);
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      log::warn("store", "WAL checkpoint of " + own_.path() + " failed: " + sqlite3_errmsg(own_.handle()));
    } else {
      if (walFrames < seenFrames || copied < seenCopied) seenCopied = 0;  // the WAL started again
      seenFrames = walFrames;
      const int fresh = copied - seenCopied;
      seenCopied = copied;
      if (fresh > 0) {
        ++checkpoints_;
        pages_ += uint64_t(fresh);
        if (ms > longestMs_) longestMs_ = ms;
        if (log::level() <= log::Level::Debug)
          log::debug("store", "WAL checkpoint: " + std::to_string(fresh) + " pages copied, " +
                                  std::to_string(walFrames - copied) + " left, in " + std::to_string(ms) + " ms");
      }
    }
    lock.lock();
  }
}

}  // namespace mdc::sql
