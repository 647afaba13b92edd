#pragma once
// The seam between the code that keeps data and the SQL engine under it.
// Callers write one SQL text in the subset SQLite and PostgreSQL share, with
// `?` or `?N` parameters, and use Db, Stmt and Transaction; an engine
// (shared/infra/sqlite.h, server-stub/store/postgres.h) implements them.
// What differs between the engines and cannot be written once is a
// capability of Db: whether other processes write at the same time and the
// locks that order them, sequences, the read horizon of a log, the schema's
// version, and DDL types; code that keeps data asks these, never the engine.
// Thread-safety: a Db and its Stmts belong to one thread; never share them.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mdc::sql {

enum class Engine { sqlite, postgresql };

/** A value's type as the engine returns it. */
enum class Type { null, integer, real, text, blob };

/** What kind of failure, for callers that treat them differently. */
enum class Fault {
  constraint,  ///< a UNIQUE, NOT NULL, CHECK or trigger refusal: the statement's data
  data,        ///< a value of the wrong type, too big, out of range: the statement's data
  full,        ///< the disk is full
  busy,        ///< locked by another writer past the timeout
  connection,  ///< the server went away or could not be reached
  other,       ///< anything else (I/O, corruption, SQL errors)
};

/** A failed call: the kind, the engine's own code (SQLite's extended result
 *  code; 0 for PostgreSQL), PostgreSQL's SQLSTATE ("" for SQLite), and a
 *  message naming what failed. */
class DbError : public std::runtime_error {
 public:
  DbError(Fault fault, int code, std::string sqlstate, const std::string& what)
      : std::runtime_error(what), fault_(fault), code_(code), sqlstate_(std::move(sqlstate)) {}
  Fault fault() const { return fault_; }
  int code() const { return code_; }
  const std::string& sqlstate() const { return sqlstate_; }
  /** Caused by the statement's data (the same statement would fail again). */
  bool isDataError() const { return fault_ == Fault::constraint || fault_ == Fault::data; }

 private:
  Fault fault_;
  int code_;
  std::string sqlstate_;
};

/** A sequence of numbers drawn for a table's column: on PostgreSQL the
 *  sequence `name` (the column's own identity when name is empty); on an
 *  engine without sequences, the column's highest value onwards. */
struct Sequence {
  std::string_view name;
  std::string_view table;
  std::string_view column;
};

/** One SQL text per engine, for what cannot be written once (triggers,
 *  statements only one engine needs: "" where it needs none). */
struct PerEngine {
  std::string_view sqlite;
  std::string_view postgresql;
};

/** What an engine implements for one prepared statement. */
class StmtImpl {
 public:
  virtual ~StmtImpl() = default;
  virtual void bindInt(int i, int64_t v) = 0;
  virtual void bindReal(int i, double v) = 0;
  virtual void bindText(int i, std::string_view v) = 0;
  virtual void bindBlob(int i, std::string_view v) = 0;
  virtual void bindNull(int i) = 0;
  virtual bool step() = 0;
  virtual void reset() = 0;
  virtual int64_t i64(int col) const = 0;
  virtual double f64(int col) const = 0;
  virtual std::string text(int col) const = 0;
  virtual std::string blob(int col) const = 0;
  virtual Type columnType(int col) const = 0;
  virtual int columnCount() const = 0;
  /** Runs a statement whose rows and change count the caller does not read:
   *  where the engine can (Db::deferWrites), it goes out now and its outcome
   *  is checked at the next statement that waits for the server. */
  virtual void runLater() {
    while (step()) {
    }
  }
};

/** A prepared statement. Bind indexes start at 1, column indexes at 0. */
class Stmt {
 public:
  explicit Stmt(std::unique_ptr<StmtImpl> impl) : impl_(std::move(impl)) {}
  Stmt(Stmt&&) noexcept = default;
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v) {
    impl_->bindInt(i, v);
    return *this;
  }
  Stmt& bind(int i, int v) { return bind(i, int64_t(v)); }
  Stmt& bind(int i, uint64_t v) { return bind(i, int64_t(v)); }
  Stmt& bind(int i, double v) {
    impl_->bindReal(i, v);
    return *this;
  }
  Stmt& bind(int i, std::string_view text) {
    impl_->bindText(i, text);
    return *this;
  }
  Stmt& bind(int i, const char* text) { return bind(i, std::string_view(text)); }
  Stmt& bind(int i, const std::string& text) { return bind(i, std::string_view(text)); }
  Stmt& bindBlob(int i, std::string_view bytes) {
    impl_->bindBlob(i, bytes);
    return *this;
  }
  Stmt& bindNull(int i) {
    impl_->bindNull(i);
    return *this;
  }

  /** Steps once: true when a row is available, false when done; throws DbError. */
  bool step() { return impl_->step(); }
  /** Steps to completion (for statements without rows). */
  void run() {
    while (step()) {
    }
  }
  /** Runs a write whose outcome nobody reads now (no rows, no changes()):
   *  with Db::deferWrites on, a server engine sends it without waiting and
   *  an error in it is thrown by a later statement or the commit. */
  void runLater() { impl_->runLater(); }
  /** Resets for reuse and clears bindings. */
  void reset() { impl_->reset(); }

  int64_t i64(int col) const { return impl_->i64(col); }
  double f64(int col) const { return impl_->f64(col); }
  std::string text(int col) const { return impl_->text(col); }
  std::string blob(int col) const { return impl_->blob(col); }
  bool isNull(int col) const { return impl_->columnType(col) == Type::null; }
  int columnCount() const { return impl_->columnCount(); }
  Type columnType(int col) const { return impl_->columnType(col); }

 private:
  std::unique_ptr<StmtImpl> impl_;
};

