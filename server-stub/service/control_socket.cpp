// The control socket: one JSON request per line from cadctl, one JSON reply
// per line. "stats" reads the counters; every other request is a dispatcher
// command run against the store, its downlinks published after its commit.
#include "server-stub/service/cad_service.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLocalSocket>

#include <cmath>
#include <csignal>
#include <unistd.h>

#include "shared/infra/log.h"
#include "shared/wire/clock.h"
#include "shared/wire/topics.h"

namespace cad {

namespace log = mdc::log;

namespace {

std::string controlReply(bool ok, const std::string& msg) {
  return QJsonDocument(QJsonObject{{"ok", ok}, {ok ? "result" : "error", QString::fromStdString(msg)}})
      .toJson(QJsonDocument::Compact)
      .toStdString();
}

std::vector<std::string> strings(const QJsonValue& v) {
  std::vector<std::string> out;
  for (const auto& s : v.toArray()) out.push_back(s.toString().toStdString());
  return out;
}

/** The dispatcher command a request names (its fields as cadctl sends them). */
Command commandOf(const QJsonObject& j) {
  auto text = [&j](const char* key) { return j.value(key).toString().toStdString(); };
  Command cmd;
  cmd.kind = text("cmd");
  cmd.actor = text("actor");
  cmd.agency = text("agency");
  cmd.incident = text("incident");
  cmd.unit = text("unit");
  cmd.device = text("device");
  cmd.cfsType = text("type");
  cmd.priority = j.value("priority").toInt(3);
  cmd.address = text("address");
  cmd.text = text("text");
  cmd.force = j.value("force").toBool(false);
  cmd.statuses = strings(j.value("statuses"));
  cmd.avlMovingS = j.value("avl_moving_s").toInt(0);
  cmd.avlStationaryS = j.value("avl_stationary_s").toInt(0);
  if (j.contains("lat") || j.contains("lon")) cmd.location = {j.value("lat").toDouble(NAN), j.value("lon").toDouble(NAN)};
  cmd.tokenHash = text("token_sha256");
  cmd.scheduleId = text("schedule");
  cmd.everyS = j.value("every_s").toInteger(0);
  cmd.fromMs = j.value("from_ms").toInteger(0);
  cmd.untilMs = j.value("until_ms").toInteger(0);
  cmd.ttlS = j.value("ttl_s").toInteger(0);
  cmd.label = text("label");
  cmd.apcoCode = text("apco");
  cmd.document = j.value("document").toObject();
  cmd.zone = text("zone");
  cmd.district = text("district");
  cmd.zones = strings(j.value("zones"));
  return cmd;
}

template <class Map>
QJsonObject countsOf(const Map& m) {
  QJsonObject o;
  for (const auto& [k, v] : m) o[QString::fromStdString(k)] = qint64(v);
  return o;
}

}  // namespace

mdc::Status CadService::openControlSocket() {
  // QLocalServer takes a bare name as one in the temp dir: always give it a path.
  config_.controlPath = QFileInfo(QString::fromStdString(config_.controlPath)).absoluteFilePath().toStdString();
  QLocalServer::removeServer(QString::fromStdString(config_.controlPath));
  control_.setSocketOptions(QLocalServer::UserAccessOption | QLocalServer::GroupAccessOption);
  if (!control_.listen(QString::fromStdString(config_.controlPath)))
    return mdc::Error::make("control socket \"" + config_.controlPath + "\": " + control_.errorString().toStdString());
  connect(&control_, &QLocalServer::newConnection, this, [this] {
    while (QLocalSocket* s = control_.nextPendingConnection()) {
      connect(s, &QLocalSocket::disconnected, s, &QObject::deleteLater);
      connect(s, &QLocalSocket::readyRead, this, [this, s] {
        while (s->canReadLine()) {
          QByteArray line = s->readLine(1 << 20).trimmed();
          std::string reply;
          try {
            reply = handleControl(line.toStdString()) + "\n";
          } catch (const mdc::sql::DbError& e) {
            reply = QJsonDocument(QJsonObject{{"ok", false}, {"error", QString("store unavailable: ") + e.what()}})
                        .toJson(QJsonDocument::Compact)
                        .toStdString() +
                    "\n";
          }
          s->write(reply.data(), qint64(reply.size()));
        }
      });
    }
  });
  return {};
}

std::string CadService::handleControl(const std::string& line) {
  QJsonParseError perr;
  QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(line), &perr);
  if (!doc.isObject()) return controlReply(false, "control: not a JSON object: " + perr.errorString().toStdString());
  const QJsonObject j = doc.object();
  using Request = std::string (CadService::*)(const QJsonObject&);
  static const std::map<std::string, Request> kRequests = {{"stats", &CadService::controlStats}};
  const auto kind = kRequests.find(j.value("cmd").toString().toStdString());
  return (this->*(kind != kRequests.end() ? kind->second : &CadService::controlCommand))(j);
}

