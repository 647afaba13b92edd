#pragma once
// The device's side of records queries: which queries wait for an answer,
// which answers are on the screen and until when. Held in memory only (an
// answer is never written to the device's disk); pure logic over times given
// by the caller, so it is tested without a clock.
#include <cstdint>
#include <deque>
#include <string>

#include "mdc/v1/local.pb.h"

namespace mdc::agent {

class RecordsDesk {
 public:
  struct Timing {
    int64_t slowMs = 5000;     ///< unanswered this long: the screen says the records system is slow
    int64_t timeoutMs = 30000; ///< unanswered this long: failed
    int64_t showMs = 120000;   ///< an answer (or a failure) leaves the screen this long after it came
  };
  /** At most this many queries are kept (the newest). */
  static constexpr size_t kKeep = 10;

  explicit RecordsDesk(Timing timing) : timing_(timing) {}

  /** A query was sent (its Envelope.event_id). */
  void sent(const std::string& queryId, const v1::RecordsQuery& query, int64_t nowMs);
  /** An answer came: true when it is for a query still on the screen (even
   *  one that had failed for lack of an answer); false for an unknown one. */
  bool answered(const v1::RecordsAnswer& answer, int64_t nowMs);
  /** The backend refused the query (a Rejection naming its id): true when it was waiting. */
  bool refused(const std::string& queryId, const std::string& detail, int64_t nowMs);
  /** The link went down: every waiting query fails now (the responder is
   *  told at once); an answer that still arrives later is shown. Returns how many. */
  int linkLost(int64_t nowMs);
  /** Waiting queries turn slow, then failed; shown ones past their time
   *  leave. True when anything changed (the screen should be told). */
  bool tick(int64_t nowMs);
  /** The queries on the screen, newest first, each as the state shows it. */
  void fill(v1::AgentState& s, int64_t nowMs) const;
  /** True while a query with this id waits for its answer. */
  bool waiting(const std::string& queryId) const;

 private:
  void finish(v1::RecordsQueryView& q, v1::RecordsQueryState state, const std::string& detail, int64_t nowMs);
  Timing timing_;
  std::deque<v1::RecordsQueryView> items_;  // newest first
};

}  // namespace mdc::agent
