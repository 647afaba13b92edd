#pragma once
// Small helpers shared by the stub's integration tests.
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <string>

#include "server-stub/store/event_store.h"
#include "tests/support/stack.h"

namespace cad::test {

/** The running stub's counters (cadctl stats). */
inline QJsonObject stubStats(const mdc::test::CadStub& stub) {
  auto r = stub.cadctl({"stats"});
  INFO(r.output);
  REQUIRE(r.exitCode == 0);
  return QJsonDocument::fromJson(QByteArray::fromStdString(r.output)).object();
}

/** cadctl ... --json, parsed. */
inline QJsonDocument cadctlJson(const mdc::test::CadStub& stub, std::vector<std::string> args) {
  args.push_back("--json");
  auto r = stub.cadctl(args);
  INFO(r.output);
  REQUIRE(r.exitCode == 0);
  return QJsonDocument::fromJson(QByteArray::fromStdString(r.output));
}

/** The store, read-only, for SQL the cadctl commands do not offer. */
inline std::unique_ptr<EventStore> readStore(const mdc::test::CadStub& stub) {
  auto s = EventStore::open(stub.dbPath(), true);
  REQUIRE(s);
  return std::move(*s);
}

inline int64_t queryInt(const mdc::test::CadStub& stub, const std::string& sql) {
  return readStore(stub)->db().queryInt(sql);
}

/** "created 2026-000001" -> "2026-000001" */
inline std::string createCfs(const mdc::test::CadStub& stub, const std::string& agency, const std::string& type,
                             const std::string& as = "alice") {
  auto r = stub.cadctl({"--agency", agency, "--as", as, "create-cfs", "--type", type, "--priority", "2", "--address",
                        "12 Main St", "--lat", "40.7", "--lon", "-74.0"});
  INFO(r.output);
  REQUIRE(r.exitCode == 0);
  auto at = r.output.find("created ");
  REQUIRE(at != std::string::npos);
  return r.output.substr(at + 8, 11);
}

}  // namespace cad::test
