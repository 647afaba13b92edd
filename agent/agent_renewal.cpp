// The device certificate renewed before it expires (tls.renew_margin_days),
// through the enrolment server (tls.enroll_server), authenticated by the
// current certificate, with a new key made here. The current certificate
// keeps the link up until the new pair is installed; the next connection uses
// the new one. A certificate that expired cannot renew itself: the device
// needs a new token, and the agent says so.
#include "agent/agent.h"
#include "agent/enrolment.h"
#include "shared/infra/log.h"
#include "shared/infra/pki.h"

namespace mdc::agent {

void Agent::startRenewalChecks() {
  if (config_.tlsCert.empty() || config_.tlsKey.empty()) return;
  if (auto done = finishPendingRenewal(config_.tlsCert, config_.tlsKey); !done)
    log::error("tls", done.error().message);
  else if (!done->empty())
    log::info("tls", *done);
  if (config_.enrollServer.empty()) return;
  renewTimer_.setInterval(config_.renewCheckS * 1000);
  connect(&renewTimer_, &QTimer::timeout, this, [this] { checkRenewal(); });
  renewTimer_.start();
  QTimer::singleShot(2000, this, [this] { checkRenewal(); });  // once started, not in the way of the first connect
}

void Agent::checkRenewal() {
  if (renewThread_ || certNotAfterMs_ <= 0) return;
  const int64_t now = clock_.nowMs();
  const int64_t marginMs = int64_t(config_.renewMarginDays) * 86'400'000;
  if (certNotAfterMs_ - now > marginMs) return;
  if (certNotAfterMs_ <= now) {
    if (now - expiredLoggedMs_ >= 3'600'000) {
      expiredLoggedMs_ = now;
      log::error("tls", "the device certificate expired at " + formatIsoUtc(certNotAfterMs_) +
                            ": this device missed its renewal window and needs a new token (cadctl enroll-token "
                            "create " + config_.deviceId + "; mdc-provision enroll --server " + config_.enrollServer +
                            " --token ...)");
    }
    return;
  }
  log::info("tls", "the device certificate expires " + formatIsoUtc(certNotAfterMs_) + ", within " +
                       std::to_string(config_.renewMarginDays) + " days: renewing through " + config_.enrollServer);
  const AgentConfig cfg = config_;
  renewThread_ = QThread::create([this, cfg] {
    auto r = renewCertificate(cfg);
    const bool ok = bool(r);
    const std::string detail = ok ? "serial " + r->serialHex + ", valid until " + pki::formatTime(r->notAfter)
                                  : r.error().message;
    QMetaObject::invokeMethod(this, [this, ok, detail] { renewalFinished(ok, detail); }, Qt::QueuedConnection);
  });
  renewThread_->start();
}

void Agent::renewalFinished(bool ok, const std::string& detail) {
  if (renewThread_) {
    renewThread_->wait();
    delete renewThread_;
    renewThread_ = nullptr;
  }
  if (!ok) {
    log::warn("tls", "certificate renewal failed: " + detail + "; the current certificate stays in use, next try in " +
                         std::to_string(config_.renewCheckS) + " s");
    noteError("certificate renewal failed: " + detail);
    return;
  }
  log::info("tls", "certificate renewed: " + detail + "; the next connection uses it");
  readCertificate();
  emit stateChanged();
}

}  // namespace mdc::agent
