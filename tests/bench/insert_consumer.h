#pragma once
// bench_stub_ingest --insert-consumer: a bare consumer that inserts each
// message into SQLite with the stub's commit policy (insert_consumer.cpp).
#include <cstddef>
#include <string>

namespace mdc::bench {

struct InsertConsumerOptions {
  std::string brokerUri, clientId, topic, dbPath;
  size_t count = 0;  ///< exits after this many messages are committed
  int batchMax = 2000;
  int batchMs = 2;
};

/** Prints "ready" once subscribed, "stored N" when done; 0, or 3 when the broker fails it. */
int runInsertConsumer(const InsertConsumerOptions& options);

}  // namespace mdc::bench
