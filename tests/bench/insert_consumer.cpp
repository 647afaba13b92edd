// The inserting consumer of bench_stub_ingest's pinned run: what the stub's
// ingest does at the least. The same MQTT client as the stub (paho, QoS 1
// subscription, one connection), each message inserted into SQLite (WAL,
// synchronous=FULL) and committed with the stub's policy: a batch is
// committed when it holds --batch-max messages or --batch-ms after its first.
// No decoding, no checks, no projection, no acks: the stub's rate against
// this one is what its own work costs.
#include "tests/bench/insert_consumer.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>

#include "shared/infra/mqtt.h"
#include "shared/infra/sqlite.h"

namespace mdc::bench {

namespace {

class Inbox final : public mqtt::Handler {
 public:
  void onConnected(bool) override {
    std::lock_guard l(mu_);
    connected_ = true;
    cv_.notify_all();
  }
  void onConnectFailed(const std::string& reason, int) override {
    std::lock_guard l(mu_);
    failed_ = reason;
    cv_.notify_all();
  }
  void onConnectionLost(const std::string& cause) override {
    std::lock_guard l(mu_);
    failed_ = "lost: " + cause;
    cv_.notify_all();
  }
  void onSubscribeResult(const std::string&, bool ok, int code) override {
    std::lock_guard l(mu_);
    if (ok) subscribed_ = true;
    else failed_ = "subscription refused (reason " + std::to_string(code) + ")";
    cv_.notify_all();
  }
  void onMessage(std::string topic, std::string payload, bool) override {
    std::lock_guard l(mu_);
    messages_.emplace_back(std::move(topic), std::move(payload));
    cv_.notify_all();
  }
  bool waitConnected() {
    std::unique_lock l(mu_);
    cv_.wait_for(l, std::chrono::seconds(20), [&] { return connected_ || !failed_.empty(); });
    return connected_;
  }
  bool waitSubscribed() {
    std::unique_lock l(mu_);
    cv_.wait_for(l, std::chrono::seconds(20), [&] { return subscribed_ || !failed_.empty(); });
    return subscribed_;
  }
  /** Messages arrived since the last take, waiting at most `wait` for the first. */
  std::deque<std::pair<std::string, std::string>> take(std::chrono::milliseconds wait) {
    std::unique_lock l(mu_);
    cv_.wait_for(l, wait, [&] { return !messages_.empty() || !failed_.empty(); });
    std::deque<std::pair<std::string, std::string>> out;
    out.swap(messages_);
    return out;
  }
  std::string failed() {
    std::lock_guard l(mu_);
    return failed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool connected_ = false, subscribed_ = false;
  std::string failed_;
  std::deque<std::pair<std::string, std::string>> messages_;
};

}  // namespace

int runInsertConsumer(const InsertConsumerOptions& o) {
  sql::SqliteDb db(o.dbPath);
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=FULL");
  db.exec("CREATE TABLE IF NOT EXISTS t(pos INTEGER PRIMARY KEY, topic TEXT, payload BLOB)");
  auto insert = db.prepare("INSERT INTO t(topic, payload) VALUES(?,?)");

  Inbox inbox;
  mqtt::Options mo;
  mo.uri = o.brokerUri;
  mo.clientId = o.clientId;
  mo.cleanStart = true;
  mqtt::Client client(mo, inbox);
  if (mdc::Status s = client.connect(); !s || !inbox.waitConnected()) {
    std::cerr << "insert consumer: connect to " << o.brokerUri << " failed: " << inbox.failed() << "\n";
    return 3;
  }
  if (mdc::Status s = client.subscribe(o.topic, 1); !s || !inbox.waitSubscribed()) {
    std::cerr << "insert consumer: subscribe to " << o.topic << " failed: " << (s ? inbox.failed() : s.error().message)
              << "\n";
    return 3;
  }
  std::printf("ready\n");
  std::fflush(stdout);

  using Clock = std::chrono::steady_clock;
  size_t stored = 0, pending = 0;
  Clock::time_point firstPending;
  std::optional<sql::Transaction> tx;
  while (stored < o.count) {
    if (!inbox.failed().empty()) {
      std::cerr << "insert consumer: " << inbox.failed() << "\n";
      return 3;
    }
    auto wait = std::chrono::milliseconds(pending ? 1 : 100);
    for (auto& [topic, payload] : inbox.take(wait)) {
      if (topic.find("warmup") != std::string::npos) continue;
      if (!tx) {
        tx.emplace(db);
        firstPending = Clock::now();
      }
      insert.bind(1, topic).bindBlob(2, payload);
      insert.run();
      insert.reset();
      ++pending;
    }
    const bool due = pending >= size_t(o.batchMax) ||
                     (pending > 0 && Clock::now() - firstPending >= std::chrono::milliseconds(o.batchMs));
    if (due) {
      tx->commit();
      tx.reset();
      stored += pending;
      pending = 0;
    }
  }
  client.disconnect(500);
  std::printf("stored %zu\n", stored);
  return 0;
}

}  // namespace mdc::bench
