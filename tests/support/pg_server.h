#pragma once
// The PostgreSQL server a test group shares: started once by
// `scripts/pg.sh up --fast` (a CTest fixture) in $MDC_TEST_STORE_PG, stopped
// by `scripts/pg.sh down` after the group. Each test takes databases of its own.
#include <map>
#include <string>

namespace mdc::test {

class PgServer {
 public:
  /** Reads <dir>/pg.env; throws std::runtime_error when the server is not up. */
  explicit PgServer(std::string dir);
  /** The server of this test group ($MDC_TEST_STORE_PG). */
  static PgServer ofTestGroup();

  /** A new, empty database: its postgresql:// URI. */
  std::string freshDatabase();
  /** The superuser's URI of database name. */
  std::string uri(const std::string& database) const;
  /** The store "cad" that scripts/pg.sh made, as its owner (cad_owner) and
   *  as the stub's role (cad_stub). */
  std::string ownerUri() const { return env_.at("PG_OWNER_URI"); }
  std::string stubUri() const { return env_.at("MDC_PG_URI"); }
  /** The standby's port (scripts/pg.sh up --standby). */
  int standbyPort() const { return std::stoi(env_.at("PG_STANDBY_PORT")); }

 private:
  std::string dir_;
  std::map<std::string, std::string> env_;
};

class TempDir;

/** Where a test's event store named name lives: the file dir/name, or, when
 *  $MDC_TEST_STORE_PG names a test group's PostgreSQL (the store tests' second
 *  run, tests/unit/stub/CMakeLists.txt), a database of its own made on first
 *  use; the same (dir, name) gives the same store again. */
std::string storeTarget(const TempDir& dir, const std::string& name = "cad.db");
/** Whether this run puts its stores on PostgreSQL. */
bool storesOnPostgres();

}  // namespace mdc::test
