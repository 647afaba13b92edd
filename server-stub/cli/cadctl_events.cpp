#include "server-stub/cli/cadctl_events.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include "mdc/v1/mdc.pb.h"
#include "server-stub/cli/cadctl_print.h"
#include "server-stub/store/read_models.h"
#include "shared/wire/codec.h"

namespace cad::cli {

namespace {

/** What an event says, in a few words. */
std::string eventWhat(const std::string& kind, const std::string& payload) {
  if (kind.rfind("dispatch.", 0) == 0 || kind.rfind("registry.", 0) == 0 || kind.rfind("records.", 0) == 0)
    return payload;
  mdc::v1::Envelope env;
  env.ParseFromString(payload);
  if (env.has_status()) return mdc::codec::statusName(env.status().status());
  if (env.has_avl())
    return std::to_string(env.avl().position().lat()) + "," + std::to_string(env.avl().position().lon()) +
           (env.avl().backfill() ? " backfill" : "");
  if (env.has_cfs()) return env.cfs().cfs_type();
  if (env.has_emergency()) return env.emergency().active() ? "ACTIVATED" : "CLEARED";
  if (env.has_assignment_ack()) return env.assignment_ack().incident_number();
  if (env.has_message()) return env.message().text();
  if (env.has_presence()) return env.presence().online() ? "online" : "offline";
  if (env.has_records_query())
    return mdc::codec::recordsSubjectText(env.records_query()) + " for " +
           (env.records_query().incident_number().empty() ? env.records_query().reason_code()
                                                          : "CFS " + env.records_query().incident_number());
  return "";
}

QJsonObject toJson(const LogEntry& e, bool withCursor) {
  QJsonObject o{{"pos", qint64(e.cursor.pos)},
                {"event_id", QString::fromStdString(e.eventId)},
                {"device", e.deviceId.empty() ? QJsonValue() : QJsonValue(QString::fromStdString(e.deviceId))},
                {"device_seq", e.deviceSeq ? QJsonValue(qint64(*e.deviceSeq)) : QJsonValue()},
                {"unit", QString::fromStdString(e.unitId)},
                {"agency", QString::fromStdString(e.agency)},
                {"kind", QString::fromStdString(e.kind)},
                {"recorded_at_ms", qint64(e.recordedAtMs)},
                {"clock_source", QString::fromStdString(e.clockSource)},
                {"received_at_ms", qint64(e.receivedAtMs)},
                {"actor", QString::fromStdString(e.actor)},
                {"what", QString::fromStdString(eventWhat(e.kind, e.payload))}};
  if (withCursor) o["cursor"] = QString::fromStdString(e.cursor.text());
  return o;
}

void printLine(const LogEntry& e) {
  std::printf("%6lld %s %-22s %-6s %-5s %-15s %s\n", static_cast<long long>(e.cursor.pos), iso(e.receivedAtMs).c_str(),
              e.actor.c_str(), e.unitId.c_str(), e.agency.c_str(), e.kind.c_str(),
              eventWhat(e.kind, e.payload).c_str());
}

volatile std::sig_atomic_t gStop = 0;

}  // namespace

int listEvents(EventStore& s, const std::string& agency, int64_t since, int64_t limit, bool json) {
  // By position: a look at the log, or a log no one writes to any more. A
  // reader that comes back for more follows the cursor instead.
  QJsonArray arr;
  s.log().listLog(since, agency, limit, [&](const LogEntry& e) {
    if (json) arr.append(toJson(e, false));
    else printLine(e);
  });
  if (json) printJson(arr);
  return 0;
}

int followEvents(EventStore& s, const std::string& agency, LogCursor after, int64_t limit, bool follow, bool json) {
  if (follow) {
    std::signal(SIGINT, [](int) { gStop = 1; });
    std::signal(SIGTERM, [](int) { gStop = 1; });
  }
  QJsonArray arr;
  int64_t shown = 0;
  while (!gStop) {
    const int page = int(std::min<int64_t>(follow ? 10'000 : limit - shown, 10'000));
    int n = 0;
    after = s.log().readLog(after, agency, page, [&](const LogEntry& e) {
      ++n;
      if (json && follow) {
        std::printf("%s\n", QJsonDocument(toJson(e, true)).toJson(QJsonDocument::Compact).constData());
      } else if (json) {
        arr.append(toJson(e, true));
      } else {
        printLine(e);
      }
    });
    shown += n;
    if (follow) {
      std::fflush(stdout);
      if (n == 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    } else if (n == 0 || shown >= limit) {
      break;
    }
  }
  if (json && !follow) printJson(arr);
  std::fflush(stdout);
  std::fprintf(stderr, "next: --after %s\n", after.text().c_str());
  return 0;
}

namespace {

int events(EventStore& s, const Args& a, const std::string& agency, bool json) {
  auto since = countOption(a, "--since", 0, 0, INT64_MAX);
  auto limit = countOption(a, "--limit", 1000, 1, 10'000'000);
  if (!since || !limit) return kUsage;
  const bool follow = a.flags.count("--follow") > 0;
  if ((follow || a.opts.count("--after")) && a.opts.count("--since"))
    return usage("events: --since (positions) or --after/--follow (a cursor), not both");
  std::optional<LogCursor> after;
  if (a.opts.count("--after")) {
    after = LogCursor::parse(a.opts.at("--after"));
    if (!after) return usage("--after \"" + a.opts.at("--after") + "\": expected a cursor TX:POS, as events printed it");
  }
  if (!follow && !after) return listEvents(s, agency, *since, *limit, json);
  return followEvents(s, agency, after.value_or(LogCursor{}), *limit, follow, json);
}

}  // namespace

int eventsCommand(Invocation& inv) {
  return withStore(inv, [&](EventStore& s) { return events(s, inv.a, inv.agency, inv.json); });
}

int countCommand(Invocation& inv) {
  return withStore(inv, [](EventStore& s) {
    std::cout << s.log().stats().events << "\n";
    return kOk;
  });
}

int refusalsCommand(Invocation& inv) {
  return withStore(inv, [&](EventStore& s) {
    auto limit = countOption(inv.a, "--limit", 50, 1, 10'000'000);
    if (!limit) return kUsage;
    for (const auto& r : ReadModels(s).recentRefusals(*limit))
      std::printf("%s %-16s %-14s %s\n", iso(r.receivedAtMs).c_str(), r.refusal.deviceId.c_str(),
                  r.refusal.reason.c_str(), r.refusal.detail.c_str());
    return kOk;
  });
}

}  // namespace cad::cli
