#pragma once
// A thin RAII layer over the SQLite C API. Errors become SqliteError, which
// keeps SQLite's code and message. Thread-safety: a Db and its Stmts belong to
// one thread; never share them.
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mdc::sql {

/** A failed SQLite call: the (extended) result code and SQLite's message. */
class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }
  /** The primary result code (SQLITE_FULL, SQLITE_CORRUPT, ...). */
  int primary() const { return code_ & 0xff; }

 private:
  int code_;
};

class Stmt;

/** One open database connection. */
class Db {
 public:
  /** Opens (creating when create is true) the file at path; throws SqliteError naming the path. */
  explicit Db(const std::string& path, bool create = true, bool readOnly = false);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  /** Runs one or more statements without results; throws SqliteError. */
  void exec(std::string_view sql);
  /** Compiles one statement; throws SqliteError naming the statement. */
  Stmt prepare(std::string_view sql);
  /** Runs a query that returns one integer (e.g. PRAGMA user_version). */
  int64_t queryInt(std::string_view sql);
  /** Runs a query that returns one text value. */
  std::string queryText(std::string_view sql);

  int64_t lastInsertRowid() const;
  int changes() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

/** A prepared statement. Bind indexes start at 1, column indexes at 0. */
class Stmt {
 public:
  Stmt(Db& db, sqlite3_stmt* st) : db_(&db), st_(st) {}
  ~Stmt();
  Stmt(Stmt&& o) noexcept : db_(o.db_), st_(o.st_) { o.st_ = nullptr; }
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, int v) { return bind(i, int64_t(v)); }
  Stmt& bind(int i, uint64_t v) { return bind(i, int64_t(v)); }
  Stmt& bind(int i, double v);
  Stmt& bind(int i, std::string_view text);
  Stmt& bind(int i, const char* text) { return bind(i, std::string_view(text)); }
  Stmt& bind(int i, const std::string& text) { return bind(i, std::string_view(text)); }
  Stmt& bindBlob(int i, std::string_view bytes);
  Stmt& bindNull(int i);

  /** Steps once: true when a row is available, false when done; throws on error. */
  bool step();
  /** Steps to completion (for statements without rows). */
  void run();
  /** Resets for reuse and clears bindings. */
  void reset();

  int64_t i64(int col) const;
  double f64(int col) const;
  std::string text(int col) const;
  std::string blob(int col) const;
  bool isNull(int col) const;
  /** Number of result columns, and a column's storage class (SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB, SQLITE_NULL). */
  int columnCount() const { return sqlite3_column_count(st_); }
  int columnType(int col) const { return sqlite3_column_type(st_, col); }

 private:
  Db* db_;
  sqlite3_stmt* st_;
};

/** BEGIN IMMEDIATE on construction; ROLLBACK in the destructor unless committed. */
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  /** COMMIT; throws SqliteError (the transaction is then rolled back). */
  void commit();

 private:
  Db& db_;
  bool done_ = false;
};

}  // namespace mdc::sql
