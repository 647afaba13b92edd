// WAL checkpoints off the commit path, on a real SQLite file: while a
// WalCheckpointer runs, the writer's commits never checkpoint (the automatic
// checkpoint is off), the checkpointer copies the WAL into the database on
// its own thread, and the writer's setting comes back when it stops.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "shared/infra/sqlite.h"
#include "server-stub/store/wal_checkpointer.h"
#include "tests/support/temp_dir.h"

using namespace std::chrono_literals;
using mdc::test::TempDir;

namespace {

void fill(mdc::sql::Db& db, int rows, int from) {
  db.exec("BEGIN");
  auto st = db.prepare("INSERT INTO t(id, body) VALUES(?, ?)");
  for (int i = 0; i < rows; ++i) {
    st.bind(1, from + i).bind(2, std::string(1000, char('a' + i % 26))).run();
    st.reset();
  }
  db.exec("COMMIT");
}

}  // namespace

TEST_CASE("wal checkpointer: the writer never checkpoints, the checkpointer's thread does", "[sqlite][wal]") {
  TempDir dir;
  const std::string path = dir.file("w.db");
  mdc::sql::SqliteDb writer(path);
  writer.exec("PRAGMA journal_mode=WAL");
  writer.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)");
  {
    mdc::sql::WalCheckpointer cp(writer, 50ms);
    CHECK(writer.queryInt("PRAGMA wal_autocheckpoint") == 0);
    // 8 MB in 1,000-row commits: well past SQLite's automatic 1,000 pages.
    for (int k = 0; k < 8; ++k) fill(writer, 1000, k * 1000);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (cp.pagesCopied() < 1900 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    CHECK(cp.checkpoints() >= 1);
    CHECK(cp.pagesCopied() >= 1900);                       // 8 MB of 4 KiB pages...
    CHECK(cp.pagesCopied() <= 2100);                       // ...each counted once
    CHECK(std::filesystem::file_size(path) >= 8'000'000);  // in the database file itself, not only the WAL
  }
  CHECK(writer.queryInt("PRAGMA wal_autocheckpoint") == 1000);
  CHECK(writer.queryInt("SELECT COUNT(*) FROM t") == 8000);
}

TEST_CASE("wal checkpointer: a file that is not there is an error naming it", "[sqlite][wal]") {
  TempDir dir;
  mdc::sql::SqliteDb writer(dir.file("w.db"));
  std::filesystem::remove(dir.file("w.db"));
  CHECK_THROWS_WITH(mdc::sql::WalCheckpointer(writer, 50ms), Catch::Contains(dir.file("w.db")));
}
