#pragma once
// One row of the event log as the store appends, hashes and reads it.
// Private to the store's implementation files.
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdint>
#include <optional>
#include <string>

#include "server-stub/store/event_log.h"
#include "shared/infra/sql.h"

namespace cad {

/** An event payload's JSON: QJsonObject keeps keys sorted, so the compact form is canonical. */
inline std::string jsonText(const QJsonObject& o) {
  return QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString();
}

inline QJsonObject parseJson(const std::string& s) {
  return QJsonDocument::fromJson(QByteArray::fromStdString(s)).object();
}

/** "alice" of "dispatcher:alice". */
inline std::string actorName(const std::string& actor) { return actor.substr(actor.find(':') + 1); }

/** A command refused for its content (nothing is written). */
inline Error refuse(const std::string& msg) { return Error::make(msg); }

/** A length-prefixed field of an event's canonical bytes. */
inline void putField(std::string& out, const std::string& v) {
  uint32_t n = uint32_t(v.size());
  for (int i = 3; i >= 0; --i) out += char((n >> (8 * i)) & 0xff);
  out += v;
}

struct EventRow {
  int64_t pos = 0;
  std::string eventId;
  std::string deviceId;  // empty = NULL
  std::optional<uint64_t> deviceSeq;
  std::string unitId;
  std::string agency;
  std::string kind;
  int64_t recordedAtMs = 0;
  std::string clockSource;
  int64_t receivedAtMs = 0;
  std::string actor;
  std::string payload;
  std::string prevHash;
  std::string hash;
  std::string chain;  ///< the chain it links into: its agency ('' for events older than schema 12)
  int64_t tx = 0;     ///< read only: the transaction that appended it (PostgreSQL's id; 0 on SQLite)

  std::string canonical() const {
    std::string c;
    c.reserve(payload.size() + 200);
    putField(c, std::to_string(pos));
    putField(c, eventId);
    putField(c, deviceId);
    putField(c, deviceSeq ? std::to_string(*deviceSeq) : "");
    putField(c, unitId);
    putField(c, agency);
    putField(c, kind);
    putField(c, std::to_string(recordedAtMs));
    putField(c, clockSource);
    putField(c, std::to_string(receivedAtMs));
    putField(c, actor);
    putField(c, payload);
    return c;
  }
  std::string computeHash() const { return sha256(prevHash + canonical()); }
  /** Where this row breaks its chain, if it does, as the event after one
   *  whose hash is prev in the same chain (verify and replay). */
  std::optional<std::string> chainBreak(const std::string& prev) const {
    auto who = [&] {
      return "event " + std::to_string(pos) + " (id " + eventId +
             (deviceId.empty() ? ", " + actor
                               : ", device " + deviceId + " seq " + std::to_string(deviceSeq.value_or(0))) +
             ")";
    };
    if (prevHash != prev)
      return who() + ": previous-hash link does not match the previous event of its chain (" +
             (chain.empty() ? std::string("the chain before schema 12") : "agency " + chain) +
             "): an event before it is missing or was altered";
    if (computeHash() != hash) return who() + ": content does not match its stored hash (altered)";
    return std::nullopt;
  }

  /** What a reader of the log sees of it (readLog, listLog). */
  LogEntry entry() const {
    LogEntry e;
    e.cursor = LogCursor{tx, pos};
    e.eventId = eventId;
    e.deviceId = deviceId;
    e.deviceSeq = deviceSeq;
    e.unitId = unitId;
    e.agency = agency;
    e.kind = kind;
    e.recordedAtMs = recordedAtMs;
    e.clockSource = clockSource;
    e.receivedAtMs = receivedAtMs;
    e.actor = actor;
    e.payload = payload;
    return e;
  }

  /** The columns read() expects, in order. */
  static constexpr const char* kSelect =
      "SELECT pos, event_id, device_id, device_seq, unit_id, agency, kind, recorded_at_ms, clock_source, "
      "received_at_ms, actor, payload, prev_hash, hash, chain, tx FROM events ";
  /** One events row as selected by kSelect. */
  static EventRow read(const mdc::sql::Stmt& st) {
    EventRow r;
    r.pos = st.i64(0);
    r.eventId = st.text(1);
    r.deviceId = st.isNull(2) ? "" : st.text(2);
    if (!st.isNull(3)) r.deviceSeq = uint64_t(st.i64(3));
    r.unitId = st.text(4);
    r.agency = st.text(5);
    r.kind = st.text(6);
    r.recordedAtMs = st.i64(7);
    r.clockSource = st.text(8);
    r.receivedAtMs = st.i64(9);
    r.actor = st.text(10);
    r.payload = st.blob(11);
    r.prevHash = st.blob(12);
    r.hash = st.blob(13);
    r.chain = st.text(14);
    r.tx = st.i64(15);
    return r;
  }
};

}  // namespace cad
