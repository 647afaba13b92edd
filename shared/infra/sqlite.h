#pragma once
// The SQLite engine of the SQL seam (shared/sql.h): a thin RAII layer over
// SQLite's C API. Errors become SqliteError, which keeps SQLite's extended
// result code and message. Thread-safety: a SqliteDb and its Stmts belong to
// one thread; never share them.
#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "shared/infra/sql.h"

namespace mdc::sql {

/** A failed SQLite call: the (extended) result code and SQLite's message. */
class SqliteError : public DbError {
 public:
  SqliteError(int code, const std::string& what);
  /** The primary result code (SQLITE_FULL, SQLITE_CORRUPT, ...). */
  int primary() const { return code() & 0xff; }
};

/** One open SQLite database file. */
class SqliteDb final : public Db {
 public:
  /** Opens (creating when create is true) the file at path; throws SqliteError naming the path. */
  explicit SqliteDb(const std::string& path, bool create = true, bool readOnly = false);
  ~SqliteDb() override;

  Engine engine() const override { return Engine::sqlite; }
  void exec(std::string_view sql) override;
  Stmt prepare(std::string_view sql) override;
  int changes() const override;
  const std::string& path() const override { return path_; }
  void begin() override { exec("BEGIN IMMEDIATE"); }
  void beginSnapshot() override { exec("BEGIN DEFERRED"); }
  void commit() override { exec("COMMIT"); }
  void rollback() noexcept override;

  bool sharedByWriters() const override { return false; }
  void lockUntilCommit(int64_t) override {}
  std::vector<int64_t> drawSequence(const Sequence& seq, int n) override;
  void syncSequence(const Sequence&) override {}
  std::string settledBefore(std::string_view) const override { return {}; }
  int64_t schemaVersion() override;
  void setSchemaVersion(int64_t version) override;
  std::string ddl(std::string_view sqliteText) const override { return std::string(sqliteText); }
  std::string_view pick(const PerEngine& texts) const override { return texts.sqlite; }

  int64_t lastInsertRowid() const;
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  std::map<std::string, Stmt, std::less<>> drawStatements_;  ///< per sequence: its next number, prepared once
};

}  // namespace mdc::sql
