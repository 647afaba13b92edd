#include "server-stub/store/postgres.h"

#include "shared/infra/log.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <regex>

namespace mdc::sql {

namespace {

// Type OIDs of PostgreSQL's built-in types (pg_type.dat; fixed since 7.x).
constexpr Oid kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25, kOid = 26, kFloat4 = 700,
              kFloat8 = 701, kNumeric = 1700;

Fault faultOf(const std::string& sqlstate, PGconn* conn) {
  if (PQstatus(conn) == CONNECTION_BAD) return Fault::connection;
  if (sqlstate.size() != 5) return Fault::other;
  const std::string cls = sqlstate.substr(0, 2);
  if (cls == "23") return Fault::constraint;
  if (cls == "22") return Fault::data;
  if (cls == "08" || cls == "57") return Fault::connection;
  if (sqlstate == "53100") return Fault::full;
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03") return Fault::busy;
  return Fault::other;
}

std::string oneLine(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s)
    if (c == '\n' || c == '\t') c = ' ';
  return s;
}

/** The first word of a statement, upper case. */
std::string firstWord(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
  std::string w;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i])))
    w += char(std::toupper(static_cast<unsigned char>(sql[i++])));
  return w;
}

/** Statements the server prepares; the others (SAVEPOINT, RELEASE, DDL...)
 *  run as they are. */
bool preparable(std::string_view sql) {
  const std::string w = firstWord(sql);
  return w == "SELECT" || w == "INSERT" || w == "UPDATE" || w == "DELETE" || w == "WITH" || w == "VALUES";
}

/** The first line of a script that is not blank or a comment, for messages. */
std::string firstStatementLine(const std::string& sql) {
  size_t at = 0;
  while (at < sql.size()) {
    size_t end = sql.find('\n', at);
    if (end == std::string::npos) end = sql.size();
    std::string line = sql.substr(at, end - at);
    const size_t first = line.find_first_not_of(" \t");
    if (first != std::string::npos && line.compare(first, 2, "--") != 0) return line.substr(first, 80);
    at = end + 1;
  }
  return sql.substr(0, 80);
}

std::string fromHexBytea(const char* v, int len) {
  // bytea in text form: \x followed by two hex digits per byte.
  std::string out;
  if (len < 2 || v[0] != '\\' || v[1] != 'x') return std::string(v, size_t(len));
  out.reserve(size_t(len - 2) / 2);
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (int i = 2; i + 1 < len; i += 2) out += char((nib(v[i]) << 4) | nib(v[i + 1]));
  return out;
}

class PgStmt final : public StmtImpl {
 public:
  PgStmt(PgDb& db, std::string_view sql)
      : db_(db), original_(sql), context_("postgresql: \"" + original_.substr(0, 80) + "\""),
        generation_(db.reconnects()) {
    sql_ = toDollarParams(sql, &params_);
    values_.resize(size_t(params_));
    types_.assign(size_t(params_), 0);
    formats_.assign(size_t(params_), 0);
    lengths_.assign(size_t(params_), 0);
    direct_ = !preparable(sql_);
  }
  ~PgStmt() override {
    clear();
    if (generation_ == db_.reconnects())
      for (auto& [types, name] : prepared_) db_.deallocateLater(name);
  }

  void bindInt(int i, int64_t v) override { set(i, kInt8, std::to_string(v), 0); }
  void bindReal(int i, double v) override {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    set(i, kFloat8, buf, 0);
  }
  void bindText(int i, std::string_view v) override { set(i, kText, std::string(v), 0); }
  void bindBlob(int i, std::string_view v) override { set(i, kBytea, std::string(v), 1); }
  void bindNull(int i) override {
    at(i) = std::nullopt;
    types_[size_t(i - 1)] = 0;
  }

