// The Prometheus endpoint: GET /metrics on 127.0.0.1, the counters and the
// store's state in the text exposition format (version 0.0.4).
#include "server-stub/service/cad_service.h"

#include <QTcpSocket>

#include <algorithm>
#include <cstdio>

#include "server-stub/domain/fleet_health.h"
#include "server-stub/store/read_models.h"
#include "shared/infra/log.h"
#include "shared/wire/clock.h"

namespace cad {

/** The text being exposed: each family's HELP and TYPE lines, then its samples. */
class Exposition {
 public:
  void family(const char* name, const char* type, const char* help, const std::string& samples) {
    text += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + samples;
  }
  /** A family of one unlabelled sample. */
  void one(const char* name, const char* type, const char* help, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    family(name, type, help, std::string(name) + " " + buf + "\n");
  }
  std::string text;
};

namespace {
/** One sample per key, labelled label="key". */
std::string labelled(const char* name, const char* label, const std::map<std::string, uint64_t>& counts) {
  std::string samples;
  for (const auto& [key, n] : counts)
    samples += std::string(name) + "{" + label + "=\"" + key + "\"} " + std::to_string(n) + "\n";
  return samples;
}
}  // namespace

mdc::Status CadService::openMetrics() {
  if (!metrics_.listen(QHostAddress::LocalHost, quint16(config_.metricsPort)))
    return mdc::Error::make("metrics: cannot listen on 127.0.0.1:" + std::to_string(config_.metricsPort) + ": " +
                            metrics_.errorString().toStdString());
  // One request per connection, answered at once: GET /metrics, else 404.
  connect(&metrics_, &QTcpServer::newConnection, this, [this] {
    while (QTcpSocket* s = metrics_.nextPendingConnection()) {
      connect(s, &QTcpSocket::disconnected, s, &QObject::deleteLater);
      connect(s, &QTcpSocket::readyRead, this, [this, s] {
        if (!s->canReadLine()) return;
        const QByteArray request = s->readLine(4096);
        const bool ok = request.startsWith("GET /metrics ") || request.startsWith("GET /metrics\r");
        std::string body, status = ok ? "200 OK" : "404 Not Found";
        try {
          body = ok ? metricsText() : "not found: GET /metrics\n";
        } catch (const mdc::sql::DbError& e) {
          status = "503 Service Unavailable";
          body = std::string("store unavailable: ") + e.what() + "\n";
        }
        const std::string head = "HTTP/1.0 " + status + "\r\n" +
                                 "Content-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                                 std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
        s->write((head + body).data(), qint64(head.size() + body.size()));
        s->disconnectFromHost();
      });
    }
  });
  mdc::log::info("stub", "metrics on http://127.0.0.1:" + std::to_string(config_.metricsPort) + "/metrics");
  return {};
}

std::string CadService::metricsText() {
  Exposition o;
  ingestMetrics(o);
  linkMetrics(o);
  try {
    storeMetrics(o);
  } catch (const mdc::sql::DbError& e) {
    o.text += "# store unreadable: " + std::string(e.what()) + "\n";
  }
  return o.text;
}

void CadService::ingestMetrics(Exposition& o) const {
  o.one("cad_events_received_total", "counter", "messages received from devices (MQTT, or the AMQP ingest queue)",
        double(counters_.received));
  if (amqp_)
    o.one("cad_amqp_redelivered_total", "counter",
          "ingest messages delivered again by the queue (a worker died, or a commit failed, before they were acked)",
          double(counters_.redelivered));
  o.one("cad_events_appended_total", "counter", "events appended to the log", double(counters_.appended));
  o.one("cad_events_duplicate_total", "counter", "events received again and acknowledged without a second copy",
        double(counters_.duplicates));
  o.family("cad_device_duplicates_total", "counter",
           "events a device sent again after they were stored, by device (only devices with any)",
           labelled("cad_device_duplicates_total", "device", counters_.duplicatesByDevice));
  o.one("cad_ingest_lag_ms", "gauge",
        "the last batch's lag: its oldest message's wait from arrival to commit (told to devices)",
        double(counters_.ingestLagMs));
  o.one("cad_ingest_lag_ms_max", "gauge", "the longest ingest lag since the stub started",
        double(counters_.ingestLagMsMax));
  o.one("cad_ingest_busy_seconds_total", "counter", "time spent in ingest transactions",
        double(counters_.ingestBusyMs) / 1000);
  o.one("cad_broker_dropped_total", "counter",
        "messages the broker says it dropped since it started, last heard ($SYS/broker/publish/messages/dropped)",
        double(counters_.brokerDropped));
  o.one("cad_amqp_publish_dropped_total", "counter",
        "a worker's commit acks and downlinks dropped on its AMQP publisher's full queue (asked for again by the devices)",
        double(amqpOut_ ? amqpOut_->dropped() : 0));
  o.one("cad_avl_batches_total", "counter", "AVL backlog batches received (each one MQTT message)",
        double(counters_.avlBatches));
  o.one("cad_avl_batched_reports_total", "counter", "AVL reports that came in batches",
        double(counters_.batchedReports));
  o.family("cad_events_refused_total", "counter", "input refused, by reason",
           labelled("cad_events_refused_total", "reason", counters_.refusedByReason));
}

void CadService::linkMetrics(Exposition& o) const {
  o.one("cad_beats_total", "counter", "beats heard from devices with nothing else to send (never stored)",
        double(counters_.beats));
  o.one("cad_devices_silenced_total", "counter", "devices shown offline, not heard for --silent-after-ms",
        double(counters_.silenced));
  o.one("cad_devices_heard_again_total", "counter", "of those, heard again and shown online",
        double(counters_.heardAgain));
  o.one("cad_edge_liveness_notices_total", "counter",
        "edge watchers' notices taken (cad-edge-watch: devices not heard, or heard again, on an edge)",
        double(counters_.edgeNotices));
  o.one("cad_commit_acks_published_total", "counter", "commit acks published", double(counters_.acksPublished));
  o.one("cad_downlinks_published_total", "counter", "downlinks published (first sends)",
        double(counters_.downlinksPublished));
  o.one("cad_downlinks_resent_total", "counter", "downlinks sent again to a device that had not confirmed them",
        double(counters_.downlinksResent));
  o.one("cad_records_queries_total", "counter", "records queries answered", double(counters_.recordsQueries));
  o.one("cad_records_hits_total", "counter", "records answers with an officer-safety flag",
        double(counters_.recordsHits));
  if (est_) {
    o.one("cad_enrolments_total", "counter", "certificates issued to devices with an enrolment token",
          double(est_->counters().enrolled));
    o.one("cad_renewals_total", "counter", "certificates renewed by devices before they expired",
          double(est_->counters().renewed));
    o.one("cad_enrolment_refusals_total", "counter",
          "enrolment and renewal requests refused (wrong, used, expired or locked tokens; expired or revoked "
          "certificates)",
          double(est_->counters().refused));
  }
  o.one("cad_broker_connected", "gauge", "1 while the stub's link to the broker is up and subscribed",
        linkReady() && (!amqp_ || amqpUp_) ? 1 : 0);
}

void CadService::storeMetrics(Exposition& o) {
  const int64_t connected = ReadModels(store_).unitsOnline();
  o.one("cad_devices_connected", "gauge", "units whose device says it is online (its presence)", double(connected));
  const auto lagging = ReadModels(store_).laggingDevices();
  uint64_t behind = 0;
  for (const auto& l : lagging) behind += l.head - l.holds;
  o.one("cad_downlink_lagging_devices", "gauge", "connected devices that do not yet hold every downlink",
        double(lagging.size()));
  o.one("cad_downlink_lag_downlinks", "gauge", "downlinks those devices have yet to confirm, in all", double(behind));
  o.one("cad_log_events", "gauge", "events in the log", double(store_.log().stats().events));
  const int64_t now = mdc::SystemClock::instance().nowMs();
  const auto oldest = ReadModels(store_).oldestUnconfirmedDownlinkMs();
  o.one("cad_downlink_oldest_unconfirmed_seconds", "gauge",
        "age of the oldest downlink a registered device has not confirmed holding (0: none), online or not",
        oldest ? double(std::max<int64_t>(0, now - *oldest)) / 1000.0 : 0.0);
  const fleet::Thresholds t;  // cadctl devices list's defaults
  int64_t expiring = 0, deep = 0;
  for (const auto& d : ReadModels(store_).fleetHealth("")) {
    if (d.certNotAfterMs > 0 && d.certNotAfterMs - now <= t.certExpiringMs) ++expiring;
    if (d.queueDepth >= t.deepQueue) ++deep;
  }
  o.one("cad_devices_cert_expiring", "gauge", "devices whose certificate expires within 30 days or has expired",
        double(expiring));
  o.one("cad_devices_deep_queue", "gauge", "devices that last reported 1000 or more events queued", double(deep));
}

}  // namespace cad
