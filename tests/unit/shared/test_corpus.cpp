// The committed corpus (tests/data/corpus, see its README.md): every valid
// file decodes and re-encodes to the same bytes; every invalid file is
// rejected exactly as invalid/expected.tsv says.
#include <catch2/catch.hpp>

#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "shared/wire/codec.h"
#include "shared/infra/files.h"
#include "tests/support/temp_dir.h"

using namespace mdc;
namespace fs = std::filesystem;

namespace {

fs::path corpusDir() {
  // mdc_add_test hands CTest the environment list unescaped, so only its first
  // entry (MDC_SOURCE_DIR) reaches the test today; derive the data dir from it
  // until MDC_TEST_DATA_DIR arrives too.
  if (const char* data = std::getenv("MDC_TEST_DATA_DIR"); data && *data) return fs::path(data) / "corpus";
  return fs::path(test::env("MDC_SOURCE_DIR")) / "tests" / "data" / "corpus";
}

/** The .pb files of a corpus folder, by name. */
std::vector<fs::path> pbFiles(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".pb") out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string readAll(const fs::path& p) {
  auto r = files::read(p.string());
  REQUIRE(r.ok());
  return *r;
}

bool isEnvelopeFile(const std::string& name) { return name.rfind("envelope-", 0) == 0; }
bool isDownlinkFile(const std::string& name) { return name.rfind("downlink-", 0) == 0; }

struct Expected {
  std::string reason;
  std::string messageContains;
};

std::map<std::string, Expected> readExpected(const fs::path& tsv) {
  std::map<std::string, Expected> out;
  std::istringstream in(readAll(tsv));
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    if (line.empty() || line[0] == '#') continue;
    size_t t1 = line.find('\t');
    size_t t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    INFO("expected.tsv line " << lineNo << ": " << line);
    REQUIRE(t2 != std::string::npos);
    REQUIRE(line.find('\t', t2 + 1) == std::string::npos);
    std::string name = line.substr(0, t1);
    REQUIRE(out.count(name) == 0);
    out[name] = Expected{line.substr(t1 + 1, t2 - t1 - 1), line.substr(t2 + 1)};
    REQUIRE_FALSE(out[name].messageContains.empty());
  }
  return out;
}

}  // namespace

TEST_CASE("corpus: every valid file decodes and re-encodes to the same bytes", "[corpus]") {
  const auto paths = pbFiles(corpusDir() / "valid");
  REQUIRE(paths.size() >= 15);
  int envelopes = 0, downlinks = 0;
  for (const auto& path : paths) {
    const std::string name = path.filename().string();
    INFO("valid/" << name);
    const std::string bytes = readAll(path);
    if (isEnvelopeFile(name)) {
      ++envelopes;
      auto decoded = codec::decodeEnvelope(bytes);
      INFO((decoded ? std::string("decoded") : decoded.error().message));
      REQUIRE(decoded.ok());
      auto encoded = codec::encodeEnvelope(*decoded);
      REQUIRE(encoded.ok());
      CHECK(*encoded == bytes);
    } else {
      REQUIRE(isDownlinkFile(name));
      ++downlinks;
      auto decoded = codec::decodeDownlink(bytes);
      INFO((decoded ? std::string("decoded") : decoded.error().message));
      REQUIRE(decoded.ok());
      auto encoded = codec::encodeDownlink(*decoded);
      REQUIRE(encoded.ok());
      CHECK(*encoded == bytes);
    }
  }
  // Every body of both messages is represented.
  CHECK(envelopes >= 8);
  CHECK(downlinks >= 7);
}

TEST_CASE("corpus: every invalid file is rejected as invalid/expected.tsv says", "[corpus]") {
  google::protobuf::LogSilencer quiet;  // the invalid UTF-8 file makes protobuf log
  const auto paths = pbFiles(corpusDir() / "invalid");
  REQUIRE(paths.size() >= 25);
  auto expected = readExpected(corpusDir() / "invalid" / "expected.tsv");

  std::set<std::string> seen;
  for (const auto& path : paths) {
    const std::string name = path.filename().string();
    INFO("invalid/" << name);
    seen.insert(name);
    REQUIRE((isEnvelopeFile(name) || isDownlinkFile(name)));
    const std::string bytes = readAll(path);

    Error error;
    if (isEnvelopeFile(name)) {
      auto r = codec::decodeEnvelope(bytes);
      REQUIRE_FALSE(r.ok());
      error = r.error();
      // The message names a field ("envelope.seq: ...") or the message type.
      CHECK(error.message.rfind("envelope", 0) == 0);
    } else {
      auto r = codec::decodeDownlink(bytes);
      REQUIRE_FALSE(r.ok());
      error = r.error();
      CHECK(error.message.rfind("downlink", 0) == 0);
    }
    INFO("message: " << error.message);
    CHECK(error.message.size() > std::string("envelope: ").size());

    auto it = expected.find(name);
    CHECK(it != expected.end());  // every file has its line in expected.tsv
    if (it == expected.end()) continue;
    CHECK(codec::reasonName(static_cast<codec::Reason>(error.code)) == it->second.reason);
    CHECK(error.message.find(it->second.messageContains) != std::string::npos);
  }
  // expected.tsv lists exactly the files that are there.
  for (const auto& [name, e] : expected) {
    INFO("expected.tsv lists " << name);
    CHECK(seen.count(name) == 1);
  }
}

TEST_CASE("corpus: single-byte mutations of valid files never crash the decoders", "[corpus]") {
  // Not a fuzzer: a fixed sweep (every byte position, three replacement
  // values) so the sanitizer build sees the decoders walk damaged input.
  google::protobuf::LogSilencer quiet;
  int rejected = 0, accepted = 0;
  for (const auto& path : pbFiles(corpusDir() / "valid")) {
    const std::string name = path.filename().string();
    const std::string bytes = readAll(path);
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (unsigned char v : {0x00, 0x80, 0xff}) {
        std::string mutated = bytes;
        mutated[i] = char(v);
        if (isEnvelopeFile(name)) {
          auto r = codec::decodeEnvelope(mutated);
          if (r) ++accepted;
          else { ++rejected; REQUIRE_FALSE(r.error().message.empty()); }
        } else {
          auto r = codec::decodeDownlink(mutated);
          if (r) ++accepted;
          else { ++rejected; REQUIRE_FALSE(r.error().message.empty()); }
        }
      }
    }
  }
  CHECK(rejected > 0);
  CHECK(accepted + rejected > 3000);
}
