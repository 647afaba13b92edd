// The agent store's outbox side: events enqueued and AVL group-committed in
// their lanes, read for sending, removed by commit acks, refused or held by
// rejections.
#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/store.h"
#include "shared/wire/codec.h"
#include "shared/infra/log.h"

namespace mdc::agent {



Result<OutboxRow> Store::enqueue(v1::Envelope& env, v1::Lane lane, const ActionInfo& action,
                                 const StateUpdates& stateUpdates) {
  if (Status s = requireDurable(); !s) return s.error();
  if (lane == v1::LANE_AVL || lane == v1::LANE_UNSPECIFIED)
    return storeError(StoreErrorCode::Invalid, "store: enqueue is for non-AVL lanes");
  env.set_seq(nextSeq_);
  auto encoded = codec::encodeEnvelope(env);
  if (!encoded) return storeError(StoreErrorCode::Invalid, encoded.error().message);
  std::string sealed = sealOutbox(env.seq(), int(lane), env.event_id(), *encoded);
  int64_t rowBytes = int64_t(sealed.size()) + kRowOverheadBytes;
  int64_t nonAvl = outboxBytes() - laneDepth(v1::LANE_AVL).bytes;
  if (nonAvl + rowBytes > opts_.capBytes)
    return storeError(StoreErrorCode::Full,
                      "store full: " + std::to_string(nonAvl) + " bytes of unsent status, CFS, emergency and "
                      "message events reach the cap of " + std::to_string(opts_.capBytes) +
                      " bytes; nothing was queued. Restore the network link so the outbox can drain.");
  int64_t now = clock_.nowMs();
  OutboxRow row{env.seq(), lane, env.event_id(), env.recorded_at_ms(), std::move(*encoded)};
  bool thinned = false;
  try {
    sql::Transaction tx(*db_);
    db_->prepare("INSERT INTO outbox(seq, lane, event_id, recorded_at_ms, queued_at_ms, payload) VALUES(?,?,?,?,?,?)")
        .bind(1, row.seq).bind(2, int(lane)).bind(3, row.eventId).bind(4, row.recordedAtMs).bind(5, now)
        .bindBlob(6, sealed).run();
    db_->prepare("INSERT INTO actions(seq, event_id, kind, summary, delivery, queued_at_ms) VALUES(?,?,?,?,?,?)")
        .bind(1, row.seq).bind(2, row.eventId).bind(3, action.kind).bind(4, action.summary)
        .bind(5, int(v1::DELIVERY_QUEUED)).bind(6, now).run();
    StateUpdates updates = stateUpdates;
    updates[StateKey(StateKind::NextSeq)] = std::to_string(row.seq + 1);
    if (!action.sentText.empty()) recordSent(row.seq, env.unit_id(), now, action.sentText, updates);
    // At the cap, AVL makes room for the responder's action (oldest first).
    if (int64_t over = outboxBytes() + rowBytes - opts_.capBytes; over > 0) {
      if (int64_t dropped = thinAvl(over); dropped > 0) {
        updates[StateKey(StateKind::DroppedAvl)] = std::to_string(stateInt(StateKey(StateKind::DroppedAvl)) + dropped);
        thinned = true;
      }
    }
    writeState(updates);
    tx.commit();
    for (const auto& [k, v] : updates) state_[k.str()] = v;
  } catch (const sql::SqliteError& e) {
    if (thinned) recountLanes();  // the rollback restored the thinned rows
    return storeError(e.primary() == SQLITE_FULL ? StoreErrorCode::Full : StoreErrorCode::Failed,
                      std::string("store: could not commit: ") + e.what());
  }
  ++nextSeq_;
  auto& d = lanes_[size_t(laneIndex(lane))];
  if (d.count == 0) {
    d.oldestRecordedAtMs = row.recordedAtMs;
    d.oldestQueuedAtMs = now;
  }
  ++d.count;
  d.bytes += rowBytes;
  if (thinned) recountLanes();
  pruneActions();
  return row;
}

Result<int64_t> Store::appendAvl(std::vector<v1::Envelope>& batch) {
  if (Status s = requireDurable(); !s) return s.error();
  if (batch.empty()) return int64_t(0);
  int64_t now = clock_.nowMs();
  int64_t dropped = 0;
  try {
    sql::Transaction tx(*db_);
    auto ins = db_->prepare(
        "INSERT INTO outbox(seq, lane, event_id, recorded_at_ms, queued_at_ms, payload) VALUES(?,?,?,?,?,?)");
    auto& d = lanes_[size_t(laneIndex(v1::LANE_AVL))];
    for (auto& env : batch) {
      env.set_seq(nextSeq_);
      auto encoded = codec::encodeEnvelope(env);
      if (!encoded) {
        log::warn("store", "AVL report not stored: " + encoded.error().message);
        continue;
      }
      std::string sealed = sealOutbox(nextSeq_, int(v1::LANE_AVL), env.event_id(), *encoded);
      ins.bind(1, nextSeq_).bind(2, int(v1::LANE_AVL)).bind(3, env.event_id()).bind(4, env.recorded_at_ms())
          .bind(5, now).bindBlob(6, sealed).run();
      ins.reset();
      ++nextSeq_;
      if (d.count == 0) {
        d.oldestRecordedAtMs = env.recorded_at_ms();
        d.oldestQueuedAtMs = now;
      }
      ++d.count;
      d.bytes += int64_t(sealed.size()) + kRowOverheadBytes;
    }
    int64_t over = outboxBytes() - opts_.capBytes;
    if (over > 0) dropped = thinAvl(over);
    StateUpdates updates{{StateKey(StateKind::NextSeq), std::to_string(nextSeq_)}};
    if (dropped > 0) updates[StateKey(StateKind::DroppedAvl)] = std::to_string(stateInt(StateKey(StateKind::DroppedAvl)) + dropped);
    writeState(updates);
    tx.commit();
    for (const auto& [k, v] : updates) state_[k.str()] = v;
  } catch (const sql::SqliteError& e) {
    recountLanes();
    nextSeq_ = std::max<uint64_t>(nextSeq_, uint64_t(stateInt(StateKey(StateKind::NextSeq), 1)));
    return storeError(StoreErrorCode::Failed, std::string("store: AVL batch not committed: ") + e.what());
  }
  if (dropped > 0) recountLanes();
  return dropped;
}

// Frees at least bytesToFree from the AVL lane, oldest first. First pass keeps
// one point per 30 s of the oldest history (the trail stays usable, only
// denser detail goes); if that is not enough, the oldest points go outright.
// Runs inside the caller's transaction.
int64_t Store::thinAvl(int64_t bytesToFree) {
  constexpr int64_t kKeepEveryMs = 30'000;
  int64_t freed = 0, dropped = 0;
  auto del = db_->prepare("DELETE FROM outbox WHERE seq=?");
  {
    auto st = db_->prepare(
        "SELECT seq, recorded_at_ms, LENGTH(payload) FROM outbox WHERE lane=4 ORDER BY seq LIMIT 100000");
    int64_t lastKept = INT64_MIN;
    std::vector<std::pair<uint64_t, int64_t>> victims;
    while (st.step() && freed < bytesToFree) {
      int64_t at = st.i64(1);
      if (lastKept == INT64_MIN || at - lastKept >= kKeepEveryMs) {
        lastKept = at;
        continue;
      }
      victims.emplace_back(uint64_t(st.i64(0)), st.i64(2) + kRowOverheadBytes);
      freed += st.i64(2) + kRowOverheadBytes;
    }
    for (auto [seq, bytes] : victims) {
      del.bind(1, seq).run();
      del.reset();
      ++dropped;
    }
  }
  if (freed < bytesToFree) {
    auto st = db_->prepare("SELECT seq, LENGTH(payload) FROM outbox WHERE lane=4 ORDER BY seq LIMIT 100000");
    std::vector<uint64_t> victims;
    while (st.step() && freed < bytesToFree) {
      victims.push_back(uint64_t(st.i64(0)));
      freed += st.i64(1) + kRowOverheadBytes;
    }
    for (auto seq : victims) {
      del.bind(1, seq).run();
      del.reset();
      ++dropped;
    }
  }
  if (dropped > 0)
    log::warn("store", "store cap " + std::to_string(opts_.capBytes) + " bytes reached: thinned " +
                           std::to_string(dropped) + " oldest AVL points (" + std::to_string(freed) + " bytes)");
  return dropped;
}

std::vector<OutboxRow> Store::pending(v1::Lane lane, uint64_t afterSeq, int limit) {
  std::vector<OutboxRow> rows;
  auto st = db_->prepare(
      "SELECT seq, event_id, recorded_at_ms, payload FROM outbox WHERE lane=? AND seq>? AND held_until_ms=0 "
      "ORDER BY seq LIMIT ?");
  st.bind(1, int(lane)).bind(2, afterSeq).bind(3, limit);
  while (st.step()) {
    uint64_t seq = uint64_t(st.i64(0));
    std::string id = st.text(1);
    auto plain = openOutbox(seq, int(lane), id, st.blob(3));
    if (plain) rows.push_back(OutboxRow{seq, lane, std::move(id), st.i64(2), std::move(*plain)});
  }
  return rows;
}

Result<AckOutcome> Store::applyCommitAck(const v1::CommitAck& ack) {
  AckOutcome out;
  int64_t now = clock_.nowMs();
  std::array<LaneDepthInfo, 4> removed{};
  // Deleting acknowledged events need not wait for the disk: if power fails
  // before the WAL reaches it, the events come back and are sent again, and
  // the backend acknowledges a duplicate without storing it twice. Saving the
  // fsync here keeps acks from throttling the drain.
  // If FULL cannot be restored, nothing more is queued until it is (see
  // requireDurable): a "queued" answer must mean the event is on the disk.
  struct Relaxed {
    Store& store;
    explicit Relaxed(Store& s) : store(s) { store.db_->exec("PRAGMA synchronous=NORMAL"); }
    ~Relaxed() {
      try {
        store.db_->exec("PRAGMA synchronous=FULL");
      } catch (const std::exception& e) {
        store.durabilityError_ = e.what();
        log::error("store", std::string("synchronous=FULL not restored after a commit ack: ") + e.what() +
                                "; no event is queued until it is");
      }
    }
  } relaxed(*this);
  try {
    sql::Transaction tx(*db_);
    auto del = db_->prepare("DELETE FROM outbox WHERE seq BETWEEN ? AND ? RETURNING lane, LENGTH(payload)");
    auto mark = db_->prepare(
        "UPDATE actions SET delivery=?, delivered_at_ms=? WHERE seq BETWEEN ? AND ? AND delivery IN (?, ?) "
        "RETURNING seq");
    for (const auto& r : ack.committed()) {
      del.bind(1, r.first()).bind(2, r.last());
      while (del.step()) {
        int lane = int(del.i64(0));
        if (lane < 1 || lane > 4) continue;
        ++removed[size_t(lane - 1)].count;
        removed[size_t(lane - 1)].bytes += del.i64(1) + kRowOverheadBytes;
        ++out.removed;
      }
      del.reset();
      mark.bind(1, int(v1::DELIVERY_DELIVERED)).bind(2, now).bind(3, r.first()).bind(4, r.last())
          .bind(5, int(v1::DELIVERY_QUEUED)).bind(6, int(v1::DELIVERY_HELD));
      while (mark.step()) out.actions.push_back(uint64_t(mark.i64(0)));
      mark.reset();
    }
    tx.commit();
  } catch (const sql::SqliteError& e) {
    return storeError(StoreErrorCode::Failed, std::string("store: commit ack not applied: ") + e.what());
  }
  for (size_t i = 0; i < lanes_.size(); ++i) {
    if (removed[i].count == 0) continue;
    lanes_[i].count -= removed[i].count;
    lanes_[i].bytes -= removed[i].bytes;
    refreshOldest(kLanes[i]);
  }
  return out;
}

// The oldest event of a lane is its first in FIFO order: an index lookup, not a scan.
void Store::refreshOldest(v1::Lane lane) {
  auto& d = lanes_[size_t(laneIndex(lane))];
  if (d.count <= 0) {
    d = LaneDepthInfo{};
    return;
  }
  auto st = db_->prepare("SELECT recorded_at_ms, queued_at_ms FROM outbox WHERE lane=? ORDER BY seq LIMIT 1");
  st.bind(1, int(lane));
  if (st.step()) {
    d.oldestRecordedAtMs = st.i64(0);
    d.oldestQueuedAtMs = st.i64(1);
  }
}

bool Store::isFixable(v1::RejectReason reason) {
  return reason == v1::REJECT_REASON_UNKNOWN_DEVICE || reason == v1::REJECT_REASON_NOT_PERMITTED;
}

int Store::releaseHeld(bool all) {
  try {
    sql::Transaction tx(*db_);
    auto st = db_->prepare(
        "UPDATE outbox SET held_until_ms=0 WHERE held_until_ms>0 AND (? OR held_until_ms<=?) RETURNING seq");
    st.bind(1, all ? 1 : 0).bind(2, clock_.nowMs());
    std::vector<int64_t> seqs;
    while (st.step()) seqs.push_back(st.i64(0));
    auto mark = db_->prepare("UPDATE actions SET delivery=?, detail='' WHERE seq=? AND delivery=?");
    for (int64_t s : seqs) {
      mark.bind(1, int(v1::DELIVERY_QUEUED)).bind(2, s).bind(3, int(v1::DELIVERY_HELD)).run();
      mark.reset();
    }
    tx.commit();
    return int(seqs.size());
  } catch (const sql::SqliteError& e) {
    log::error("store", std::string("held events not released: ") + e.what());
    return 0;
  }
}

int64_t Store::heldCount() const {
  return db_->queryInt("SELECT COUNT(*) FROM outbox WHERE held_until_ms>0");
}

Result<std::optional<uint64_t>> Store::applyRejection(const v1::Rejection& rej, bool* heldOut) {
  std::optional<uint64_t> seq;
  if (heldOut) *heldOut = false;
  try {
    sql::Transaction tx(*db_);
    if (!rej.event_id().empty()) {
      auto st = db_->prepare("SELECT seq FROM outbox WHERE event_id=?");
      st.bind(1, rej.event_id());
      if (st.step()) seq = uint64_t(st.i64(0));
    }
    // By seq only when the id could not be read: a refusal naming an id the
    // outbox does not hold (an AVL batch's, or an event already gone) names
    // no event here, even if its seq is one's.
    if (!seq && rej.event_id().empty() && rej.seq() > 0) seq = rej.seq();
    if (seq && isFixable(rej.reason())) {
      // Not the event's fault: hold it, and send it again later (5 s, doubling to 5 min) or when
      // the registry changes (releaseHeld). It stays in the outbox: nothing is lost.
      auto st = db_->prepare("SELECT held_count FROM outbox WHERE seq=?");
      st.bind(1, *seq);
      if (st.step()) {
        const int64_t count = st.i64(0);
        const int64_t waitMs = std::min<int64_t>(5000LL << std::min<int64_t>(count, 6), 300'000);
        db_->prepare("UPDATE outbox SET held_until_ms=?, held_count=held_count+1 WHERE seq=?")
            .bind(1, clock_.nowMs() + waitMs).bind(2, *seq).run();
        const std::string why = rej.detail().empty() ? v1::RejectReason_Name(rej.reason()) : rej.detail();
        db_->prepare("UPDATE actions SET delivery=?, detail=? WHERE seq=?")
            .bind(1, int(v1::DELIVERY_HELD))
            .bind(2, "held: " + why + " (sent again in " + std::to_string(waitMs / 1000) + " s, or when the registry changes)")
            .bind(3, *seq).run();
        if (heldOut) *heldOut = true;
      }
      tx.commit();
      return seq;
    }
    if (seq) {
      db_->prepare("DELETE FROM outbox WHERE seq=?").bind(1, *seq).run();
      std::string detail = rej.detail().empty() ? v1::RejectReason_Name(rej.reason()) : rej.detail();
      db_->prepare("UPDATE actions SET delivery=?, delivered_at_ms=?, detail=? WHERE seq=?")
          .bind(1, int(v1::DELIVERY_REJECTED)).bind(2, clock_.nowMs()).bind(3, detail).bind(4, *seq).run();
      writeState({{StateKey(StateKind::RejectedEvents), std::to_string(stateInt(StateKey(StateKind::RejectedEvents)) + 1)}});
    }
    tx.commit();
  } catch (const sql::SqliteError& e) {
    return storeError(StoreErrorCode::Failed, std::string("store: rejection not applied: ") + e.what());
  }
  if (seq) {
    state_[StateKey(StateKind::RejectedEvents).str()] = std::to_string(stateInt(StateKey(StateKind::RejectedEvents)) + 1);
    recountLanes();
  }
  return seq;
}

}  // namespace mdc::agent
