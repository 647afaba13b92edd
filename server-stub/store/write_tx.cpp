// Write transactions, and what lets several writers (stub workers) share one
// PostgreSQL store:
//
// - Each agency's events form a hash chain of their own (events.chain), so
//   two writers appending for different agencies never wait for one head.
//   An agency is where the read models stop: its units, calls, incident
//   timelines and downlink queues are never written by another agency's
//   events (commands refuse another agency's units, devices and calls).
// - A write transaction takes the advisory lock of every agency it appends
//   for, and of the incident counter when it draws a number, before it draws
//   its first position; positions come from a sequence. Two transactions
//   that touch the same state therefore run one after the other, and the
//   later one draws every position after the earlier one's: the log's order
//   is an order the read models could have been built in, which is what
//   replay relies on. Transactions of different agencies interleave freely;
//   nothing one writes is read by the other.
// - A body that finds it needs a lock it does not hold (an event of another
//   agency, a self-initiated call that draws a number) throws NeedsLock: the
//   transaction is rolled back and run again with that lock taken up front.
//   Locks are always taken in key order, so writers never deadlock on them.
//
// On SQLite one writer holds the database's lock for the whole transaction:
// no advisory locks, positions one after another.
#include <algorithm>
#include <cstring>

#include "server-stub/store/event_row.h"
#include "server-stub/store/event_log.h"
#include "shared/infra/log.h"