/** One open connection to a database. */
class Db {
 public:
  virtual ~Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  virtual Engine engine() const = 0;
  /** Runs one or more statements without parameters or results; throws DbError. */
  virtual void exec(std::string_view sql) = 0;
  /** Compiles one statement; throws DbError naming the statement. */
  virtual Stmt prepare(std::string_view sql) = 0;
  /** Rows changed by the last INSERT, UPDATE or DELETE. */
  virtual int changes() const = 0;
  /** The file, or the server URI without its password: for messages. */
  virtual const std::string& path() const = 0;
  /** A server connection that was lost is made again here (at most every
   *  half second; throws DbError Fault::connection while it cannot be).
   *  A file database is always there. */
  virtual void ensureConnected() {}

  /** Starts a write transaction (SQLite: BEGIN IMMEDIATE, which takes the
   *  write lock now). */
  virtual void begin() = 0;
  /** Starts a read-only transaction that sees one snapshot of the database
   *  throughout, whatever commits meanwhile (SQLite: a deferred transaction
   *  in WAL mode; PostgreSQL: REPEATABLE READ). */
  virtual void beginSnapshot() = 0;
  /** Ends one; rollback never throws. */
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  /** Whether Stmt::runLater may send without waiting (a server engine: the
   *  round trips of a batch's writes overlap); until the transaction ends.
   *  Turning it off waits for what is in flight and throws its error; off,
   *  every statement's error is thrown by that statement. */
  virtual void deferWrites(bool on) { (void)on; }

  // ---- capabilities: what the engines do differently

  /** Other processes may write this database at the same time (a server):
   *  what must happen in one order is ordered with lockUntilCommit, and what
   *  was read in an earlier transaction may be stale. A file database has
   *  one writer at a time. */
  virtual bool sharedByWriters() const = 0;
  /** Holds the lock named by key until the transaction ends (PostgreSQL: an
   *  advisory transaction lock); nothing where there is one writer. Throws DbError. */
  virtual void lockUntilCommit(int64_t key) = 0;
  /** The next n numbers of a sequence, smallest first. A number drawn is
   *  never drawn again by another writer; one drawn and not used is a gap
   *  (with one writer: the numbers follow the highest in the table, as it
   *  is in this transaction). Throws DbError. */
  virtual std::vector<int64_t> drawSequence(const Sequence& seq, int n) = 0;
  /** After rows were written with their numbers as they are (a replay): the
   *  sequence continues after the highest. Nothing without sequences. */
  virtual void syncSequence(const Sequence& seq) = 0;
  /** A condition on a transaction-id column that keeps only the rows of
   *  transactions older than every one still running, so that a reader
   *  following a log by (transaction, position) never passes a commit that
   *  is still to come; "" where transactions commit in the order of their
   *  ids (one writer). */
  virtual std::string settledBefore(std::string_view txColumn) const = 0;
  /** The version the schema says it is (0: no schema yet), and setting it
   *  (SQLite: user_version; PostgreSQL: the schema's one-row store_meta table). */
  virtual int64_t schemaVersion() = 0;
  virtual void setSchemaVersion(int64_t version) = 0;
  /** A schema text written in SQLite's types, in this engine's types. */
  virtual std::string ddl(std::string_view sqliteText) const = 0;
  /** This engine's text of the two. */
  virtual std::string_view pick(const PerEngine& texts) const = 0;

  /** Runs a query that returns one integer (0 without a row). */
  int64_t queryInt(std::string_view sql) {
    Stmt st = prepare(sql);
    return st.step() ? st.i64(0) : 0;
  }
  /** Runs a query that returns one text value ("" without a row). */
  std::string queryText(std::string_view sql) {
    Stmt st = prepare(sql);
    return st.step() ? st.text(0) : std::string();
  }

 protected:
  Db() = default;
};

/** begin() on construction (beginSnapshot() for a Snapshot); rollback() in
 *  the destructor unless committed. */
class Transaction {
 public:
  enum class Kind { write, snapshot };
  explicit Transaction(Db& db, Kind kind = Kind::write) : db_(db) {
    if (kind == Kind::write) db_.begin();
    else db_.beginSnapshot();
  }
  ~Transaction() {
    if (!done_) db_.rollback();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  /** Commits; throws DbError (the transaction is then rolled back). */
  void commit() {
    db_.commit();
    done_ = true;
  }

 private:
  Db& db_;
  bool done_ = false;
};

}  // namespace mdc::sql
