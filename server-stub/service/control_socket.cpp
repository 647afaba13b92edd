// The control socket: one ControlRequest frame from cadctl, one ControlReply
// frame back (proto/control.proto). Stats reads the counters; every other
// request is a dispatcher command run against the store, its downlinks
// published after its commit.
#include "server-stub/store/read_models.h"
#include "server-stub/service/cad_service.h"

#include <QFileInfo>
#include <QLocalSocket>

#include <csignal>
#include <memory>
#include <unistd.h>

#include "server-stub/service/control_frames.h"
#include "shared/infra/log.h"
#include "shared/wire/clock.h"
#include "shared/wire/topics.h"

namespace cad {

namespace log = mdc::log;

namespace {

control::ControlReply refusal(const std::string& why) {
  control::ControlReply reply;
  reply.set_ok(false);
  reply.set_error(why);
  return reply;
}

control::ControlReply done(const std::string& result) {
  control::ControlReply reply;
  reply.set_ok(true);
  reply.set_result(result);
  return reply;
}

template <class Map, class Counts>
void countsOf(const Map& m, Counts& out) {
  for (const auto& [k, v] : m) out[k] = int64_t(v);
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
      auto frames = std::make_shared<control::FrameReader>();
      connect(s, &QLocalSocket::readyRead, this, [this, s, frames] { serveControl(*s, *frames); });
    }
  });
  return {};
}

void CadService::serveControl(QLocalSocket& s, control::FrameReader& frames) {
  const QByteArray bytes = s.readAll();
  frames.feed(std::string_view(bytes.constData(), size_t(bytes.size())));
  std::string request;
  uint32_t announced = 0;
  for (auto next = frames.next(request, announced); next != control::FrameReader::Next::NeedMore;
       next = frames.next(request, announced)) {
    if (next == control::FrameReader::Next::TooLarge) {
      const std::string out = control::frame(refusal("control: a request of " + std::to_string(announced) +
                                                     " bytes, at most " + std::to_string(control::kMaxFrameBytes)));
      s.write(out.data(), qint64(out.size()));
      s.disconnectFromServer();  // the rest of the stream cannot be framed
      return;
    }
    control::ControlRequest req;
    control::ControlReply reply;
    if (!req.ParseFromString(request)) {
      reply = refusal("control: " + std::to_string(request.size()) + " bytes that are not a control request");
    } else {
      try {
        reply = handleControl(req);
      } catch (const mdc::sql::DbError& e) {
        reply = refusal(std::string("store unavailable: ") + e.what());
      }
    }
    const std::string out = control::frame(reply);
    s.write(out.data(), qint64(out.size()));
  }
}

control::ControlReply CadService::handleControl(const control::ControlRequest& req) {
  switch (req.command_case()) {
    case control::ControlRequest::kStats:
      return controlStats();
    case control::ControlRequest::COMMAND_NOT_SET:
      return refusal("control: the request names no command");
    default:
      return controlCommand(req);
  }
}