  bool step() override {
    if (!res_) execute();
    if (row_ + 1 >= PQntuples(res_)) {
      row_ = PQntuples(res_);
      return false;
    }
    ++row_;
    return true;
  }
  void reset() override {
    clear();
    for (auto& v : values_) v.reset();
    std::fill(types_.begin(), types_.end(), 0);
  }

  int64_t i64(int c) const override {
    if (PQgetisnull(res_, row_, c)) return 0;
    const char* v = PQgetvalue(res_, row_, c);
    if (PQftype(res_, c) == kBool) return v[0] == 't' ? 1 : 0;
    int64_t out = 0;
    const char* end = v + PQgetlength(res_, row_, c);
    auto r = std::from_chars(v, end, out);
    if (r.ec != std::errc() || (r.ptr != end && *r.ptr != '.')) return int64_t(std::strtod(v, nullptr));
    return out;
  }
  double f64(int c) const override {
    if (PQgetisnull(res_, row_, c)) return 0;
    return std::strtod(PQgetvalue(res_, row_, c), nullptr);
  }
  std::string text(int c) const override {
    if (PQgetisnull(res_, row_, c)) return {};
    if (PQftype(res_, c) == kBytea) return blob(c);
    return std::string(PQgetvalue(res_, row_, c), size_t(PQgetlength(res_, row_, c)));
  }
  std::string blob(int c) const override {
    if (PQgetisnull(res_, row_, c)) return {};
    const char* v = PQgetvalue(res_, row_, c);
    const int len = PQgetlength(res_, row_, c);
    if (PQftype(res_, c) == kBytea) return fromHexBytea(v, len);
    return std::string(v, size_t(len));
  }
  Type columnType(int c) const override {
    if (PQgetisnull(res_, row_, c)) return Type::null;
    switch (PQftype(res_, c)) {
      case kBool:
      case kInt2:
      case kInt4:
      case kInt8:
      case kOid:
        return Type::integer;
      case kFloat4:
      case kFloat8:
        return Type::real;
      case kNumeric:
        return std::strchr(PQgetvalue(res_, row_, c), '.') ? Type::real : Type::integer;
      case kBytea:
        return Type::blob;
      default:
        return Type::text;
    }
  }
  int columnCount() const override { return res_ ? PQnfields(res_) : 0; }

  void runLater() override {
    if (!db_.deferring() || direct_) {
      while (step()) {
      }
      return;
    }
    clear();
    const std::vector<const char*> values = boundValues();
    const std::string& name = statementFor();
    db_.sendLater(name, params_, values.data(), lengths_.data(), formats_.data(), context_);
  }

 private:
  std::optional<std::string>& at(int i) {
    if (i < 1 || i > params_)
      throw DbError(Fault::data, 0, "",
                    "postgresql: bind " + std::to_string(i) + " of \"" + original_.substr(0, 80) +
                        "\": the statement has " + std::to_string(params_) + " parameters");
    return values_[size_t(i - 1)];
  }
  void set(int i, Oid type, std::string v, int format) {
    at(i) = std::move(v);
    types_[size_t(i - 1)] = type;
    formats_[size_t(i - 1)] = format;
  }
  void clear() {
    if (res_) PQclear(res_);
    res_ = nullptr;
    row_ = -1;
  }
  /** The values bound, as libpq takes them (lengths_ filled beside). */
  std::vector<const char*> boundValues() {
    db_.ensureConnected();
    if (generation_ != db_.reconnects()) {  // prepared on a connection since lost
      prepared_.clear();
      generation_ = db_.reconnects();
    }
    std::vector<const char*> values(static_cast<size_t>(params_));
    for (size_t k = 0; k < values_.size(); ++k) {
      values[k] = values_[k] ? values_[k]->data() : nullptr;
      lengths_[k] = values_[k] ? int(values_[k]->size()) : 0;
    }
    return values;
  }
  void execute() {
    const std::vector<const char*> values = boundValues();
    db_.settle();  // what was sent before waits no longer: its error is the one to report
    PGresult* res = nullptr;
    if (direct_ && params_ == 0) {
      res = PQexec(db_.handle(), sql_.c_str());
    } else {
      const std::string& name = statementFor();
      res = PQexecPrepared(db_.handle(), name.c_str(), params_, values.data(), lengths_.data(), formats_.data(), 0);
    }
    db_.check(res, context_);  // clears res on failure
    const char* tuples = PQcmdTuples(res);
    db_.setChanges(tuples && *tuples ? std::atoi(tuples) : 0);
    res_ = res;
    row_ = -1;
  }
  /** The server-side statement for the types bound now, prepared on first use. */
  const std::string& statementFor() {
    auto it = prepared_.find(types_);
    if (it != prepared_.end()) return it->second;
    db_.settle();  // a synchronous call: nothing may be in flight
    std::string name = db_.nextName();
    PGresult* res = PQprepare(db_.handle(), name.c_str(), sql_.c_str(), params_, types_.data());
    db_.check(res, context_);
    PQclear(res);
    return prepared_.emplace(types_, std::move(name)).first->second;
  }