std::string CadService::controlStats(const QJsonObject&) {
  QJsonObject c{{"received", qint64(counters_.received)},
                {"appended", qint64(counters_.appended)},
                {"duplicates", qint64(counters_.duplicates)},
                {"refused", qint64(counters_.refused)},
                {"batches", qint64(counters_.batches)},
                {"max_batch", qint64(counters_.maxBatch)},
                {"commit_ms_max", qint64(counters_.commitMsMax)},
                {"slow_commits", qint64(counters_.slowCommits)},
                {"wal_checkpoints", qint64(store_.checkpointer() ? store_.checkpointer()->checkpoints() : 0)},
                {"wal_checkpoint_ms_max", qint64(store_.checkpointer() ? store_.checkpointer()->longestMs() : 0)},
                {"avl_batches", qint64(counters_.avlBatches)},
                {"batched_reports", qint64(counters_.batchedReports)},
                {"acks_published", qint64(counters_.acksPublished)},
                {"downlinks_published", qint64(counters_.downlinksPublished)},
                {"resyncs", qint64(counters_.resyncs)},
                {"commit_failures", qint64(counters_.commitFailures)},
                {"publish_failures", qint64(counters_.publishFailures)},
                {"downlinks_resent", qint64(counters_.downlinksResent)},
                {"nearby_sent", qint64(counters_.nearbySent)},
                {"boards_sent", qint64(counters_.boardsSent)},
                {"records_queries", qint64(counters_.recordsQueries)},
                {"records_hits", qint64(counters_.recordsHits)},
                {"clock_ahead_clamped", qint64(counters_.clockAheadClamped)},
                {"online", online_},
                {"ingest", amqp_ ? "amqp" : "mqtt"},
                {"amqp_up", amqpUp_},
                {"redelivered", qint64(counters_.redelivered)},
                // Ready: both subscriptions acknowledged, so no device message is missed.
                {"ready", linkReady() && (!amqp_ || amqpUp_)}};
  c["refused_by_reason"] = countsOf(counters_.refusedByReason);
  c["duplicates_by_device"] = countsOf(counters_.duplicatesByDevice);
  c["ingest_busy_ms"] = qint64(counters_.ingestBusyMs);
  c["ingest_lag_ms"] = qint64(counters_.ingestLagMs);
  c["ingest_lag_ms_max"] = qint64(counters_.ingestLagMsMax);
  c["broker_dropped"] = qint64(counters_.brokerDropped);
  return QJsonDocument(QJsonObject{{"ok", true}, {"stats", c}}).toJson(QJsonDocument::Compact).toStdString();
}

std::optional<std::string> CadService::registerForToken(const Command& cmd) {
  if (cmd.kind != "enroll_token" || cmd.unit.empty() || !mdc::topics::isValidDeviceId(cmd.device) ||
      store_.unitOfDevice(cmd.device))
    return std::nullopt;
  // A token for a device not registered yet registers it to the unit given.
  Command add = cmd;
  add.kind = "device_add";
  auto added = store_.execute(add, mdc::SystemClock::instance().nowMs());
  if (!added) return added.error().message;
  unitCache_.clear();
  headCache_.clear();
  log::info("stub", "dispatcher " + cmd.actor + " (" + cmd.agency + "): " + added->summary);
  publish(added->downlinks);
  return std::nullopt;
}

std::string CadService::controlCommand(const QJsonObject& j) {
  flush();  // a command sees every event received before it
  const Command cmd = commandOf(j);
  if (auto refused = registerForToken(cmd)) return controlReply(false, *refused);
  auto out = store_.execute(cmd, mdc::SystemClock::instance().nowMs());
  if (!out) {
    log::warn("stub", "command " + cmd.kind + " by " + cmd.actor + " refused: " + out.error().message);
    return controlReply(false, out.error().message);
  }
  ++counters_.commands;
  if (config_.faultKillAfterCommit) {
    log::error("stub", "CAD_STUB_FAULT=kill-after-commit: killed after committing " + cmd.kind + ", before publishing");
    ::kill(::getpid(), SIGKILL);
  }
  // Only registry commands move devices between units: keep the cache (one
  // lookup per device, not one per device per batch) until one does.
  if (cmd.kind == "device_add" || cmd.kind == "device_move" || cmd.kind == "device_remove") {
    unitCache_.clear();
    headCache_.clear();  // downlinks of a unit without a device were not published
  }
  log::info("stub", "dispatcher " + cmd.actor + " (" + cmd.agency + "): " + out->summary);
  publish(out->downlinks);
  return controlReply(true, out->summary);
}

}  // namespace cad
