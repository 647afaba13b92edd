// Enrolment on the stub's side, without the network: the HTTP requests the
// enrolment server takes or refuses, the verdict on a token, and the tokens
// in the log (hash only, used once, superseded, locked by wrong guesses,
// replayed to the same read model).
#include <catch2/catch.hpp>

#include "server-stub/service/est_server.h"
#include "server-stub/store/event_store.h"
#include "server-stub/store/read_models.h"
#include "shared/infra/enrol.h"
#include "tests/support/pg_server.h"
#include "tests/support/temp_dir.h"

using namespace cad;
using cad::control::ControlRequest;
using mdc::test::TempDir;

namespace {

constexpr int64_t T0 = 1'796'083'200'000;  // 2026-12-01T00:00:00Z
constexpr int64_t kMin = 60'000;

std::unique_ptr<EventStore> openStore(const TempDir& dir, const std::string& name = "cad.db") {
  auto s = EventStore::open(mdc::test::storeTarget(dir, name));
  REQUIRE(s);
  return std::move(*s);
}

void run(EventStore& s, ControlRequest c, int64_t at) {
  c.set_agency("FD1");
  c.set_actor("tech");
  auto r = s.execute(c, at);
  INFO(commandKind(c) << ": " << (r ? "" : r.error().message));
  REQUIRE(r);
}

std::string hashOf(const std::string& token) { return mdc::enrol::tokenHash(*mdc::enrol::normalizeToken(token)); }

ControlRequest tokenCommand(const std::string& device, const std::string& token, int64_t ttlS = 7200) {
  ControlRequest c;
  c.mutable_enroll_token()->set_device(device);
  c.mutable_enroll_token()->set_token_sha256(hashOf(token));
  c.mutable_enroll_token()->set_ttl_s(ttlS);
  return c;
}

EnrolmentRecord refusal(const std::string& device, const std::string& token) {
  EnrolmentRecord r;
  r.kind = "enroll_refused";
  r.method = "token";
  r.deviceId = device;
  r.tokenHash = token.empty() ? "" : hashOf(token);
  r.reason = "wrong token for device " + device;
  r.peer = "10.0.0.9";
  return r;
}

}  // namespace

TEST_CASE("enrolment tokens: made here, 80 bits in 16 characters, typed back in any case with dashes or spaces") {
  const std::string t = mdc::enrol::newToken();
  REQUIRE(t.size() == 19);
  CHECK(t[4] == '-');
  CHECK(t[9] == '-');
  CHECK(t[14] == '-');
  CHECK(t.find_first_of("ILOU") == std::string::npos);
  CHECK(mdc::enrol::newToken() != t);
  auto n = mdc::enrol::normalizeToken(t);
  REQUIRE(n);
  CHECK(n->size() == 16);
  std::string typed;
  for (char c : t) typed += c == '-' ? ' ' : char(std::tolower(static_cast<unsigned char>(c)));
  CHECK(mdc::enrol::normalizeToken(typed) == n);
  CHECK(mdc::enrol::normalizeToken("K7QF-9XMA-PL3T-R2WD") == mdc::enrol::normalizeToken("k7qf9xmapi3tr2wd"));  // I for 1
  CHECK(mdc::enrol::normalizeToken("O000-0000-0000-0000") == std::optional<std::string>("0000000000000000"));
  CHECK_FALSE(mdc::enrol::normalizeToken("K7QF-9XMA-PL3T"));        // too short
  CHECK_FALSE(mdc::enrol::normalizeToken("K7QF-9XMA-PL3T-R2WDX"));  // too long
  CHECK_FALSE(mdc::enrol::normalizeToken("K7QF-9XMA-PL3T-R2U!"));   // not in the alphabet
  CHECK(mdc::enrol::tokenHash(*n).size() == 64);
  // The proof depends on the token and on the body.
  const std::string h = mdc::enrol::tokenHash(*n);
  CHECK(mdc::enrol::caProof(h, "ca") != mdc::enrol::caProof(h, "cb"));
  CHECK(mdc::enrol::caProof(h, "ca") != mdc::enrol::caProof(hashOf(mdc::enrol::newToken()), "ca"));
  CHECK(mdc::enrol::sameSecret("abc", "abc"));
  CHECK_FALSE(mdc::enrol::sameSecret("abc", "abd"));
  CHECK_FALSE(mdc::enrol::sameSecret("abc", "abcd"));
}