  PgDb& db_;
  std::string original_, context_, sql_;  ///< context_: how errors name the statement
  int params_ = 0;
  bool direct_ = false;
  std::vector<std::optional<std::string>> values_;
  std::vector<Oid> types_;
  std::vector<int> formats_, lengths_;
  std::map<std::vector<Oid>, std::string> prepared_;
  uint64_t generation_ = 0;  ///< the connection prepared_ belongs to (db_.reconnects())
  PGresult* res_ = nullptr;
  int row_ = -1;
};

}  // namespace

bool isPostgresUri(std::string_view target) {
  return target.rfind("postgresql://", 0) == 0 || target.rfind("postgres://", 0) == 0;
}

std::string databaseOf(const std::string& uri) {
  PQconninfoOption* options = PQconninfoParse(uri.c_str(), nullptr);
  if (!options) return {};
  std::string database;
  for (const PQconninfoOption* o = options; o->keyword; ++o)
    if (std::strcmp(o->keyword, "dbname") == 0 && o->val) database = o->val;
  PQconninfoFree(options);
  return database;
}

std::string redactUri(const std::string& uri) {
  const size_t scheme = uri.find("://");
  if (scheme == std::string::npos) return uri;
  const size_t at = uri.find('@', scheme + 3);
  const size_t colon = uri.find(':', scheme + 3);
  if (at == std::string::npos || colon == std::string::npos || colon > at) return uri;
  return uri.substr(0, colon + 1) + "***" + uri.substr(at);
}

std::string toDollarParams(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int next = 0, highest = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // a literal or a quoted name, quotes doubled inside
      const size_t end = sql.find(c, i + 1);
      const size_t stop = end == std::string_view::npos ? sql.size() : end + 1;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      const size_t stop = end == std::string_view::npos ? sql.size() : end;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '?') {
      size_t j = i + 1;
      int n = 0;
      while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j]))) n = n * 10 + (sql[j++] - '0');
      if (j == i + 1) n = ++next;
      highest = std::max(highest, n);
      out += '$' + std::to_string(n);
      i = j - 1;
    } else {
      out += c;
    }
  }
  if (count) *count = highest;
  return out;
}

