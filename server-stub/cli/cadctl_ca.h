#pragma once
// cadctl's fleet CA and broker files (no stub needed): `ca init|sign|revoke`
// and `broker-config`.
#include <string>
#include <vector>

#include "server-stub/cli/cadctl_command.h"
#include "shared/infra/pki.h"

namespace cad::cli {

/** The fleet CA's directory: --ca-dir, else <db>.ca. */
std::string caDirOf(const Invocation& inv);
/** Prints what a revocation did, and what the operator must do next. */
void printRevoked(const mdc::pki::FleetCa& ca, const std::vector<std::string>& serials);
/** `ca init [--name NAME] [--days N]`, `ca sign CSR [--out CERT] [--days N] [--reenrol]`, `ca revoke DEVICE|SERIAL`. */
int caCommand(Invocation& inv);
/** `broker-config --out FILE [--port N] [--bind ADDR] [--log FILE] [--fleet DEVICES]`. */
int brokerConfigCommand(Invocation& inv);

}  // namespace cad::cli
