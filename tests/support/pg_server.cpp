#include "tests/support/pg_server.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "server-stub/store/postgres.h"
#include "tests/support/temp_dir.h"

namespace mdc::test {

PgServer::PgServer(std::string dir) : dir_(std::move(dir)) {
  std::ifstream in(dir_ + "/pg.env");
  if (!in) throw std::runtime_error("postgresql: no " + dir_ + "/pg.env (is scripts/pg.sh up?)");
  for (std::string line; std::getline(in, line);)
    if (auto eq = line.find('='); eq != std::string::npos) {
      std::string value = line.substr(eq + 1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      env_[line.substr(0, eq)] = value;
    }
  if (!env_.count("PG_PRIMARY_PORT"))
    throw std::runtime_error("postgresql: " + dir_ + "/pg.env names no PG_PRIMARY_PORT");
}

PgServer PgServer::ofTestGroup() {
  return PgServer(env("MDC_TEST_STORE_PG"));
}

std::string PgServer::uri(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + env_.at("PG_PRIMARY_PORT") + "/" + database;
}

std::string PgServer::freshDatabase() {
  // Unique across the group's test processes (they run in parallel).
  static std::atomic<int> counter{0};
  const std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  sql::PgDb admin(uri("postgres"));
  admin.exec("CREATE DATABASE " + name + " TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'");
  return uri(name);
}

bool storesOnPostgres() {
  const char* v = std::getenv("MDC_TEST_STORE_PG");
  return v && *v;
}

std::string storeTarget(const TempDir& dir, const std::string& name) {
  if (!storesOnPostgres()) return dir.file(name);
  static std::map<std::string, std::string> made;  // dir/name -> URI
  static PgServer server = PgServer::ofTestGroup();
  auto [it, fresh] = made.try_emplace(dir.file(name));
  if (fresh) it->second = server.freshDatabase();
  return it->second;
}

}  // namespace mdc::test
