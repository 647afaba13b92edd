// The vehicle's records desk: waiting, slow, answered, failed, and gone from
// the screen, on times the test gives.
#include <catch2/catch.hpp>

#include "agent/records_desk.h"

using namespace mdc;
using agent::RecordsDesk;

namespace {

v1::RecordsQuery plate() {
  v1::RecordsQuery q;
  q.mutable_plate()->set_plate("ABC123");
  q.mutable_plate()->set_state("NY");
  q.set_incident_number("2026-000001");
  return q;
}

v1::RecordsQueryView only(const RecordsDesk& d, int64_t now) {
  v1::AgentState s;
  d.fill(s, now);
  REQUIRE(s.records_size() == 1);
  return s.records(0);
}

int shown(const RecordsDesk& d, int64_t now) {
  v1::AgentState s;
  d.fill(s, now);
  return s.records_size();
}

v1::RecordsAnswer answerTo(const std::string& id) {
  v1::RecordsAnswer a;
  a.set_query_id(id);
  auto* e = a.add_entries();
  e->set_kind("vehicle");
  e->set_summary("ABC123 (NY): 2019 HONDA CIVIC BLUE");
  return a;
}

}  // namespace

TEST_CASE("records desk: a query waits, turns slow, and shows its answer until show_s after it came", "[records]") {
  RecordsDesk d({5000, 30000, 120000});
  d.sent("q1", plate(), 1000);
  auto v = only(d, 3000);
  CHECK(v.state() == v1::RECORDS_QUERY_STATE_WAITING);
  CHECK(v.subject() == "plate ABC123 (NY)");
  CHECK(v.incident_number() == "2026-000001");
  CHECK(v.detail() == "waiting 2 s");
  CHECK(d.waiting("q1"));
  CHECK_FALSE(d.tick(5999));
  CHECK(d.tick(6000));  // 5 s: slow
  v = only(d, 8000);
  CHECK(v.state() == v1::RECORDS_QUERY_STATE_SLOW);
  CHECK(v.detail() == "the records system is slow to answer: waiting 7 s");
  CHECK(d.answered(answerTo("q1"), 9000));
  v = only(d, 9000);
  CHECK(v.state() == v1::RECORDS_QUERY_STATE_ANSWERED);
  CHECK(v.answered_at_ms() == 9000);
  CHECK(v.expires_at_ms() == 129000);
  CHECK(v.answer().entries_size() == 1);
  CHECK_FALSE(d.waiting("q1"));
  CHECK_FALSE(d.tick(128999));
  CHECK(d.tick(129000));  // gone from the screen and from memory
  CHECK(shown(d, 129000) == 0);
  CHECK_FALSE(d.answered(answerTo("q1"), 130000));  // a late copy finds nothing
}

TEST_CASE("records desk: no answer in timeout_s fails, a refusal and a lost link fail at once", "[records]") {
  RecordsDesk d({5000, 30000, 120000});
  d.sent("q1", plate(), 0);
  CHECK(d.tick(30000));
  auto v = only(d, 30000);
  CHECK(v.state() == v1::RECORDS_QUERY_STATE_FAILED);
  CHECK(v.detail() == "no answer from the records system in 30 s; run it again");
  // An answer that still comes is shown: what it says matters more than its lateness.
  CHECK(d.answered(answerTo("q1"), 31000));
  CHECK(only(d, 31000).state() == v1::RECORDS_QUERY_STATE_ANSWERED);

  RecordsDesk r({5000, 30000, 120000});
  r.sent("q2", plate(), 0);
  CHECK_FALSE(r.refused("other", "x", 100));
  CHECK(r.refused("q2", "incident_number: \"9\" is not a CFS of agency PD1", 100));
  CHECK(only(r, 100).detail() == "refused by dispatch: incident_number: \"9\" is not a CFS of agency PD1");
  CHECK_FALSE(r.refused("q2", "again", 200));  // only a waiting one

  RecordsDesk l({5000, 30000, 120000});
  l.sent("a", plate(), 0);
  l.sent("b", plate(), 10);
  CHECK(l.linkLost(20) == 2);
  CHECK(l.linkLost(30) == 0);
  v1::AgentState s;
  l.fill(s, 40);
  REQUIRE(s.records_size() == 2);
  CHECK(s.records(0).query_id() == "b");  // newest first
  CHECK(s.records(1).detail() == "the link to dispatch went down before the answer; run it again");

  RecordsDesk refusedBySystem({5000, 30000, 120000});
  refusedBySystem.sent("c", plate(), 0);
  v1::RecordsAnswer no;
  no.set_query_id("c");
  no.set_refused("the records system could not answer: disk I/O error");
  CHECK(refusedBySystem.answered(no, 50));
  CHECK(only(refusedBySystem, 50).state() == v1::RECORDS_QUERY_STATE_FAILED);
}

TEST_CASE("records desk: at most the newest ten queries are kept", "[records]") {
  RecordsDesk d({5000, 30000, 120000});
  for (int i = 0; i < 12; ++i) d.sent("q" + std::to_string(i), plate(), i);
  v1::AgentState s;
  d.fill(s, 20);
  REQUIRE(s.records_size() == int(RecordsDesk::kKeep));
  CHECK(s.records(0).query_id() == "q11");
  CHECK_FALSE(d.waiting("q1"));
}
