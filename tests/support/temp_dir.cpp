#include "tests/support/temp_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace mdc::test {

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("TempDir: mkdtemp \"" + tmpl + "\" failed");
  path_ = buf.data();
  ::chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
  if (std::getenv("MDC_KEEP_TMP")) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (v && *v) return v;
  // CTest cannot hand a list of variables through catch_discover_tests; the
  // build's own paths are compiled in, and the environment overrides them.
  const std::string n = name;
  if (n == "MDC_SOURCE_DIR") return MDC_SOURCE_DIR_DEFAULT;
  if (n == "MDC_BINARY_DIR") return MDC_BINARY_DIR_DEFAULT;
  if (n == "MDC_TEST_DATA_DIR") return std::string(MDC_SOURCE_DIR_DEFAULT) + "/tests/data";
  if (n == "MDC_GPS_DATA_DIR") return MDC_GPS_DATA_DIR_DEFAULT;
  if (n == "MDC_TEST_CLUSTER_DIR") return std::string(MDC_BINARY_DIR_DEFAULT) + "/cluster-test";
  if (n == "MDC_TEST_STORE_PG") return std::string(MDC_BINARY_DIR_DEFAULT) + "/pg-test";
  throw std::runtime_error(std::string("test environment: ") + name + " is not set");
}

}  // namespace mdc::test
