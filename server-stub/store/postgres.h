#pragma once
// The PostgreSQL engine of the SQL seam (shared/sql.h), over libpq. SQL is
// written as for SQLite: `?` and `?N` become `$N` here. Each statement is
// prepared on the server the first time it runs, with the types of the
// values bound then (integers as bigint, reals as double precision, text as
// text, blobs as bytea), and again for another combination of types.
// Results come back whole, one PGresult per execution.
#include <libpq-fe.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "shared/infra/sql.h"

namespace mdc::sql {

/** Whether target names a PostgreSQL server ("postgresql://" or "postgres://"). */
bool isPostgresUri(std::string_view target);
/** The database a connection URI names, as libpq reads it ("" when it names none or is not one). */
std::string databaseOf(const std::string& uri);
/** The URI with its password replaced by "***", for messages and logs. */
std::string redactUri(const std::string& uri);

class PgDb final : public Db {
 public:
  /** Connects; throws DbError (Fault::connection) naming the URI without its password. */
  explicit PgDb(const std::string& uri);
  /** The URI may name several hosts (host1:port1,host2:port2) with
   *  target_session_attrs=read-write: a connection made again after a
   *  failover finds the new primary. */
  ~PgDb() override;

  Engine engine() const override { return Engine::postgresql; }
  void exec(std::string_view sql) override;
  Stmt prepare(std::string_view sql) override;
  int changes() const override { return changes_; }
  const std::string& path() const override { return shown_; }
  void begin() override { exec("BEGIN"); }
  void beginSnapshot() override { exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); }
  void commit() override;
  void rollback() noexcept override;
  /** Pipeline mode (libpq, PostgreSQL 14+): Stmt::runLater sends its
   *  statement without waiting; the results are read at the next statement
   *  that waits, at the commit, or after kMaxInFlight statements. */
  void deferWrites(bool on) override {
    if (!on) settle();
    deferring_ = on;
  }
  bool deferring() const { return deferring_; }

  bool sharedByWriters() const override { return true; }
  void lockUntilCommit(int64_t key) override;
  std::vector<int64_t> drawSequence(const Sequence& seq, int n) override;
  void syncSequence(const Sequence& seq) override;
  std::string settledBefore(std::string_view txColumn) const override;
  int64_t schemaVersion() override;
  void setSchemaVersion(int64_t version) override;
  std::string ddl(std::string_view sqliteText) const override;
  std::string_view pick(const PerEngine& texts) const override { return texts.postgresql; }

  void ensureConnected() override;
  /** How many times the connection was made again: a statement prepared
   *  before belongs to a connection since lost, and is prepared again. */
  uint64_t reconnects() const { return reconnects_; }

  PGconn* handle() const { return conn_; }
  /** For the statements: a new server-side statement name, the change count
   *  of the last command, and names to deallocate once the transaction ends. */
  std::string nextName() { return "mdc" + std::to_string(++names_); }
  void setChanges(int n) { changes_ = n; }
  void deallocateLater(std::string name) { stale_.push_back(std::move(name)); }
  /** Throws DbError for a result that is not a success, naming context. */
  void check(PGresult* res, std::string_view context);
  /** Sends a prepared statement in the pipeline (entered on the first);
   *  context names it if it fails. */
  void sendLater(const std::string& name, int n, const char* const* values, const int* lengths,
                 const int* formats, const std::string& context);
  /** Reads the results of what sendLater sent and leaves the pipeline;
   *  throws the first statement's error (the transaction is then aborted). */
  void settle();
  /** How many statements went out in a pipeline. */
  uint64_t deferredStatements() const { return deferred_; }

  /** Statements in flight before the pipeline is read: their results stay
   *  well inside the socket's buffers, so neither side waits on the other. */
  static constexpr size_t kMaxInFlight = 1000;

 private:
  void deallocateStale() noexcept;
  /** A statement of this class's own, prepared once (kept by its text). */
  Stmt& statement(const std::string& sql);
  PGconn* conn_ = nullptr;
  std::string shown_;
  int changes_ = 0;
  uint64_t names_ = 0;
  uint64_t reconnects_ = 0;
  int64_t nextAttemptMs_ = 0;  ///< steady clock: no reconnect attempt before
  std::vector<std::string> stale_;
  bool deferring_ = false;
  bool piped_ = false;                  ///< in pipeline mode, inFlight_ sent
  std::vector<std::string> inFlight_;   ///< the contexts of the statements sent, in order
  uint64_t deferred_ = 0;
  std::map<std::string, std::unique_ptr<Stmt>> statements_;  // after stale_: they deallocate into it
};

/** `?` and `?N` placeholders as PostgreSQL's `$N`, outside quotes and
 *  comments; count: the highest parameter number. */
std::string toDollarParams(std::string_view sql, int* count);

}  // namespace mdc::sql
