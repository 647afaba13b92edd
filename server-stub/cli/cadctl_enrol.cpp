#include "server-stub/store/read_models.h"
#include "server-stub/cli/cadctl_enrol.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <cstdio>
#include <iostream>

#include "server-stub/cli/cadctl_print.h"
#include "shared/wire/clock.h"
#include "shared/infra/enrol.h"

namespace cad::cli {

std::optional<int64_t> parseDuration(const std::string& text) {
  if (text.size() < 2 || text.size() > 8) return std::nullopt;
  const char unit = text.back();
  const std::string digits = text.substr(0, text.size() - 1);
  if ((unit != 'm' && unit != 'h' && unit != 'd') || digits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(digits) * (unit == 'm' ? 60 : unit == 'h' ? 3600 : 86400);
}

std::optional<TokenRequest> enrolTokenRequest(ControlRequest base, const std::string& device, const std::string& unit,
                                              const std::string& ttl) {
  auto seconds = parseDuration(ttl);
  if (!seconds || *seconds < 600 || *seconds > 30 * 86400) {
    std::cerr << "cadctl: enroll-token create: --ttl \"" << ttl << "\": a time such as 90m, 2h or 7d, from 10m to 30d\n";
    return std::nullopt;
  }
  TokenRequest t;
  t.token = mdc::enrol::newToken();
  cad::control::EnrollToken& r = *base.mutable_enroll_token();
  r.set_device(device);
  r.set_unit(unit);
  r.set_token_sha256(mdc::enrol::tokenHash(*mdc::enrol::normalizeToken(t.token)));
  r.set_ttl_s(*seconds);
  t.request = base;
  return t;
}

void printToken(const TokenRequest& t, const std::string& device) {
  std::cout << "token " << t.token << "\n"
            << "at the vehicle: mdc-provision enroll --server https://CAD-HOST:PORT --device-id " << device
            << " --token " << t.token << "\n";
}

int enrolTokenList(EventStore& s, const std::string& agency, bool json) {
  const int64_t now = mdc::SystemClock::instance().nowMs();
  auto state = [&](const EnrolToken& t) -> std::string {
    if (t.usedAtMs > 0) return "used " + mdc::formatIsoUtc(t.usedAtMs) + " serial " + t.usedSerial;
    if (t.failures >= kEnrolMaxFailures) return "locked (" + std::to_string(t.failures) + " wrong tokens)";
    if (t.expiresAtMs <= now) return "expired";
    return "open" + (t.failures > 0 ? " (" + std::to_string(t.failures) + " wrong tokens)" : std::string());
  };
  const auto tokens = ReadModels(s).enrolTokens(agency);
  if (json) {
    QJsonArray arr;
    for (const auto& t : tokens)
      arr.append(QJsonObject{{"device", QString::fromStdString(t.deviceId)},
                             {"unit", QString::fromStdString(t.unitId)},
                             {"agency", QString::fromStdString(t.agency)},
                             {"token_sha256", QString::fromStdString(t.tokenHash)},
                             {"created_by", QString::fromStdString(t.createdBy)},
                             {"created_at_ms", qint64(t.createdAtMs)},
                             {"expires_at_ms", qint64(t.expiresAtMs)},
                             {"used_at_ms", qint64(t.usedAtMs)},
                             {"used_serial", QString::fromStdString(t.usedSerial)},
                             {"failures", t.failures},
                             {"state", QString::fromStdString(state(t))}});
    printJson(arr);
    return 0;
  }
  std::printf("%-14s %-8s %-6s %-20s %-24s %-24s %s\n", "DEVICE", "UNIT", "AGENCY", "BY", "CREATED", "EXPIRES",
              "STATE");
  for (const auto& t : tokens)
    std::printf("%-14s %-8s %-6s %-20s %-24s %-24s %s\n", t.deviceId.c_str(), t.unitId.c_str(), t.agency.c_str(),
                t.createdBy.c_str(), mdc::formatIsoUtc(t.createdAtMs).c_str(), mdc::formatIsoUtc(t.expiresAtMs).c_str(),
                state(t).c_str());
  std::printf("%zu tokens (only their SHA-256 is stored)\n", tokens.size());
  return 0;
}

int enrolTokenCommand(Invocation& inv) {
  const Args& a = inv.a;
  if (a.pos.size() >= 2 && a.pos[1] == "create") {
    if (inv.agency.empty()) return usage("enroll-token create: --agency (or $CAD_AGENCY) is required");
    if (a.pos.size() != 3) return usage("enroll-token create DEVICE [--unit UNIT] [--ttl 2h]");
    auto t = enrolTokenRequest(inv.request(), a.pos[2], inv.opt("--unit"), inv.opt("--ttl", "2h"));
    if (!t) return kUsage;
    if (int rc = control(inv.control, t->request); rc != kOk) return rc;
    printToken(*t, a.pos[2]);
    return kOk;
  }
  return withStore(inv, [&](EventStore& s) {
    if (a.pos.size() != 2 || a.pos[1] != "list") return usage("enroll-token create DEVICE ... | enroll-token list");
    return enrolTokenList(s, inv.agency, inv.json);
  });
}

}  // namespace cad::cli
