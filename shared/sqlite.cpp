#include "shared/sqlite.h"

namespace mdc::sql {

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
}  // namespace

Db::Db(const std::string& path, bool create, bool readOnly) : path_(path) {
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

Db::~Db() { sqlite3_close_v2(db_); }

void Db::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = "sqlite: " + path_ + ": " + (err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    throw SqliteError(sqlite3_extended_errcode(db_), msg);
  }
}

Stmt Db::prepare(std::string_view sql) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), int(sql.size()), SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) raise(db_, rc, "sqlite: prepare \"" + std::string(sql.substr(0, 80)) + "\"");
  return Stmt(*this, st);
}

int64_t Db::queryInt(std::string_view sql) {
  Stmt st = prepare(sql);
  if (!st.step()) return 0;
  return st.i64(0);
}

std::string Db::queryText(std::string_view sql) {
  Stmt st = prepare(sql);
  if (!st.step()) return {};
  return st.text(0);
}

int64_t Db::lastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
int Db::changes() const { return sqlite3_changes(db_); }

Stmt::~Stmt() { sqlite3_finalize(st_); }

#define MDC_BIND(call)                                              \
  do {                                                              \
    int rc_ = (call);                                               \
    if (rc_ != SQLITE_OK) raise(db_->handle(), rc_, "sqlite: bind"); \
  } while (0)

Stmt& Stmt::bind(int i, int64_t v) { MDC_BIND(sqlite3_bind_int64(st_, i, v)); return *this; }
Stmt& Stmt::bind(int i, double v) { MDC_BIND(sqlite3_bind_double(st_, i, v)); return *this; }
Stmt& Stmt::bind(int i, std::string_view t) {
  MDC_BIND(sqlite3_bind_text(st_, i, t.data(), int(t.size()), SQLITE_TRANSIENT));
  return *this;
}
Stmt& Stmt::bindBlob(int i, std::string_view b) {
  MDC_BIND(sqlite3_bind_blob(st_, i, b.data(), int(b.size()), SQLITE_TRANSIENT));
  return *this;
}
Stmt& Stmt::bindNull(int i) { MDC_BIND(sqlite3_bind_null(st_, i)); return *this; }

bool Stmt::step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string ctx = std::string("sqlite: step \"") + std::string(sqlite3_sql(st_)).substr(0, 80) + "\"";
  sqlite3_reset(st_);
  raise(db_->handle(), rc, ctx);
}

void Stmt::run() {
  while (step()) {
  }
}

void Stmt::reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

int64_t Stmt::i64(int c) const { return sqlite3_column_int64(st_, c); }
double Stmt::f64(int c) const { return sqlite3_column_double(st_, c); }
std::string Stmt::text(int c) const {
  const unsigned char* p = sqlite3_column_text(st_, c);
  int n = sqlite3_column_bytes(st_, c);
  return p ? std::string(reinterpret_cast<const char*>(p), size_t(n)) : std::string();
}
std::string Stmt::blob(int c) const {
  const void* p = sqlite3_column_blob(st_, c);
  int n = sqlite3_column_bytes(st_, c);
  return p ? std::string(static_cast<const char*>(p), size_t(n)) : std::string();
}
bool Stmt::isNull(int c) const { return sqlite3_column_type(st_, c) == SQLITE_NULL; }

Transaction::Transaction(Db& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace mdc::sql
