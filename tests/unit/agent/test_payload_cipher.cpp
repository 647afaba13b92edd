// PayloadCipher: AES-256-GCM sealing of stored payloads, bound to their row.
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "agent/payload_cipher.h"
#include "shared/infra/files.h"
#include "tests/support/temp_dir.h"

using mdc::agent::PayloadCipher;

TEST_CASE("a sealed payload opens only with its key and its row's data", "[atrest]") {
  mdc::test::TempDir dir;
  auto c = PayloadCipher::loadOrCreate(dir.file("k"));
  REQUIRE(c.ok());
  struct stat st {};
  REQUIRE(::stat(dir.file("k").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::string plain("status EN_ROUTE \0 with a NUL", 28);
  std::string sealed = c->seal(plain, "outbox/1/2/id");
  CHECK(sealed.size() == plain.size() + PayloadCipher::kOverhead);
  CHECK(sealed.find("EN_ROUTE") == std::string::npos);
  CHECK(c->open(sealed, "outbox/1/2/id") == plain);
  CHECK_FALSE(c->open(sealed, "outbox/2/2/id"));         // moved to another row
  std::string flipped = sealed;
  flipped[20] ^= 1;
  CHECK_FALSE(c->open(flipped, "outbox/1/2/id"));        // edited
  CHECK_FALSE(c->open(sealed.substr(0, 10), "outbox/1/2/id"));  // truncated
  CHECK(c->seal(plain, "a") != c->seal(plain, "a"));     // fresh nonce each time

  auto again = PayloadCipher::loadOrCreate(dir.file("k"), false);
  REQUIRE(again.ok());
  CHECK(again->open(sealed, "outbox/1/2/id") == plain);
  CHECK_FALSE(PayloadCipher::ephemeral().open(sealed, "outbox/1/2/id"));  // another key
  CHECK_FALSE(PayloadCipher::loadOrCreate(dir.file("missing"), false).ok());
  REQUIRE(mdc::files::writeAtomic(dir.file("short"), "abc", 0600).ok());
  auto bad = PayloadCipher::loadOrCreate(dir.file("short"));
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("expected 32"));
}
