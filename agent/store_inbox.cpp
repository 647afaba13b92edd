// The agent store's inbox side: downlinks committed with the unit's cursor,
// and the conversation with dispatch (dispatcher messages from the inbox, the
// responder's own from sent_messages), each payload encrypted at rest.
#include <algorithm>

#include "agent/store.h"
#include "shared/infra/log.h"

namespace mdc::agent {

Status Store::storeDownlink(const v1::Downlink& dl, const std::string& raw,
                            const StateUpdates& stateUpdates) {
  uint64_t cursor = downlinkCursor(dl.unit_id());
  if (dl.seq() != cursor + 1)
    return storeError(StoreErrorCode::Invalid, "store: downlink seq " + std::to_string(dl.seq()) +
                                                   " does not follow cursor " + std::to_string(cursor));
  try {
    sql::Transaction tx(*db_);
    // Commit acks are applied, not kept: they would only fill the inbox.
    int64_t pruned = 0;
    if (dl.body_case() != v1::Downlink::kCommitAck) {
      db_->prepare("INSERT INTO inbox(unit_id, seq, kind, received_at_ms, payload) VALUES(?,?,?,?,?)")
          .bind(1, dl.unit_id()).bind(2, dl.seq()).bind(3, codec::bodyName(dl)).bind(4, clock_.nowMs())
          .bindBlob(5, cipher_.seal(raw, inboxAad(dl.unit_id(), dl.seq(), codec::bodyName(dl)))).run();
      // The keep policy: the newest kInboxKeep of each kind per unit; older
      // ones go (counted). The backend keeps them all (cadctl).
      auto prune = db_->prepare(
          "DELETE FROM inbox WHERE unit_id=?1 AND kind=?2 AND seq < (SELECT seq FROM inbox WHERE unit_id=?1 AND "
          "kind=?2 ORDER BY seq DESC LIMIT 1 OFFSET ?3)");
      prune.bind(1, dl.unit_id()).bind(2, codec::bodyName(dl)).bind(3, int64_t(kInboxKeep - 1)).run();
      pruned = db_->changes();
    }
    StateUpdates updates = stateUpdates;
    if (pruned > 0) updates[StateKey(StateKind::InboxPruned)] = std::to_string(stateInt(StateKey(StateKind::InboxPruned), 0) + pruned);
    updates[StateKey::downlinkCursor(dl.unit_id())] = std::to_string(dl.seq());
    writeState(updates);
    tx.commit();
    for (const auto& [k, v] : updates) state_[k.str()] = v;
  } catch (const sql::SqliteError& e) {
    return storeError(StoreErrorCode::Failed, std::string("store: downlink not committed: ") + e.what());
  }
  return {};
}

uint64_t Store::downlinkCursor(const std::string& unitId) {
  return uint64_t(stateInt(StateKey::downlinkCursor(unitId), 0));
}

int64_t Store::inboxCount(const std::string& unitId, const std::string& kind) {
  auto st = db_->prepare("SELECT COUNT(*) FROM inbox WHERE unit_id=? AND kind=?");
  st.bind(1, unitId).bind(2, kind);
  st.step();
  return st.i64(0);
}

std::vector<std::pair<uint64_t, v1::Downlink>> Store::inbox(const std::string& unitId, const std::string& kind,
                                                             int limit) {
  std::vector<std::pair<uint64_t, v1::Downlink>> out;
  auto st = db_->prepare("SELECT seq, payload FROM inbox WHERE unit_id=? AND kind=? ORDER BY seq DESC LIMIT ?");
  st.bind(1, unitId).bind(2, kind).bind(3, limit);
  while (st.step()) {
    uint64_t seq = uint64_t(st.i64(0));
    auto raw = openInbox(unitId, seq, kind, st.blob(1));
    v1::Downlink dl;
    if (raw && dl.ParseFromString(*raw)) out.emplace_back(seq, std::move(dl));
  }
  return out;
}

std::optional<std::string> Store::openInbox(const std::string& unitId, uint64_t seq, const std::string& kind,
                                            const std::string& sealed) {
  return openSealed(sealed, inboxAad(unitId, seq, kind), "inbox " + unitId + " seq " + std::to_string(seq),
                    "not shown");
}

std::string Store::sentAad(const std::string& unitId, uint64_t seq) const {
  return "sent/" + unitId + "/" + std::to_string(seq);
}

void Store::recordSent(uint64_t seq, const std::string& unitId, int64_t atMs, const std::string& text,
                       StateUpdates& updates) {
  db_->prepare("INSERT INTO sent_messages(seq, unit_id, at_ms, payload) VALUES(?,?,?,?)")
      .bind(1, seq).bind(2, unitId).bind(3, atMs).bindBlob(4, cipher_.seal(text, sentAad(unitId, seq))).run();
  db_->prepare("DELETE FROM sent_messages WHERE unit_id=?1 AND seq < (SELECT seq FROM sent_messages WHERE "
               "unit_id=?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)")
      .bind(1, unitId).bind(2, int64_t(kInboxKeep - 1)).run();
  if (int64_t pruned = db_->changes(); pruned > 0)
    updates[StateKey(StateKind::InboxPruned)] = std::to_string(stateInt(StateKey(StateKind::InboxPruned), 0) + pruned);
}

int64_t Store::conversationCount(const std::string& unitId) {
  auto st = db_->prepare(
      "SELECT (SELECT COUNT(*) FROM inbox WHERE unit_id=?1 AND kind='message') + "
      "(SELECT COUNT(*) FROM sent_messages WHERE unit_id=?1)");
  st.bind(1, unitId);
  st.step();
  return st.i64(0);
}

// Each side is read newest first up to limit, then the two are merged: a page
// costs two index range scans whatever the history's length.
std::vector<v1::ReceivedMessage> Store::conversation(const std::string& unitId,
                                                     std::optional<codec::MessageCursor> before, int limit) {
  // SQLite integers are signed: a cursor past every row is INT64_MAX throughout.
  const codec::MessageCursor from = before.value_or(codec::MessageCursor{INT64_MAX, true, uint64_t(INT64_MAX)});
  auto bindPage = [&](sql::Stmt& st) {
    st.bind(1, unitId).bind(2, from.atMs).bind(3, from.outgoing ? 1 : 0)
        .bind(4, int64_t(std::min(from.seq, uint64_t(INT64_MAX)))).bind(5, limit);
  };
  std::vector<std::pair<codec::MessageCursor, v1::ReceivedMessage>> out;
  auto in = db_->prepare(
      "SELECT seq, received_at_ms, payload FROM inbox WHERE unit_id=?1 AND kind='message' AND "
      "(received_at_ms, 0, seq) < (?2, ?3, ?4) ORDER BY received_at_ms DESC, seq DESC LIMIT ?5");
  bindPage(in);
  while (in.step()) {
    const uint64_t seq = uint64_t(in.i64(0));
    auto raw = openInbox(unitId, seq, "message", in.blob(2));
    v1::Downlink dl;
    if (!raw || !dl.ParseFromString(*raw)) continue;
    v1::ReceivedMessage m;
    m.set_downlink_seq(seq);
    m.set_from(dl.message().from());
    m.set_text(dl.message().text());
    m.set_at_ms(dl.sent_at_ms());
    m.set_delivery(v1::DELIVERY_DELIVERED);
    const codec::MessageCursor at{in.i64(1), false, seq};
    m.set_cursor(at.text());
    out.emplace_back(at, std::move(m));
  }
  auto sent = db_->prepare(
      "SELECT s.seq, s.at_ms, s.payload, COALESCE(a.delivery, 0), COALESCE(a.detail, '') FROM sent_messages s "
      "LEFT JOIN actions a ON a.seq = s.seq WHERE s.unit_id=?1 AND (s.at_ms, 1, s.seq) < (?2, ?3, ?4) "
      "ORDER BY s.at_ms DESC, s.seq DESC LIMIT ?5");
  bindPage(sent);
  while (sent.step()) {
    const uint64_t seq = uint64_t(sent.i64(0));
    auto text = openSealed(sent.blob(2), sentAad(unitId, seq), "sent message " + unitId + " seq " +
                           std::to_string(seq), "not shown");
    if (!text) continue;
    v1::ReceivedMessage m;
    m.set_outgoing(true);
    m.set_event_seq(seq);
    m.set_text(*text);
    m.set_at_ms(sent.i64(1));
    m.set_delivery(v1::Delivery(sent.i64(3)));
    m.set_detail(sent.text(4));
    const codec::MessageCursor at{sent.i64(1), true, seq};
    m.set_cursor(at.text());
    out.emplace_back(at, std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<v1::ReceivedMessage> page;
  for (auto& [at, m] : out) {
    if (int(page.size()) == limit) break;
    page.push_back(std::move(m));
  }
  return page;
}

}  // namespace mdc::agent
