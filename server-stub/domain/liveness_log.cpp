// A device the backend stopped hearing: registry.device_silent when a device
// whose unit is online has sent nothing (not even the beat it sends when it
// has nothing else to send) for the service's silence limit, and
// registry.device_heard when it is heard again. The broker notices a frozen
// device or one whose connection went quiet only after 1.5 times its
// keepalive, and mosquitto 2.0 checks that every 5 s or so; these events put
// it on the board within seconds. Both are in the log, so the board's
// history (when was E12 lost?) replays as it happened.
#include <QJsonObject>

#include <optional>
#include <utility>

#include "server-stub/store/event_row.h"
#include "server-stub/store/event_store.h"
#include "shared/wire/uuid.h"

namespace cad {

namespace sql = mdc::sql;

Result<std::vector<std::string>> EventStore::recordLiveness(const std::vector<DeviceSilence>& devices, bool silent,
                                                            int64_t nowMs, const std::string& actor) {
  static mdc::UuidV7Generator ids;
  std::vector<std::string> written;
  try {
    const Status done = writeTransaction({}, [&]() -> Status {
      written.clear();
      for (const DeviceSilence& d : devices) {
        // The unit the device serves now, read again once its agency is
        // locked (write_tx.cpp); only a change of what the board shows is
        // written: silent while online, heard while offline.
        auto servedBy = [&]() -> std::optional<std::pair<std::string, std::string>> {
          auto st = cached("SELECT unit_id, agency, online FROM units WHERE device_id=?");
          st->bind(1, d.device);
          if (!st->step() || (st->i64(2) == 1) != silent) return std::nullopt;
          return std::pair{st->text(0), st->text(1)};
        };
        auto unit = servedBy();
        if (!unit) continue;
        log_->lockChains({unit->second});
        unit = servedBy();
        if (!unit) continue;
        Row row;
        row.eventId = ids.next();
        row.unitId = unit->first;
        row.agency = unit->second;
        row.kind = silent ? "registry.device_silent" : "registry.device_heard";
        row.recordedAtMs = nowMs;
        row.clockSource = "system";
        row.receivedAtMs = nowMs;
        row.actor = actor;
        row.payload = jsonText(QJsonObject{{"device", QString::fromStdString(d.device)},
                                           {"last_heard_ms", qint64(d.lastHeardMs)}});
        log_->append(row);
        std::vector<Outgoing> none;
        project(row, none);
        written.push_back(d.device);
      }
      return {};
    });
    if (!done) return done.error();
  } catch (const sql::DbError& e) {
    return Error::make(std::string("store: liveness not committed: ") + e.what());
  }
  return written;
}

void EventStore::projectLiveness(const Row& row) {
  const QJsonObject j = parseJson(row.payload);
  const bool silent = row.kind == "registry.device_silent";
  cached("UPDATE units SET online=?1, online_changed_ms=?2 WHERE unit_id=?3 AND device_id=?4 AND online<>?1")
      ->bind(1, silent ? 0 : 1).bind(2, row.receivedAtMs).bind(3, row.unitId)
      .bind(4, j.value("device").toString().toStdString()).run();
}

}  // namespace cad
