#pragma once
// Valid v1 wire messages with fixed ids and times, one per body. Tests take one,
// break a single field, and expect the codec to name that field; the corpus
// writer serialises them so the files are the same on every run.
#include <cstdint>
#include <string>
#include <vector>

#include "mdc/v1/local.pb.h"
#include "mdc/v1/mdc.pb.h"

namespace mdc::test::samples {

inline constexpr const char* kDeviceId = "mdc-0042";
inline constexpr const char* kUnitId = "E12";
inline constexpr const char* kAgency = "MFD";
/** 2026-01-01T08:30:00.000Z: when the responder acted in every sample. */
inline constexpr int64_t kRecordedAtMs = 1'767'256'200'000;
/** 2026-01-01T08:30:01.500Z: when the backend sent every sample downlink. */
inline constexpr int64_t kSentAtMs = 1'767'256'201'500;

/** A UUIDv7 whose timestamp is kRecordedAtMs and whose last digits are n:
 *  "019b78ad-9340-7000-8000-000000000007" for n = 7. */
std::string eventId(uint64_t n);

/** A 3D fix in lower Manhattan with every optional measurement present. */
v1::Position position3d();
/** A 2D fix: altitude, speed, track and error unknown (NaN). */
v1::Position position2dUnknowns();

/** The common header: version 1, eventId(seq), kDeviceId, kUnitId, kAgency,
 *  seq, kRecordedAtMs, GPS clock; no body. */
v1::Envelope envelopeHeader(uint64_t seq);

v1::Envelope validStatusEnvelope();         ///< EN_ROUTE to 2026-000123 with a position
v1::Envelope validAvlEnvelope();            ///< live report, distance trigger
v1::Envelope validCfsEnvelope();            ///< TRAFFIC_STOP with address and note
v1::Envelope validEmergencyEnvelope();      ///< raised from the dash switch
v1::Envelope validAssignmentAckEnvelope();  ///< acknowledges downlink seq 17
v1::Envelope validMessageEnvelope();        ///< short text to dispatch
v1::Envelope validPresenceEnvelope();       ///< online, two lanes waiting, seq 0
v1::Envelope validResyncEnvelope();         ///< after downlink seq 16, seq 0
v1::Envelope validRecordsQueryEnvelope();   ///< plate ABC123 (NY) for CFS 2026-000123, seq 0
/** The backfill AVL events of validAvlBatchEnvelope(), each as it would go alone:
 *  seq 201 (GPS), 202 (GPS, 2D fix, 1 s later), 205 (system clock, 4 s later). */
std::vector<v1::Envelope> backlogAvlEnvelopes();
/** Those three as one AvlBatch (batch id eventId(200)). */
v1::Envelope validAvlBatchEnvelope();

/** The common header: version 1, kUnitId, seq, kSentAtMs; no body. Commit
 *  acks and rejections of input never stored carry seq 0, the rest >= 1. */
v1::Downlink downlinkHeader(uint64_t seq);

v1::Downlink validCommitAckDownlink();      ///< ranges 1..3 and 5..5; downlink seq 0
v1::Downlink validAssignmentDownlink();     ///< 2026-000123, two units, two timeline lines
v1::Downlink validDispatchMessageDownlink();
v1::Downlink validCfsAcceptedDownlink();    ///< for the event of validCfsEnvelope()
v1::Downlink validRejectionDownlink();      ///< event seq 9 refused as malformed; downlink seq 0
v1::Downlink validConfigurationDownlink();  ///< four status buttons, 5 s / 60 s AVL
v1::Downlink validEmergencyAckDownlink();
v1::Downlink validAssignmentClearedDownlink();
v1::Downlink validUnitsNearbyDownlink();      ///< two units, one on the same call; seq 0
v1::Downlink validRecordsAnswerDownlink();    ///< to validRecordsQueryEnvelope(): a stolen vehicle; seq 0
v1::Downlink validSafetyAlertDownlink();      ///< unit E7's hit on 2026-000123

v1::ApiRequest validSetStatusRequest();
v1::ApiRequest validSetEmergencyRequest();
v1::ApiRequest validCreateCfsRequest();
v1::ApiRequest validAckAssignmentRequest();
v1::ApiRequest validSendMessageRequest();
v1::ApiRequest validGetStateRequest();
v1::ApiRequest validSubscribeRequest();
v1::ApiRequest validRecordsQueryRequest();    ///< person DOE, JOHN 1980-04-12 for TRAFFIC_STOP

/** n copies of s (for length limits: repeat("é", 33) is 33 characters, 66 bytes). */
std::string repeat(const std::string& s, size_t n);

}  // namespace mdc::test::samples