TEST_CASE("enrolment server: HTTP requests are parsed whole or refused with the reason, never half") {
  HttpRequest r;
  std::string err;
  const std::string get = "GET /.well-known/est/cacerts?x=1 HTTP/1.1\r\nHost: cad\r\nX-MDC-Device:  MDC-1 \r\n\r\n";
  REQUIRE(parseHttpRequest(get, r, err) == 1);
  CHECK(r.method == "GET");
  CHECK(r.path == "/.well-known/est/cacerts");
  CHECK(r.headers["x-mdc-device"] == "MDC-1");
  CHECK(r.body.empty());
  // Incomplete: more is needed, nothing parsed.
  CHECK(parseHttpRequest(get.substr(0, 20), r, err) == 0);
  const std::string post = "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc";
  CHECK(parseHttpRequest(post, r, err) == 0);
  REQUIRE(parseHttpRequest(post + "de", r, err) == 1);
  CHECK(r.body == "abcde");
  // Refused, each with its reason.
  CHECK(parseHttpRequest("HELLO\r\n\r\n", r, err) == -1);
  CHECK(err.find("not HTTP/1.x") != std::string::npos);
  CHECK(parseHttpRequest("POST /p HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", r, err) == -1);
  CHECK(err.find("Content-Length \"99999999\"") != std::string::npos);
  CHECK(parseHttpRequest("POST /p HTTP/1.1\r\nContent-Length: 70000\r\n\r\n", r, err) == -1);
  CHECK(err == "body of 70000 bytes: at most 65536");
  CHECK(parseHttpRequest("POST /p HTTP/1.1\r\nContent-Length: -1\r\n\r\n", r, err) == -1);
  CHECK(parseHttpRequest("GET / HTTP/1.1\r\n: no name\r\n\r\n", r, err) == -1);
  CHECK(parseHttpRequest("GET / HTTP/1.1\r\n" + std::string(17000, 'a'), r, err) == -1);
  CHECK(err == "request headers over 16384 bytes");
}

TEST_CASE("enrolment server: a token is refused when wrong, another device's, used, expired, locked or its device "
          "is gone, and says so") {
  EnrolToken t;
  t.deviceId = "MDC-1";
  t.expiresAtMs = T0 + 60 * kMin;
  CHECK_FALSE(judgeToken(t, "MDC-1", true, T0));
  auto v = judgeToken(std::nullopt, "MDC-1", true, T0);
  REQUIRE(v);
  CHECK(*v == std::pair<int, std::string>{401, "wrong token for device MDC-1"});
  v = judgeToken(t, "MDC-2", true, T0);
  REQUIRE(v);
  CHECK(v->second == "wrong token for device MDC-2");  // never "it is MDC-1's"
  v = judgeToken(t, "MDC-1", true, T0 + 60 * kMin);
  REQUIRE(v);
  CHECK(v->first == 403);
  CHECK(v->second == "token expired at 2026-12-01T01:00:00.000Z; create a new one (cadctl enroll-token create MDC-1)");
  EnrolToken used = t;
  used.usedAtMs = T0 + kMin;
  used.usedSerial = "AB12";
  v = judgeToken(used, "MDC-1", true, T0 + 2 * kMin);
  REQUIRE(v);
  CHECK(v->second.rfind("token already used at 2026-12-01T00:01:00.000Z (certificate serial AB12)", 0) == 0);
  EnrolToken locked = t;
  locked.failures = kEnrolMaxFailures;
  v = judgeToken(locked, "MDC-1", true, T0);
  REQUIRE(v);
  CHECK(v->second.rfind("token locked after 5 wrong tokens", 0) == 0);
  v = judgeToken(t, "MDC-1", false, T0);
  REQUIRE(v);
  CHECK(v->second.find("is not registered") != std::string::npos);
}

