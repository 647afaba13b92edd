#pragma once
// Enrolment over the network, the device's side: the first certificate with a
// technician's token (mdc-provision enroll --server --token), and its renewal
// before it expires (the agent), each with a new key made on this device.
#include <ostream>
#include <string>

#include "agent/config.h"
#include "agent/provision.h"
#include "shared/wire/error.h"
#include "shared/infra/pki.h"

namespace mdc::agent {

/** Enrols this device with a single-use token: makes the key here, proves
 *  the server (the CA's proof by the token, or explicitCa when given), sends
 *  the CSR, receives the certificate, the CA and the configuration (unit,
 *  agency, broker), checks them, and writes the identity and the agent's
 *  config into files. base supplies the other settings (store, socket...). */
Status enrolWithToken(const provision::DeviceFiles& files, const std::string& server, const std::string& deviceId,
                      const std::string& token, const std::string& explicitCa, const AgentConfig& base,
                      std::ostream& out);

/** Renews cfg's certificate through cfg.enrollServer, authenticated by the
 *  current one: a new key (tls.key + ".next"), the new certificate checked
 *  against the CA, then installed (installRenewal). The current certificate
 *  and key stay in place until the new pair is complete. */
Result<pki::CertInfo> renewCertificate(const AgentConfig& cfg);

/** Completes a renewal interrupted between writing the new key and
 *  certificate and replacing the current ones (or discards an incomplete
 *  one). Returns what it did ("" when nothing was pending). */
Result<std::string> finishPendingRenewal(const std::string& certPath, const std::string& keyPath);

}  // namespace mdc::agent