control::ControlReply CadService::controlStats() {
  control::ControlReply reply;
  reply.set_ok(true);
  control::StatsReply& c = *reply.mutable_stats();
  c.set_received(int64_t(counters_.received));
  c.set_appended(int64_t(counters_.appended));
  c.set_duplicates(int64_t(counters_.duplicates));
  c.set_refused(int64_t(counters_.refused));
  c.set_batches(int64_t(counters_.batches));
  c.set_max_batch(int64_t(counters_.maxBatch));
  c.set_commit_ms_max(int64_t(counters_.commitMsMax));
  c.set_slow_commits(int64_t(counters_.slowCommits));
  c.set_wal_checkpoints(int64_t(store_.log().checkpointer() ? store_.log().checkpointer()->checkpoints() : 0));
  c.set_wal_checkpoint_ms_max(int64_t(store_.log().checkpointer() ? store_.log().checkpointer()->longestMs() : 0));
  c.set_avl_batches(int64_t(counters_.avlBatches));
  c.set_batched_reports(int64_t(counters_.batchedReports));
  c.set_acks_published(int64_t(counters_.acksPublished));
  c.set_downlinks_published(int64_t(counters_.downlinksPublished));
  c.set_resyncs(int64_t(counters_.resyncs));
  c.set_commit_failures(int64_t(counters_.commitFailures));
  c.set_publish_failures(int64_t(counters_.publishFailures));
  c.set_downlinks_resent(int64_t(counters_.downlinksResent));
  c.set_nearby_sent(int64_t(counters_.nearbySent));
  c.set_boards_sent(int64_t(counters_.boardsSent));
  c.set_records_queries(int64_t(counters_.recordsQueries));
  c.set_records_hits(int64_t(counters_.recordsHits));
  c.set_clock_ahead_clamped(int64_t(counters_.clockAheadClamped));
  c.set_online(online_);
  c.set_ingest(amqp_ ? "amqp" : "mqtt");
  c.set_amqp_up(amqpUp_);
  c.set_redelivered(int64_t(counters_.redelivered));
  // Ready: both subscriptions acknowledged, so no device message is missed.
  c.set_ready(linkReady() && (!amqp_ || amqpUp_));
  countsOf(counters_.refusedByReason, *c.mutable_refused_by_reason());
  countsOf(counters_.duplicatesByDevice, *c.mutable_duplicates_by_device());
  c.set_ingest_busy_ms(int64_t(counters_.ingestBusyMs));
  c.set_ingest_lag_ms(int64_t(counters_.ingestLagMs));
  c.set_ingest_lag_ms_max(int64_t(counters_.ingestLagMsMax));
  c.set_broker_dropped(int64_t(counters_.brokerDropped));
  c.set_amqp_publish_dropped(int64_t(amqpOut_ ? amqpOut_->dropped() : 0));
  return reply;
}

std::optional<std::string> CadService::registerForToken(const control::ControlRequest& req) {
  if (!req.has_enroll_token()) return std::nullopt;
  const control::EnrollToken& token = req.enroll_token();
  if (token.unit().empty() || !mdc::topics::isValidDeviceId(token.device()) || ReadModels(store_).unitOfDevice(token.device()))
    return std::nullopt;
  // A token for a device not registered yet registers it to the unit given.
  control::ControlRequest add;
  add.set_actor(req.actor());
  add.set_agency(req.agency());
  add.mutable_device_add()->set_device(token.device());
  add.mutable_device_add()->set_unit(token.unit());
  auto added = store_.execute(add, mdc::SystemClock::instance().nowMs());
  if (!added) return added.error().message;
  unitCache_.clear();
  headCache_.clear();
  log::info("stub", "dispatcher " + req.actor() + " (" + req.agency() + "): " + added->summary);
  publish(added->downlinks);
  return std::nullopt;
}

control::ControlReply CadService::controlCommand(const control::ControlRequest& req) {
  flush();  // a command sees every event received before it
  if (auto refused = registerForToken(req)) return refusal(*refused);
  const std::string kind = commandKind(req);
  auto out = store_.execute(req, mdc::SystemClock::instance().nowMs());
  if (!out) {
    log::warn("stub", "command " + kind + " by " + req.actor() + " refused: " + out.error().message);
    return refusal(out.error().message);
  }
  ++counters_.commands;
  if (config_.faultKillAfterCommit) {
    log::error("stub", "CAD_STUB_FAULT=kill-after-commit: killed after committing " + kind + ", before publishing");
    ::kill(::getpid(), SIGKILL);
  }
  // Only registry commands move devices between units: keep the cache (one
  // lookup per device, not one per device per batch) until one does.
  if (req.has_device_add() || req.has_device_move() || req.has_device_remove()) {
    unitCache_.clear();
    headCache_.clear();  // downlinks of a unit without a device were not published
  }
  log::info("stub", "dispatcher " + req.actor() + " (" + req.agency() + "): " + out->summary);
  publish(out->downlinks);
  return done(out->summary);
}

}  // namespace cad