TEST_CASE("enrolment tokens in the log: the hash only, used once, a newer one supersedes, wrong guesses lock it, and "
          "a replay gives the same read model") {
  TempDir dir;
  auto s = openStore(dir);
  ControlRequest add;
  add.mutable_device_add()->set_device("MDC-1");
  add.mutable_device_add()->set_unit("E1");
  run(*s, add, T0);
  const std::string first = mdc::enrol::newToken(), second = mdc::enrol::newToken();
  run(*s, tokenCommand("MDC-1", first), T0 + kMin);
  auto t = ReadModels(*s).enrolToken(hashOf(first));
  REQUIRE(t);
  CHECK(t->deviceId == "MDC-1");
  CHECK(t->unitId == "E1");
  CHECK(t->createdBy == "tech");
  CHECK(t->expiresAtMs == T0 + kMin + 7200 * 1000);
  CHECK(ReadModels(*s).openEnrolToken("MDC-1", T0 + 2 * kMin)->tokenHash == hashOf(first));
  CHECK_FALSE(ReadModels(*s).openEnrolToken("MDC-1", T0 + 3 * 3600 * 1000));  // expired

  // Bad commands are refused and change nothing.
  const std::string digest = s->log().digest();
  ControlRequest bad = tokenCommand("MDC-9", mdc::enrol::newToken());
  bad.set_agency("FD1");
  bad.set_actor("tech");
  CHECK_FALSE(s->execute(bad, T0));  // not registered (cadctl registers it first when given a unit)
  bad = tokenCommand("MDC-1", mdc::enrol::newToken(), 60);
  bad.set_agency("FD1");
  bad.set_actor("tech");
  auto r = s->execute(bad, T0);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "ttl 60 s: out of range 10m-30d");
  bad = tokenCommand("MDC-1", first);
  bad.set_agency("FD1");
  bad.set_actor("tech");
  CHECK_FALSE(s->execute(bad, T0));  // the same token twice
  bad.mutable_enroll_token()->set_token_sha256("XYZ");
  CHECK_FALSE(s->execute(bad, T0));
  CHECK(s->log().digest() == digest);

  // A newer token ends the older one.
  run(*s, tokenCommand("MDC-1", second), T0 + 2 * kMin);
  CHECK(ReadModels(*s).enrolToken(hashOf(first))->expiresAtMs == T0 + 2 * kMin);
  CHECK(ReadModels(*s).openEnrolToken("MDC-1", T0 + 3 * kMin)->tokenHash == hashOf(second));

  // Guesses count against the open token; its own used token does not.
  REQUIRE(s->recordEnrolment(refusal("MDC-1", mdc::enrol::newToken()), T0 + 3 * kMin));
  REQUIRE(s->recordEnrolment(refusal("MDC-1", ""), T0 + 3 * kMin));
  REQUIRE(s->recordEnrolment(refusal("MDC-1", first), T0 + 3 * kMin));  // its own (superseded) token: not a guess
  CHECK(ReadModels(*s).enrolToken(hashOf(second))->failures == 2);

  EnrolmentRecord ok;
  ok.kind = "enrolled";
  ok.method = "token";
  ok.deviceId = "MDC-1";
  ok.tokenHash = hashOf(second);
  ok.serial = "CAFE01";
  ok.notAfterMs = T0 + 365LL * 86'400'000;
  ok.peer = "10.0.0.9";
  REQUIRE(s->recordEnrolment(ok, T0 + 4 * kMin));
  t = ReadModels(*s).enrolToken(hashOf(second));
  CHECK(t->usedAtMs == T0 + 4 * kMin);
  CHECK(t->usedSerial == "CAFE01");
  CHECK_FALSE(ReadModels(*s).openEnrolToken("MDC-1", T0 + 5 * kMin));
  CHECK(ReadModels(*s).enrolTokens("FD1").size() == 2);
  CHECK(ReadModels(*s).enrolTokens("PD1").empty());
  EnrolmentRecord wrongKind = ok;
  wrongKind.kind = "granted";
  CHECK_FALSE(s->recordEnrolment(wrongKind, T0));

  // Five guesses lock a token.
  const std::string third = mdc::enrol::newToken();
  run(*s, tokenCommand("MDC-1", third), T0 + 10 * kMin);
  for (int i = 0; i < kEnrolMaxFailures; ++i)
    REQUIRE(s->recordEnrolment(refusal("MDC-1", mdc::enrol::newToken()), T0 + 11 * kMin));
  CHECK(ReadModels(*s).enrolToken(hashOf(third))->failures == kEnrolMaxFailures);
  CHECK_FALSE(ReadModels(*s).openEnrolToken("MDC-1", T0 + 12 * kMin));

  // The token is nowhere in the log; the read model replays to the same digest.
  {
    int holding = 0;
    auto st = s->db().prepare("SELECT payload FROM events");
    while (st.step()) holding += st.blob(0).find(*mdc::enrol::normalizeToken(third)) != std::string::npos;
    CHECK(holding == 0);
  }
  REQUIRE(s->replayInto(mdc::test::storeTarget(dir, "replay.db")));
  auto replayed = EventStore::open(mdc::test::storeTarget(dir, "replay.db"), true);
  REQUIRE(replayed);
  CHECK((*replayed)->log().digest() == s->log().digest());
  CHECK(ReadModels(**replayed).enrolToken(hashOf(third))->failures == kEnrolMaxFailures);
}
