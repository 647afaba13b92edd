#pragma once
// Each test works in its own directory, so tests run in parallel (ctest -j).
#include <string>

namespace mdc::test {

/** A fresh directory under $TMPDIR (mode 0755 so a broker that dropped to its
 *  own user can read generated configs), removed with everything in it on
 *  destruction unless MDC_KEEP_TMP is set. Not thread-safe. */
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "mdc-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /** path() + "/" + name */
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/** Reads an environment variable set by CTest (see tests/CMakeLists.txt); throws when missing. */
std::string env(const char* name);

}  // namespace mdc::test