PgDb::PgDb(const std::string& uri) : shown_(redactUri(uri)) {
  conn_ = PQconnectdb(uri.c_str());
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string msg = "postgresql: connect to \"" + shown_ + "\": " + oneLine(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    throw DbError(Fault::connection, 0, "", msg);
  }
  // Notices (e.g. "relation already exists, skipping") are not errors; the
  // store reports what matters itself.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

PgDb::~PgDb() {
  PQfinish(conn_);
}

void PgDb::check(PGresult* res, std::string_view context) {
  const ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return;
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state ? state : "";
  std::string msg = std::string(context) + ": " + oneLine(res ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
  if (!sqlstate.empty()) msg += " (SQLSTATE " + sqlstate + ")";
  if (res) PQclear(res);
  throw DbError(faultOf(sqlstate, conn_), 0, sqlstate, msg);
}

void PgDb::ensureConnected() {
  if (PQstatus(conn_) == CONNECTION_OK) return;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  if (now < nextAttemptMs_)
    throw DbError(Fault::connection, 0, "", "postgresql: \"" + shown_ + "\": not connected (next attempt in " +
                                                std::to_string(nextAttemptMs_ - now) + " ms)");
  PQreset(conn_);
  // Statements prepared on the old connection are gone with it, and so is
  // what was in flight (its transaction never committed).
  stale_.clear();
  piped_ = false;
  inFlight_.clear();
  if (PQstatus(conn_) != CONNECTION_OK) {
    nextAttemptMs_ = now + 500;
    throw DbError(Fault::connection, 0, "",
                  "postgresql: reconnect to \"" + shown_ + "\": " + oneLine(PQerrorMessage(conn_)));
  }
  ++reconnects_;
  log::info("store", "postgresql: connected again, to " + std::string(PQhost(conn_)) + ":" + PQport(conn_) +
                         " (reconnect " + std::to_string(reconnects_) + ")");
}

void PgDb::exec(std::string_view sql) {
  ensureConnected();
  settle();
  const std::string s(sql);
  PGresult* res = PQexec(conn_, s.c_str());
  check(res, "postgresql: \"" + firstStatementLine(s) + "\"");
  PQclear(res);
}

Stmt PgDb::prepare(std::string_view sql) {
  return Stmt(std::make_unique<PgStmt>(*this, sql));
}

void PgDb::sendLater(const std::string& name, int n, const char* const* values, const int* lengths,
                     const int* formats, const std::string& context) {
  if (!piped_) {
    if (PQenterPipelineMode(conn_) != 1)
      throw DbError(Fault::other, 0, "", context + ": pipeline mode refused: " + oneLine(PQerrorMessage(conn_)));
    piped_ = true;
  }
  if (PQsendQueryPrepared(conn_, name.c_str(), n, values, lengths, formats, 0) != 1) {
    const std::string why = oneLine(PQerrorMessage(conn_));
    settle();  // throws the error of one sent before, if any
    throw DbError(PQstatus(conn_) == CONNECTION_BAD ? Fault::connection : Fault::other, 0, "",
                  context + ": not sent: " + why);
  }
  inFlight_.push_back(context);
  ++deferred_;
  if (inFlight_.size() >= kMaxInFlight) settle();
}

void PgDb::settle() {
  if (!piped_) return;
  piped_ = false;
  std::vector<std::string> contexts;
  contexts.swap(inFlight_);
  // Each statement's results end with a null; the sync's result ends the
  // pipeline. After an error the rest come back PGRES_PIPELINE_ABORTED.
  PGresult* failed = nullptr;
  std::string failedContext;
  const bool synced = PQpipelineSync(conn_) == 1;
  size_t query = 0;
  bool sawSync = false;
  while (synced && query <= contexts.size()) {
    PGresult* r = PQgetResult(conn_);
    if (!r) {
      ++query;
      if (PQstatus(conn_) == CONNECTION_BAD) break;
      continue;
    }
    const ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      sawSync = true;
      break;
    }
    if (!failed && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_PIPELINE_ABORTED) {
      failed = r;
      failedContext = contexts.empty() ? "postgresql: pipeline" : contexts[std::min(query, contexts.size() - 1)];
    } else {
      PQclear(r);
    }
  }
  const std::string lost = oneLine(PQerrorMessage(conn_));
  PQexitPipelineMode(conn_);
  if (failed) check(failed, failedContext);  // throws
  if (!sawSync)
    throw DbError(Fault::connection, 0, "",
                  "postgresql: \"" + shown_ + "\": the results of " + std::to_string(contexts.size()) +
                      " statements sent in a pipeline were lost: " + lost);
}

void PgDb::commit() {
  settle();
  deferring_ = false;
  PGresult* res = PQexec(conn_, "COMMIT");
  check(res, "postgresql: COMMIT");
  // COMMIT of a transaction an error aborted reports success with the tag ROLLBACK.
  const bool rolledBack = std::strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
  PQclear(res);
  deallocateStale();
  if (rolledBack)
    throw DbError(Fault::other, 0, "", "postgresql: COMMIT: the transaction had failed and was rolled back");
}

void PgDb::rollback() noexcept {
  deferring_ = false;
  try {
    settle();
  } catch (const DbError&) {  // what failed in it is rolled back now
  }
  PQclear(PQexec(conn_, "ROLLBACK"));
  deallocateStale();
}

Stmt& PgDb::statement(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) it = statements_.emplace(sql, std::make_unique<Stmt>(prepare(sql))).first;
  it->second->reset();
  return *it->second;
}

