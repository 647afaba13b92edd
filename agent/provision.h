#pragma once
// The fleet technician's operations on a device (mdc-provision): enrol (device
// key generated here, CSR out), install the signed certificate and write the
// agent's config, show the identity, self-test, wipe. Thread-safety: free
// functions, one caller at a time per device directory.
#include <iosfwd>
#include <string>
#include <vector>

#include "agent/config.h"
#include "shared/wire/error.h"
#include "shared/infra/pki.h"

namespace mdc::provision {

/** Where a device keeps its identity: dir/device.key (0600), dir/device.csr,
 *  dir/device.pem, dir/ca.pem and the agent's config (dir/agent.json unless
 *  configPath says otherwise). */
struct DeviceFiles {
  std::string dir = "/etc/mdc";
  std::string configPath;  ///< empty: dir/agent.json
  std::string config() const { return configPath.empty() ? dir + "/agent.json" : configPath; }
  std::string pending() const { return config() + ".pending"; }
  std::string key() const { return dir + "/device.key"; }
  std::string csr() const { return dir + "/device.csr"; }
  std::string cert() const { return dir + "/device.pem"; }
  std::string ca() const { return dir + "/ca.pem"; }
};

/** Run as root in a directory owned by another user (the package's /etc/mdc,
 *  owned by mdc), gives the identity files that user: the agent reads its key. */
void handToDirOwner(const DeviceFiles& files);

/** Whether anything (file, directory, link) exists at path. */
bool pathExists(const std::string& path);

/** The agent's config read from path; when there is none, the error says to
 *  enrol (mdc-provision enroll, then install-cert). */
Result<agent::AgentConfig> loadDeviceConfig(const std::string& path);

/** Generates the device key (EC P-256, 0600, never leaves the device) and a CSR
 *  with CN = cfg.deviceId, and keeps cfg as the pending config until
 *  installCert. cfg must name device_id, agency and broker. */
Status enroll(const DeviceFiles& files, const agent::AgentConfig& cfg, std::ostream& out);

/** Installs the signed certificate and its CA chain after checking that the
 *  certificate is for this device's key and CN and chains to the CA, then writes
 *  the agent's config atomically (tls.* pointing at the installed files). */
Status installCert(const DeviceFiles& files, const std::string& certPath, const std::string& chainPath,
                   std::ostream& out);

/** Prints identity, unit, agency, certificate subject/issuer/expiry and broker. */
Status show(const DeviceFiles& files, std::ostream& out);

/** Removes key, CSR, certificate, CA, config and the store (with its WAL and
 *  at-rest key). Refuses, removing nothing, while the outbox holds unsent
 *  events unless force; the error says how many would be lost. */
Status wipe(const DeviceFiles& files, bool force, std::ostream& out);

enum class Level { Pass, Warn, Fail };
const char* levelName(Level l);

/** One line of the self-test: what was checked, the verdict, and a detail a
 *  technician can act on. */
struct Check {
  std::string name;
  Level level = Level::Pass;
  std::string detail;
};

struct SelfTestOptions {
  int64_t minFreeMb = 64;   ///< free space below this on the store's filesystem is a FAIL
  int timeoutS = 5;         ///< per network check (broker, backend, gpsd)
  std::string crlPath;      ///< optional fleet CRL to check the certificate against
  int certWarnDays = pki::kCertificateWarnDays;  ///< a certificate expiring sooner is a WARN
};

/** Runs every check in order; never throws. Checks that depend on an earlier
 *  one that failed say so instead of repeating its error. */
std::vector<Check> selfTest(const DeviceFiles& files, const SelfTestOptions& options);

/** "PASS  name  detail" lines, then a summary line. */
void printChecks(const std::vector<Check>& checks, std::ostream& out);
/** {"ok": bool, "checks": [{"name", "level", "detail"}]} */
std::string checksJson(const std::vector<Check>& checks);

}  // namespace mdc::provision
