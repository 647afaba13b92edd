// mdc-corpus-writer: writes the codec corpus (tests/data/corpus) from fixed
// samples, fixed ids and times, and a fixed seed for random bytes, so running
// it again gives the same files byte for byte. Every file is checked against
// the decoder before it is written: the expectations below are the contract,
// and the writer refuses to produce a corpus that contradicts them.
//
//   mdc-corpus-writer <corpus-dir>      e.g. tests/data/corpus
#include <google/protobuf/stubs/logging.h>

#include <filesystem>
#include <iostream>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "shared/wire/codec.h"
#include "shared/infra/files.h"
#include "tests/unit/shared/wire_samples.h"

namespace {

using namespace mdc;
using namespace mdc::test::samples;
using codec::Reason;

struct ValidFile {
  std::string name;  // "envelope-status.pb": the prefix names the decoder
  std::string what;
  std::string bytes;
};

struct InvalidFile {
  std::string name;
  std::string what;
  std::string bytes;
  Reason reason;
  std::string messageContains;  // a substring of the decoder's message
};

std::string randomBytes(uint32_t seed, size_t n) {
  std::mt19937 rng(seed);  // mt19937's sequence is fixed by the standard
  std::string out(n, '\0');
  for (char& c : out) c = char(rng() & 0xff);
  return out;
}

/** bytes of msg padded with an unknown field (number 1000) to exactly size. */
std::string paddedTo(google::protobuf::Message& msg, size_t size) {
  auto* unknown = msg.GetReflection()->MutableUnknownFields(&msg);
  size_t base = msg.ByteSizeLong();
  for (size_t payload = size - base - 8; payload <= size - base; ++payload) {
    unknown->DeleteByNumber(1000);
    unknown->AddLengthDelimited(1000, std::string(payload, 'x'));
    if (msg.ByteSizeLong() == size) return msg.SerializeAsString();
  }
  throw std::runtime_error("cannot pad to " + std::to_string(size) + " bytes");
}

template <class M, class F>
std::string broken(M msg, F breakIt) {
  breakIt(msg);
  return msg.SerializeAsString();  // serialises as is: no validation on this path
}

std::vector<ValidFile> validFiles() {
  v1::Envelope avlBackfill = validAvlEnvelope();
  avlBackfill.set_seq(88);
  avlBackfill.set_event_id(eventId(88));
  avlBackfill.set_clock_source(v1::CLOCK_SOURCE_SYSTEM);
  *avlBackfill.mutable_avl()->mutable_position() = position2dUnknowns();
  avlBackfill.mutable_avl()->set_backfill(true);
  avlBackfill.mutable_avl()->set_trigger(v1::AVL_TRIGGER_INTERVAL);

  v1::Envelope presenceOffline = validPresenceEnvelope();
  presenceOffline.set_event_id(eventId(902));
  presenceOffline.mutable_presence()->set_online(false);
  presenceOffline.mutable_presence()->clear_queue();

  v1::Envelope messageUnicode = validMessageEnvelope();
  messageUnicode.mutable_message()->set_text("Patient stable 🚑, arriving Hôpital Saint-Louis in 5 min");

  return {
      {"envelope-status.pb", "status EN_ROUTE for 2026-000123 with a 3D position",
       validStatusEnvelope().SerializeAsString()},
      {"envelope-avl.pb", "live AVL report, distance trigger", validAvlEnvelope().SerializeAsString()},
      {"envelope-avl-backfill-2d.pb", "backfilled AVL, 2D fix with NaN altitude/speed/track/error, system clock",
       avlBackfill.SerializeAsString()},
      {"envelope-cfs.pb", "self-initiated TRAFFIC_STOP with address and note", validCfsEnvelope().SerializeAsString()},
      {"envelope-emergency.pb", "emergency raised from the dash switch", validEmergencyEnvelope().SerializeAsString()},
      {"envelope-assignment-ack.pb", "acknowledges the assignment of downlink seq 17",
       validAssignmentAckEnvelope().SerializeAsString()},
      {"envelope-message.pb", "text message to dispatch", validMessageEnvelope().SerializeAsString()},
      {"envelope-message-unicode.pb", "text message with multi-byte characters", messageUnicode.SerializeAsString()},
      {"envelope-presence.pb", "birth message: online, two lanes waiting (seq 0)",
       validPresenceEnvelope().SerializeAsString()},
      {"envelope-presence-offline.pb", "last will: offline (seq 0)", presenceOffline.SerializeAsString()},
      {"envelope-resync.pb", "resync after downlink seq 16 (seq 0)", validResyncEnvelope().SerializeAsString()},
      {"envelope-avl-batch.pb", "three backlog AVL reports in one batch (seq 201, 202, 205)",
       validAvlBatchEnvelope().SerializeAsString()},
      {"downlink-commit-ack.pb", "commit ack for seq 1..3 and 5 (downlink seq 0)",
       validCommitAckDownlink().SerializeAsString()},
      {"downlink-assignment.pb", "assignment to 2026-000123 with units and timeline",
       validAssignmentDownlink().SerializeAsString()},
      {"downlink-message.pb", "message from dispatch", validDispatchMessageDownlink().SerializeAsString()},
      {"downlink-cfs-accepted.pb", "self-initiated CFS accepted as 2026-000124",
       validCfsAcceptedDownlink().SerializeAsString()},
      {"downlink-rejection.pb", "event seq 9 rejected as malformed (downlink seq 0)",
       validRejectionDownlink().SerializeAsString()},
      {"downlink-configuration.pb", "four status buttons, AVL every 5 s moving / 60 s stationary",
       validConfigurationDownlink().SerializeAsString()},
      {"downlink-emergency-ack.pb", "dispatcher acknowledged the emergency",
       validEmergencyAckDownlink().SerializeAsString()},
      {"downlink-assignment-cleared.pb", "the unit is off 2026-000123: closed by the dispatcher",
       validAssignmentClearedDownlink().SerializeAsString()},
  };
}

std::vector<InvalidFile> invalidFiles() {
  using E = v1::Envelope;
  using D = v1::Downlink;
  auto avlPos = [](E& e) { return e.mutable_avl()->mutable_position(); };
  std::string status = validStatusEnvelope().SerializeAsString();
  std::string assignment = validAssignmentDownlink().SerializeAsString();
  v1::Envelope big = validMessageEnvelope();

  return {
      // Not protobuf, or not this message.
      {"envelope-empty.pb", "zero bytes", "", Reason::Malformed, "envelope: 0 bytes are not a valid mdc.v1.Envelope"},
      {"envelope-random-64.pb", "64 random bytes (mt19937 seed 64)", randomBytes(64, 64), Reason::Malformed,
       "envelope: 64 bytes are not a valid mdc.v1.Envelope"},
      {"envelope-truncated-status.pb", "envelope-status.pb without its last byte", status.substr(0, status.size() - 1),
       Reason::Malformed, "bytes are not a valid mdc.v1.Envelope"},
      {"envelope-oversized.pb", "a valid message padded with an unknown field to 16385 bytes",
       paddedTo(big, codec::kMaxEnvelopeBytes + 1), Reason::TooLarge, "envelope: 16385 bytes, at most 16384 allowed"},
      {"envelope-message-invalid-utf8.pb", "message text ending in byte 0xff",
       broken(validMessageEnvelope(), [](E& e) { e.mutable_message()->set_text("On scene \xff"); }), Reason::Malformed,
       "bytes are not a valid mdc.v1.Envelope"},
      // Header.
      {"envelope-version-2.pb", "protocol version 2", broken(validStatusEnvelope(), [](E& e) { e.set_version(2); }),
       Reason::UnsupportedVersion, "envelope.version: 2 is not supported"},
      {"envelope-event-id-uuidv4.pb", "event id is a UUIDv4",
       broken(validStatusEnvelope(), [](E& e) { e.set_event_id("550e8400-e29b-41d4-a716-446655440000"); }),
       Reason::BadFormat, "envelope.event_id: \"550e8400-e29b-41d4-a716-446655440000\" is not a UUIDv7"},
      {"envelope-device-id-slash.pb", "device id with a topic separator",
       broken(validStatusEnvelope(), [](E& e) { e.set_device_id("mdc/0042"); }), Reason::BadFormat,
       "envelope.device_id: \"mdc/0042\" must be 1..64 characters"},
      {"envelope-device-id-wildcard.pb", "device id with an MQTT wildcard",
       broken(validStatusEnvelope(), [](E& e) { e.set_device_id("mdc-#"); }), Reason::BadFormat,
       "envelope.device_id: \"mdc-#\""},
      {"envelope-unit-id-empty.pb", "no unit id", broken(validStatusEnvelope(), [](E& e) { e.clear_unit_id(); }),
       Reason::MissingField, "envelope.unit_id: required, is empty"},
      {"envelope-agency-33-chars.pb", "agency of 33 two-byte characters",
       broken(validStatusEnvelope(), [](E& e) { e.set_agency(repeat("é", 33)); }), Reason::TooLong,
       "envelope.agency: 33 characters, at most 32 allowed"},
      {"envelope-seq-0.pb", "a status change with seq 0", broken(validStatusEnvelope(), [](E& e) { e.set_seq(0); }),
       Reason::BadFormat, "envelope.seq: 0 must be >= 1"},
      {"envelope-presence-seq-5.pb", "presence with seq 5", broken(validPresenceEnvelope(), [](E& e) { e.set_seq(5); }),
       Reason::BadFormat, "envelope.seq: 5 must be 0 for presence"},
      {"envelope-recorded-at-2019.pb", "recorded at 2019-01-01",
       broken(validStatusEnvelope(), [](E& e) { e.set_recorded_at_ms(1'546'300'800'000); }), Reason::OutOfRange,
       "envelope.recorded_at_ms: 1546300800000 out of range"},
      {"envelope-clock-source-unspecified.pb", "clock source 0",
       broken(validStatusEnvelope(), [](E& e) { e.set_clock_source(v1::CLOCK_SOURCE_UNSPECIFIED); }),
       Reason::MissingField, "envelope.clock_source: required, is unspecified (0)"},
      {"envelope-clock-source-9.pb", "clock source 9 (unknown number)",
       broken(validStatusEnvelope(),
              [](E& e) { e.GetReflection()->SetEnumValue(&e, e.GetDescriptor()->FindFieldByName("clock_source"), 9); }),
       Reason::OutOfRange, "envelope.clock_source: 9 is not a known value"},
      {"envelope-no-body.pb", "header only", envelopeHeader(7).SerializeAsString(), Reason::MissingField,
       "envelope.body: required"},
      // Body.
      {"envelope-avl-batch-empty.pb", "AVL batch without reports",
       broken(validAvlBatchEnvelope(), [](E& e) { e.mutable_avl_batch()->clear_reports(); }), Reason::MissingField,
       "envelope.avl_batch.reports: required, is empty"},
      {"envelope-avl-batch-short-id.pb", "AVL batch report with a 15-byte id",
       broken(validAvlBatchEnvelope(),
              [](E& e) { e.mutable_avl_batch()->mutable_reports(1)->mutable_event_id()->pop_back(); }),
       Reason::BadFormat, "envelope.avl_batch.reports[1].event_id: 15 bytes are not a UUIDv7"},
      {"envelope-lat-91.pb", "AVL latitude 91.5", broken(validAvlEnvelope(), [&](E& e) { avlPos(e)->set_lat(91.5); }),
       Reason::OutOfRange, "envelope.avl.position.lat: 91.5 out of range -90..90"},
      {"envelope-lon-nan.pb", "AVL longitude NaN",
       broken(validAvlEnvelope(), [&](E& e) { avlPos(e)->set_lon(std::numeric_limits<double>::quiet_NaN()); }),
       Reason::OutOfRange, "envelope.avl.position.lon: NaN, a number is required"},
      {"envelope-track-360.pb", "AVL track 360 degrees",
       broken(validAvlEnvelope(), [&](E& e) { avlPos(e)->set_track_deg(360); }), Reason::OutOfRange,
       "envelope.avl.position.track_deg: 360 out of range 0..<360"},
      {"envelope-mode-no-fix.pb", "AVL report without a fix",
       broken(validAvlEnvelope(), [&](E& e) { avlPos(e)->set_mode(v1::FIX_MODE_NO_FIX); }), Reason::OutOfRange,
       "envelope.avl.position.mode: NO_FIX is not a position"},
      {"envelope-avl-no-position.pb", "AVL report without a position",
       broken(validAvlEnvelope(), [](E& e) { e.mutable_avl()->clear_position(); }), Reason::MissingField,
       "envelope.avl.position: required, is absent"},
      {"envelope-message-2001-chars.pb", "message text of 2001 characters",
       broken(validMessageEnvelope(), [](E& e) { e.mutable_message()->set_text(std::string(2001, 'm')); }),
       Reason::TooLong, "envelope.message.text: 2001 characters, at most 2000 allowed"},
      {"envelope-presence-queue-9.pb", "presence with 9 lane depths",
       broken(validPresenceEnvelope(),
              [](E& e) {
                for (int i = 0; i < 7; ++i) e.mutable_presence()->add_queue()->set_lane(v1::LANE_MESSAGE);
              }),
       Reason::TooLong, "envelope.presence.queue: 9 entries, at most 8 allowed"},

      {"downlink-empty.pb", "zero bytes", "", Reason::Malformed, "downlink: 0 bytes are not a valid mdc.v1.Downlink"},
      {"downlink-random-64.pb", "64 random bytes (mt19937 seed 6464)", randomBytes(6464, 64), Reason::Malformed,
       "downlink: 64 bytes are not a valid mdc.v1.Downlink"},
      {"downlink-truncated-assignment.pb", "the first half of downlink-assignment.pb",
       assignment.substr(0, assignment.size() / 2), Reason::Malformed, "bytes are not a valid mdc.v1.Downlink"},
      {"downlink-version-0.pb", "protocol version missing (0)",
       broken(validDispatchMessageDownlink(), [](D& d) { d.clear_version(); }), Reason::UnsupportedVersion,
       "downlink.version: 0 is not supported"},
      {"downlink-seq-0.pb", "a dispatch message with downlink seq 0",
       broken(validDispatchMessageDownlink(), [](D& d) { d.set_seq(0); }), Reason::BadFormat,
       "downlink.seq: 0 must be >= 1 for message"},
      {"downlink-commit-ack-seq-21.pb", "a commit ack with downlink seq 21 (commit acks are unsequenced)",
       broken(validCommitAckDownlink(), [](D& d) { d.set_seq(21); }), Reason::BadFormat,
       "downlink.seq: 21 must be 0 for commit_ack"},
      {"downlink-no-body.pb", "header only", downlinkHeader(30).SerializeAsString(), Reason::MissingField,
       "downlink.body: required, none is set"},
      {"downlink-commit-ack-last-below-first.pb", "commit ack range 5..4",
       broken(validCommitAckDownlink(), [](D& d) { d.mutable_commit_ack()->mutable_committed(1)->set_last(4); }),
       Reason::OutOfRange, "downlink.commit_ack.committed[1].last: 4 is below first 5"},
      {"downlink-commit-ack-1025-ranges.pb", "commit ack with 1025 ranges",
       broken(validCommitAckDownlink(),
              [](D& d) {
                for (uint64_t i = 0; i < 1023; ++i) {
                  auto* r = d.mutable_commit_ack()->add_committed();
                  r->set_first(10 + 2 * i);
                  r->set_last(10 + 2 * i);
                }
              }),
       Reason::TooLong, "downlink.commit_ack.committed: 1025 ranges, at most 1024 allowed"},
      {"downlink-assignment-priority-10.pb", "assignment priority 10",
       broken(validAssignmentDownlink(), [](D& d) { d.mutable_assignment()->set_priority(10); }), Reason::OutOfRange,
       "downlink.assignment.priority: 10 out of range 1..9"},
      {"downlink-assignment-65-units.pb", "assignment with 65 units",
       broken(validAssignmentDownlink(),
              [](D& d) {
                for (int i = 0; i < 63; ++i) d.mutable_assignment()->add_units("U" + std::to_string(i));
              }),
       Reason::TooLong, "downlink.assignment.units: 65 entries, at most 64 allowed"},
      {"downlink-assignment-257-timeline.pb", "assignment with 257 timeline lines",
       broken(validAssignmentDownlink(),
              [](D& d) {
                for (int i = 0; i < 255; ++i) {
                  auto* t = d.mutable_assignment()->add_timeline();
                  t->set_at_ms(kSentAtMs);
                  t->set_text("update " + std::to_string(i));
                }
              }),
       Reason::TooLong, "downlink.assignment.timeline: 257 entries, at most 256 allowed"},
      {"downlink-cfs-accepted-bad-event-id.pb", "CFS accepted for a non-UUID event id",
       broken(validCfsAcceptedDownlink(), [](D& d) { d.mutable_cfs_accepted()->set_event_id("cfs-103"); }),
       Reason::BadFormat, "downlink.cfs_accepted.event_id: \"cfs-103\" is not a UUIDv7"},
      {"downlink-rejection-unspecified.pb", "rejection without a reason",
       broken(validRejectionDownlink(), [](D& d) { d.mutable_rejection()->set_reason(v1::REJECT_REASON_UNSPECIFIED); }),
       Reason::MissingField, "downlink.rejection.reason: required, is unspecified (0)"},
      {"downlink-configuration-11-statuses.pb", "configuration with 11 status buttons",
       broken(validConfigurationDownlink(),
              [](D& d) {
                for (int i = 0; i < 7; ++i) d.mutable_configuration()->add_statuses(v1::UNIT_STATUS_BUSY);
              }),
       Reason::TooLong, "downlink.configuration.statuses: 11 entries, at most 10 allowed"},
      {"downlink-configuration-repeated-status.pb", "configuration with the same status button twice",
       broken(validConfigurationDownlink(),
              [](D& d) { d.mutable_configuration()->add_statuses(v1::UNIT_STATUS_AVAILABLE); }),
       Reason::OutOfRange, "downlink.configuration.statuses[4]: AVAILABLE repeats statuses[0]"},
      {"downlink-assignment-cleared-no-incident.pb", "assignment cleared without naming the CFS",
       broken(validAssignmentClearedDownlink(), [](D& d) { d.mutable_assignment_cleared()->clear_incident_number(); }),
       Reason::MissingField, "downlink.assignment_cleared.incident_number: required, is empty"},
      {"downlink-emergency-ack-no-by.pb", "emergency acknowledged by nobody",
       broken(validEmergencyAckDownlink(), [](D& d) { d.mutable_emergency_ack()->clear_by(); }), Reason::MissingField,
       "downlink.emergency_ack.by: required, is empty"},
  };
}

bool isEnvelopeFile(const std::string& name) { return name.rfind("envelope-", 0) == 0; }

/** The decoder the file name asks for: its error, or an empty Status. */
Status decodeAsNamed(const std::string& name, const std::string& bytes) {
  if (isEnvelopeFile(name)) {
    auto r = codec::decodeEnvelope(bytes);
    if (!r) return r.error();
    return {};
  }
  auto r = codec::decodeDownlink(bytes);
  if (!r) return r.error();
  return {};
}

std::string cell(std::string s) {
  std::string out;
  for (char c : s) out += (c == '|') ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string readme(const std::vector<ValidFile>& valid, const std::vector<InvalidFile>& invalid) {
  std::string md =
      "# Codec corpus\n"
      "\n"
      "Seed inputs for fuzzing `shared/codec` and the expectations the unit test\n"
      "`unit:corpus: ...` (tests/unit/shared/test_corpus.cpp) checks on every run.\n"
      "Generated by `mdc-corpus-writer` (tests/unit/shared/corpus_writer.cpp) from\n"
      "fixed samples (tests/unit/shared/wire_samples.cpp): fixed event ids, times\n"
      "(2026-01-01T08:30Z) and seeds, so regenerating gives the same bytes.\n"
      "Do not edit the files here by hand; change the writer and regenerate.\n"
      "\n"
      "- **Which decoder**: the file name's prefix. `envelope-*.pb` goes to\n"
      "  `codec::decodeEnvelope` (uplink, device -> backend), `downlink-*.pb` to\n"
      "  `codec::decodeDownlink` (backend -> device).\n"
      "- **valid/**: each file decodes, and re-encoding it gives the same bytes.\n"
      "- **invalid/**: each file is rejected with the reason and a message\n"
      "  containing the text listed below, never a crash. `invalid/expected.tsv`\n"
      "  holds the same table for the test: `file<TAB>reason<TAB>message substring`,\n"
      "  one line per `.pb` file, no more, no less.\n"
      "\n"
      "## Regenerate\n"
      "\n"
      "```sh\n"
      "cmake --build build --target mdc-corpus-writer\n"
      "build/tests/unit/shared/mdc-corpus-writer tests/data/corpus\n"
      "ctest --test-dir build -R 'unit:corpus'\n"
      "```\n"
      "\n"
      "The writer deletes the `.pb` files in `valid/` and `invalid/`, checks every\n"
      "new file against the decoder before writing it, and exits non-zero (writing\n"
      "nothing) if a file does not behave as stated.\n"
      "\n"
      "## valid/ (" + std::to_string(valid.size()) + " files)\n"
      "\n"
      "| file | bytes | content |\n"
      "|---|---|---|\n";
  for (const auto& f : valid)
    md += "| `" + f.name + "` | " + std::to_string(f.bytes.size()) + " | " + cell(f.what) + " |\n";
  md += "\n## invalid/ (" + std::to_string(invalid.size()) +
        " files)\n"
        "\n"
        "| file | bytes | content | reason | message contains |\n"
        "|---|---|---|---|---|\n";
  for (const auto& f : invalid)
    md += "| `" + f.name + "` | " + std::to_string(f.bytes.size()) + " | " + cell(f.what) + " | `" +
          codec::reasonName(f.reason) + "` | `" + cell(f.messageContains) + "` |\n";
  return md;
}

int run(const std::filesystem::path& dir) {
  google::protobuf::LogSilencer quiet;  // the invalid UTF-8 sample makes protobuf log
  const auto valid = validFiles();
  const auto invalid = invalidFiles();

  // Check everything first: a contradicted expectation writes nothing.
  int problems = 0;
  for (const auto& f : valid) {
    Status s = decodeAsNamed(f.name, f.bytes);
    if (!s) {
      std::cerr << "valid/" << f.name << ": rejected: " << s.error().message << "\n";
      ++problems;
    }
  }
  for (const auto& f : invalid) {
    Status s = decodeAsNamed(f.name, f.bytes);
    if (s) {
      std::cerr << "invalid/" << f.name << ": accepted\n";
      ++problems;
    } else if (s.error().code != int(f.reason) || s.error().message.find(f.messageContains) == std::string::npos) {
      std::cerr << "invalid/" << f.name << ": expected " << codec::reasonName(f.reason) << " \""
                << f.messageContains << "\", got " << codec::reasonName(Reason(s.error().code)) << " \""
                << s.error().message << "\"\n";
      ++problems;
    }
  }
  if (problems) {
    std::cerr << problems << " file(s) contradict their expectation; nothing written\n";
    return 1;
  }

  std::error_code ec;
  for (const char* sub : {"valid", "invalid"}) {
    std::filesystem::create_directories(dir / sub, ec);
    if (ec) {
      std::cerr << (dir / sub).string() << ": " << ec.message() << "\n";
      return 1;
    }
    for (const auto& entry : std::filesystem::directory_iterator(dir / sub))
      if (entry.path().extension() == ".pb") std::filesystem::remove(entry.path());
  }

  auto write = [&](const std::filesystem::path& path, const std::string& content) {
    Status s = files::writeAtomic(path.string(), content);
    if (!s) throw std::runtime_error(s.error().message);
  };
  for (const auto& f : valid) write(dir / "valid" / f.name, f.bytes);
  std::string tsv = "# file\treason\tmessage contains (see README.md)\n";
  for (const auto& f : invalid) {
    write(dir / "invalid" / f.name, f.bytes);
    tsv += f.name + "\t" + codec::reasonName(f.reason) + "\t" + f.messageContains + "\n";
  }
  write(dir / "invalid" / "expected.tsv", tsv);
  write(dir / "README.md", readme(valid, invalid));
  std::cout << "wrote " << valid.size() << " valid and " << invalid.size() << " invalid files to " << dir.string()
            << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: mdc-corpus-writer <corpus-dir>   (e.g. tests/data/corpus)\n";
    return 2;
  }
  try {
    return run(argv[1]);
  } catch (const std::exception& e) {
    std::cerr << "mdc-corpus-writer: " << e.what() << "\n";
    return 1;
  }
}