namespace cad {

namespace sql = mdc::sql;

namespace {

/** The transaction must start again, holding these locks too. */
struct NeedsLock {
  std::string name;
};

/** A stable 64-bit advisory lock key for a name (the same in every process). */
int64_t lockKey(const std::string& name) {
  const std::string h = sha256("cad-stub lock\n" + name);
  uint64_t k = 0;
  for (int i = 0; i < 8; ++i) k = (k << 8) | uint8_t(h[size_t(i)]);
  return int64_t(k);
}

std::string chainLock(const std::string& agency) { return "chain:" + agency; }

/** How often a transaction may start again for a lock it lacked. Each time
 *  adds one; an agency or the counter can only be missed once. */
constexpr int kMaxLockRounds = 16;

}  // namespace

Status EventLog::writeTransaction(LockSet locks, const std::function<Status()>& body) {
  const bool shared = db_->sharedByWriters();
  for (int round = 0;; ++round) {
    locksHeld_.clear();
    chainHeads_.clear();
    positions_ = {};
    posWanted_ = 1;
    posDrawn_ = false;
    // What the writer remembered of the store may have been changed by
    // another writer since, or rolled back.
    if (shared) forget();
    try {
      sql::Transaction tx(*db_);
      if (shared) {
        std::map<int64_t, std::string> wanted;
        for (const auto& a : locks.chains) wanted.emplace(lockKey(chainLock(a)), chainLock(a));
        if (locks.incidentCounter) wanted.emplace(lockKey(kIncidentCounterLock), kIncidentCounterLock);
        for (const auto& [key, name] : wanted) {
          db_->lockUntilCommit(key);
          locksHeld_.emplace(key, name);
        }
      }
      if (Status s = body(); !s) {
        forget();
        return s;
      }
      tx.commit();
      return {};
    } catch (const NeedsLock& more) {
      forget();
      if (round + 1 >= kMaxLockRounds)
        throw sql::DbError(sql::Fault::other, 0, "",
                           "the locks the transaction needs kept changing (last: " + more.name + ")");
      if (more.name == kIncidentCounterLock) locks.incidentCounter = true;
      else locks.chains.insert(more.name.substr(std::strlen("chain:")));
    } catch (...) {
      forget();
      throw;
    }
  }
}

void EventLog::lockChains(const std::set<std::string>& agencies) {
  if (!db_->sharedByWriters()) return;
  std::map<int64_t, std::string> wanted;
  for (const auto& a : agencies) {
    const std::string name = chainLock(a);
    const int64_t key = lockKey(name);
    if (!locksHeld_.count(key)) wanted.emplace(key, name);
  }
  if (wanted.empty()) return;
  // Taken now only where that keeps the one order and nothing was appended.
  if (posDrawn_ || (!locksHeld_.empty() && wanted.begin()->first < locksHeld_.rbegin()->first))
    throw NeedsLock{wanted.begin()->second};
  for (const auto& [key, name] : wanted) {
    db_->lockUntilCommit(key);
    locksHeld_.emplace(key, name);
  }
}

void EventLog::requireLock(const std::string& name) {
  if (!db_->sharedByWriters() || replaying_) return;
  if (!locksHeld_.count(lockKey(name))) throw NeedsLock{name};
}

int64_t EventLog::nextPosition() {
  posDrawn_ = true;
  // Drawn as many at a time as the transaction expects to append (a batch
  // of messages: one round trip for all), after the locks like one would
  // be; what it does not use is a gap, as a rolled-back position is.
  if (positions_.next >= positions_.block.size()) {
    positions_.block = db_->drawSequence(kEventPositions, std::max(1, posWanted_));
    positions_.next = 0;
    ++positions_.generation;
  }
  return positions_.block[positions_.next++];
}

std::string EventLog::chainHead(const std::string& chain) {
  if (auto it = chainHeads_.find(chain); it != chainHeads_.end()) return it->second;
  auto st = cached("SELECT hash FROM events WHERE chain=? ORDER BY pos DESC LIMIT 1");
  st->bind(1, chain);
  std::string head = st->step() ? st->blob(0) : std::string(32, '\0');
  chainHeads_[chain] = head;
  return head;
}

int64_t EventLog::append(Row& row) {
  row.chain = row.agency;
  requireLock(chainLock(row.chain));
  row.pos = nextPosition();
  row.prevHash = chainHead(row.chain);
  row.hash = row.computeHash();
  insertEvent(row);
  chainHeads_[row.chain] = row.hash;
  return row.pos;
}

void EventLog::syncSequences() {
  db_->syncSequence(kEventPositions);
  db_->syncSequence(sql::Sequence{"", "cfs_timeline", "id"});
}

// ------------------------------------------------------------------ readers

std::optional<LogCursor> LogCursor::parse(const std::string& text) {
  auto number = [](const std::string& s) -> std::optional<int64_t> {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return std::stoll(s);
  };
  const auto colon = text.find(':');
  if (colon == std::string::npos) {
    auto pos = number(text);
    if (!pos) return std::nullopt;
    return LogCursor{0, *pos};
  }
  auto tx = number(text.substr(0, colon)), pos = number(text.substr(colon + 1));
  if (!tx || !pos) return std::nullopt;
  return LogCursor{*tx, *pos};
}

LogCursor EventLog::readLog(LogCursor after, const std::string& agency, int limit,
                              const std::function<void(const LogEntry&)>& each) {
  // The horizon: only transactions older than every one still running
  // (with one writer there is no such thing, and tx is 0).
  const std::string settled = db_->settledBefore("tx");
  auto st = db_->prepare(std::string(Row::kSelect) +
                         "WHERE (tx > ?1 OR (tx = ?1 AND pos > ?2)) AND (?3 = '' OR agency = ?3) " +
                         (settled.empty() ? "" : "AND " + settled + " ") + "ORDER BY tx, pos LIMIT ?4");
  st.bind(1, after.tx).bind(2, after.pos).bind(3, agency).bind(4, limit);
  LogCursor last = after;
  while (st.step()) {
    const LogEntry e = Row::read(st).entry();
    last = e.cursor;
    each(e);
  }
  return last;
}

void EventLog::listLog(int64_t afterPos, const std::string& agency, int64_t limit,
                         const std::function<void(const LogEntry&)>& each) {
  auto st = db_->prepare(std::string(Row::kSelect) +
                         "WHERE pos > ?1 AND (?2 = '' OR agency = ?2) ORDER BY pos LIMIT ?3");
  st.bind(1, afterPos).bind(2, agency).bind(3, limit);
  while (st.step()) each(Row::read(st).entry());
}

}  // namespace cad
