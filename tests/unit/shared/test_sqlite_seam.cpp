// The SQLite engine of the SQL seam: the position sequence a writer draws.
#include <catch2/catch.hpp>

#include "shared/infra/sqlite.h"
#include "tests/support/temp_dir.h"

using mdc::sql::Sequence;
using mdc::sql::SqliteDb;
using mdc::sql::Transaction;

namespace {

constexpr Sequence kPositions{"events_pos_seq", "events", "pos"};

void insert(SqliteDb& db, int64_t pos) {
  db.prepare("INSERT INTO events(pos) VALUES(?)").bind(1, pos).run();
}

}  // namespace

TEST_CASE("a SQLite sequence continues after the highest number written, block after block") {
  mdc::test::TempDir dir;
  SqliteDb db(dir.file("seq.db"));
  db.exec("CREATE TABLE events(pos INTEGER PRIMARY KEY)");

  Transaction tx(db);
  CHECK(db.drawSequence(kPositions, 3) == std::vector<int64_t>{1, 2, 3});
  for (int64_t p : {1, 2, 3}) insert(db, p);
  // Drawn again in the same transaction, after what it wrote.
  CHECK(db.drawSequence(kPositions, 1) == std::vector<int64_t>{4});
  CHECK(db.drawSequence(kPositions, 0) == std::vector<int64_t>{4});  // at least one
  insert(db, 10);
  CHECK(db.drawSequence(kPositions, 2) == std::vector<int64_t>{11, 12});
  tx.commit();

  // What a rolled-back transaction wrote is drawn again: no gap on SQLite.
  {
    Transaction rolledBack(db);
    insert(db, 11);
    CHECK(db.drawSequence(kPositions, 1) == std::vector<int64_t>{12});
  }
  Transaction again(db);
  CHECK(db.drawSequence(kPositions, 1) == std::vector<int64_t>{11});
}
