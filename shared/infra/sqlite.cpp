#include "shared/infra/sqlite.h"

#include <algorithm>

namespace mdc::sql {

namespace {
Fault faultOf(int code) {
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT:
      return Fault::constraint;
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return Fault::data;
    case SQLITE_FULL:
      return Fault::full;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Fault::busy;
    default:
      return Fault::other;
  }
}
}  // namespace

SqliteError::SqliteError(int code, const std::string& what) : DbError(faultOf(code), code, "", what) {}

namespace {
[[noreturn]] void raise(sqlite3* db, int rc, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (code " + std::to_string(rc) + ")";
  throw SqliteError(db ? sqlite3_extended_errcode(db) : rc, msg);
}
/** Before the first connection: no allocation statistics. With them on (the
 *  default) every allocation SQLite makes takes one process-wide mutex, which
 *  cost the stub's ingest about 6 % of its time; nothing here reads them. */
void configureOnce() {
  static const bool done = [] {
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);  // SQLITE_MISUSE if already initialised: harmless
    return true;
  }();
  (void)done;
}

class SqliteStmt final : public StmtImpl {
 public:
  SqliteStmt(SqliteDb& db, sqlite3_stmt* st) : db_(db), st_(st) {}
  ~SqliteStmt() override { sqlite3_finalize(st_); }

  void bindInt(int i, int64_t v) override { check(sqlite3_bind_int64(st_, i, v)); }
  void bindReal(int i, double v) override { check(sqlite3_bind_double(st_, i, v)); }
  void bindText(int i, std::string_view t) override {
    check(sqlite3_bind_text(st_, i, t.data(), int(t.size()), SQLITE_TRANSIENT));
  }
  void bindBlob(int i, std::string_view b) override {
    check(sqlite3_bind_blob(st_, i, b.data(), int(b.size()), SQLITE_TRANSIENT));
  }
  void bindNull(int i) override { check(sqlite3_bind_null(st_, i)); }

  bool step() override {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    std::string ctx = std::string("sqlite: step \"") + std::string(sqlite3_sql(st_)).substr(0, 80) + "\"";
    sqlite3_reset(st_);
    raise(db_.handle(), rc, ctx);
  }
  void reset() override {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }

  int64_t i64(int c) const override { return sqlite3_column_int64(st_, c); }
  double f64(int c) const override { return sqlite3_column_double(st_, c); }
  std::string text(int c) const override {
    const unsigned char* p = sqlite3_column_text(st_, c);
    int n = sqlite3_column_bytes(st_, c);
    return p ? std::string(reinterpret_cast<const char*>(p), size_t(n)) : std::string();
  }
  std::string blob(int c) const override {
    const void* p = sqlite3_column_blob(st_, c);
    int n = sqlite3_column_bytes(st_, c);
    return p ? std::string(static_cast<const char*>(p), size_t(n)) : std::string();
  }
  Type columnType(int c) const override {
    switch (sqlite3_column_type(st_, c)) {
      case SQLITE_NULL:
        return Type::null;
      case SQLITE_INTEGER:
        return Type::integer;
      case SQLITE_FLOAT:
        return Type::real;
      case SQLITE_TEXT:
        return Type::text;
      default:
        return Type::blob;
    }
  }
  int columnCount() const override { return sqlite3_column_count(st_); }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) raise(db_.handle(), rc, "sqlite: bind");
  }
  SqliteDb& db_;
  sqlite3_stmt* st_;
};

}  // namespace

SqliteDb::SqliteDb(const std::string& path, bool create, bool readOnly) : path_(path) {
  configureOnce();
  int flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0));
  flags |= SQLITE_OPEN_NOMUTEX;  // one thread per connection (see header)
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "sqlite: open \"" + path + "\": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    int code = db_ ? sqlite3_extended_errcode(db_) : rc;
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw SqliteError(code, msg);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
}

SqliteDb::~SqliteDb() {
  drawStatements_.clear();  // finalized before the connection closes
  sqlite3_close_v2(db_);
}

void SqliteDb::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = "sqlite: " + path_ + ": " + (err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    throw SqliteError(sqlite3_extended_errcode(db_), msg);
  }
}

Stmt SqliteDb::prepare(std::string_view sql) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), int(sql.size()), SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) raise(db_, rc, "sqlite: prepare \"" + std::string(sql.substr(0, 80)) + "\"");
  return Stmt(std::make_unique<SqliteStmt>(*this, st));
}

int64_t SqliteDb::lastInsertRowid() const {
  return sqlite3_last_insert_rowid(db_);
}
int SqliteDb::changes() const {
  return sqlite3_changes(db_);
}

void SqliteDb::rollback() noexcept {
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

std::vector<int64_t> SqliteDb::drawSequence(const Sequence& seq, int n) {
  // One writer at a time (BEGIN IMMEDIATE): the next number is the highest
  // written plus one, a seek to the end of the column's index. Its statement
  // is prepared once per sequence, as transactions draw often.
  auto it = drawStatements_.find(seq.name);
  if (it == drawStatements_.end())
    it = drawStatements_
             .emplace(std::string(seq.name), prepare("SELECT COALESCE(MAX(" + std::string(seq.column) + "), 0) + 1 FROM " +
                                                     std::string(seq.table)))
             .first;
  Stmt& next = it->second;
  const int64_t first = next.step() ? next.i64(0) : 1;
  next.reset();
  std::vector<int64_t> numbers(size_t(std::max(1, n)));
  for (size_t i = 0; i < numbers.size(); ++i) numbers[i] = first + int64_t(i);
  return numbers;
}

int64_t SqliteDb::schemaVersion() { return queryInt("PRAGMA user_version"); }

void SqliteDb::setSchemaVersion(int64_t version) { exec("PRAGMA user_version=" + std::to_string(version)); }

}  // namespace mdc::sql