void PgDb::lockUntilCommit(int64_t key) { statement("SELECT pg_advisory_xact_lock(?)").bind(1, key).run(); }

std::vector<int64_t> PgDb::drawSequence(const Sequence& seq, int n) {
  // As many at a time as the transaction expects to use: one round trip for all.
  Stmt& st = statement("SELECT nextval('" + std::string(seq.name) + "') FROM generate_series(1, ?)");
  st.bind(1, int64_t(std::max(1, n)));
  std::vector<int64_t> numbers;
  while (st.step()) numbers.push_back(st.i64(0));
  st.reset();
  return numbers;
}

void PgDb::syncSequence(const Sequence& seq) {
  const std::string table(seq.table), column(seq.column);
  const std::string name = seq.name.empty() ? "pg_get_serial_sequence('" + table + "', '" + column + "')"
                                            : "'" + std::string(seq.name) + "'";
  exec("SELECT setval(" + name + ", GREATEST(COALESCE(MAX(" + column + "), 0), 1), MAX(" + column +
       ") IS NOT NULL) FROM " + table);
}

std::string PgDb::settledBefore(std::string_view txColumn) const {
  // pg_snapshot_xmin: the oldest transaction still running when the
  // statement starts; every row of an older one is committed or never will be.
  return std::string(txColumn) + " < pg_snapshot_xmin(pg_current_snapshot())::text::bigint";
}

int64_t PgDb::schemaVersion() {
  if (queryText("SELECT COALESCE(to_regclass('store_meta')::text, '')").empty()) return 0;
  return queryInt("SELECT schema_version FROM store_meta");
}

void PgDb::setSchemaVersion(int64_t version) {
  exec("UPDATE store_meta SET schema_version=" + std::to_string(version));
}

std::string PgDb::ddl(std::string_view sqliteText) const {
  // 64-bit integers, doubles, bytea, byte-order (C) text, so that keys sort
  // and stamps compare as in SQLite, and an identity for an INTEGER PRIMARY
  // KEY id, which SQLite assigns as the rowid.
  static const std::vector<std::pair<std::regex, std::string>> kTypes = {
      {std::regex(R"(\bid INTEGER PRIMARY KEY\b)"), "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
      {std::regex(R"(\bINTEGER\b)"), "BIGINT"},
      {std::regex(R"(\bREAL\b)"), "DOUBLE PRECISION"},
      {std::regex(R"(\bBLOB\b)"), "BYTEA"},
      {std::regex(R"(\bTEXT\b)"), "TEXT COLLATE \"C\""},
  };
  std::string text(sqliteText);
  for (const auto& [from, to] : kTypes) text = std::regex_replace(text, from, to);
  return text;
}

void PgDb::deallocateStale() noexcept {
  for (const auto& name : stale_) PQclear(PQexec(conn_, ("DEALLOCATE " + name).c_str()));
  stale_.clear();
}

}  // namespace mdc::sql
