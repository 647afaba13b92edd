#include "server-stub/store/read_models.h"
#include "server-stub/cli/cadctl_schedule.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "server-stub/cli/cadctl_enrol.h"
#include "server-stub/cli/cadctl_print.h"
#include "shared/wire/clock.h"

namespace cad::cli {

namespace {

/** "now", or an ISO time ("2026-12-24T18:00:00Z"; without a zone, UTC). */
std::optional<int64_t> parseTime(const std::string& text, int64_t nowMs) {
  if (text == "now") return nowMs;
  QDateTime t = QDateTime::fromString(QString::fromStdString(text), Qt::ISODate);
  if (!t.isValid()) return std::nullopt;
  if (t.timeSpec() == Qt::LocalTime) t.setTimeSpec(Qt::UTC);
  return t.toMSecsSinceEpoch();
}

std::optional<ControlRequest> bad(const std::string& why) {
  std::cerr << "cadctl: schedule create: " << why << "\n(see cadctl --help)\n";
  return std::nullopt;
}

}  // namespace

std::optional<ControlRequest> scheduleRequest(ControlRequest req, const std::map<std::string, std::string>& opts,
                                              int64_t nowMs) {
  auto opt = [&](const char* k) { return opts.count(k) ? opts.at(k) : std::string(); };
  if (opt("--type").empty() || opt("--address").empty() || opt("--every").empty())
    return bad("--type, --address and --every are required");
  auto every = parseDuration(opt("--every"));
  if (!every) return bad("--every \"" + opt("--every") + "\": a duration such as 12h or 7d");
  auto from = parseTime(opts.count("--from") ? opt("--from") : "now", nowMs);
  if (!from) return bad("--from \"" + opt("--from") + "\": now, or a time such as 2026-12-24T18:00:00Z");
  if (!opts.count("--until")) return bad("--until is required (a time such as 2027-01-06T18:00:00Z)");
  auto until = parseTime(opt("--until"), nowMs);
  if (!until) return bad("--until \"" + opt("--until") + "\": a time such as 2027-01-06T18:00:00Z");
  cad::control::ScheduleCreate& r = *req.mutable_schedule_create();
  r.set_type(opt("--type"));
  r.set_address(opt("--address"));
  r.set_every_s(*every);
  r.set_from_ms(*from);
  r.set_until_ms(*until);
  if (opts.count("--notes")) r.set_notes(opt("--notes"));
  if (opts.count("--priority")) {
    char* end = nullptr;
    long p = std::strtol(opt("--priority").c_str(), &end, 10);
    if (*end || p < 1 || p > 9) return bad("--priority \"" + opt("--priority") + "\": out of range 1-9");
    r.set_priority(int(p));
  }
  if (opts.count("--lat") != opts.count("--lon")) return bad("--lat and --lon go together");
  if (opts.count("--lat")) {
    char* e1 = nullptr;
    char* e2 = nullptr;
    double lat = std::strtod(opt("--lat").c_str(), &e1), lon = std::strtod(opt("--lon").c_str(), &e2);
    if (*e1 || *e2) return bad("--lat/--lon must be numbers");
    r.mutable_location()->set_lat(lat);
    r.mutable_location()->set_lon(lon);
  }
  return req;
}

int scheduleList(EventStore& s, const std::string& agency, bool json) {
  const auto all = ReadModels(s).schedules(agency);
  auto every = [](int64_t ms) {
    return ms % 86'400'000 == 0 ? std::to_string(ms / 86'400'000) + "d"
           : ms % 3'600'000 == 0 ? std::to_string(ms / 3'600'000) + "h"
                                 : std::to_string(ms / 60'000) + "m";
  };
  if (json) {
    QJsonArray arr;
    for (const auto& x : all) {
      QJsonObject o{{"schedule", QString::fromStdString(x.id)},
                    {"agency", QString::fromStdString(x.agency)},
                    {"type", QString::fromStdString(x.cfsType)},
                    {"priority", x.priority},
                    {"address", QString::fromStdString(x.address)},
                    {"notes", QString::fromStdString(x.notes)},
                    {"every_ms", qint64(x.everyMs)},
                    {"from_ms", qint64(x.fromMs)},
                    {"until_ms", qint64(x.untilMs)},
                    {"next_at_ms", qint64(x.state == "active" ? x.nextAtMs : 0)},
                    {"state", QString::fromStdString(x.state)},
                    {"created_by", QString::fromStdString(x.createdBy)},
                    {"occurrences", x.occurrences},
                    {"late", x.late},
                    {"last_incident", QString::fromStdString(x.lastIncident)}};
      if (x.location) {
        o["lat"] = x.location->first;
        o["lon"] = x.location->second;
      }
      arr.append(o);
    }
    printJson(arr);
    return 0;
  }
  std::printf("%-36s %-6s %-14s %-5s %-9s %-24s %-24s %-5s %-5s %s\n", "SCHEDULE", "AGENCY", "TYPE", "EVERY", "STATE",
              "NEXT", "UNTIL", "MADE", "LATE", "ADDRESS");
  for (const auto& x : all)
    std::printf("%-36s %-6s %-14s %-5s %-9s %-24s %-24s %-5d %-5d %s\n", x.id.c_str(), x.agency.c_str(),
                x.cfsType.c_str(), every(x.everyMs).c_str(), x.state.c_str(),
                x.state == "active" ? mdc::formatIsoUtc(x.nextAtMs).c_str() : "-",
                mdc::formatIsoUtc(x.untilMs).c_str(), x.occurrences, x.late, x.address.c_str());
  std::printf("%zu schedules\n", all.size());
  return 0;
}

int scheduleCommand(Invocation& inv) {
  const Args& a = inv.a;
  if (a.pos.size() >= 2 && (a.pos[1] == "create" || a.pos[1] == "cancel")) {
    if (inv.agency.empty()) return usage("schedule " + a.pos[1] + ": --agency (or $CAD_AGENCY) is required");
    if (a.pos[1] == "cancel") {
      if (a.pos.size() != 3) return usage("schedule cancel SCHEDULE");
      ControlRequest r = inv.request();
      r.mutable_schedule_cancel()->set_schedule(a.pos[2]);
      return control(inv.control, r);
    }
    if (a.pos.size() != 2) return usage("schedule create takes options only");
    auto r = scheduleRequest(inv.request(), a.opts, mdc::SystemClock::instance().nowMs());
    if (!r) return kUsage;
    return control(inv.control, *r);
  }
  return withStore(inv, [&](EventStore& s) {
    if (a.pos.size() != 2 || a.pos[1] != "list") return usage("schedule create ... | schedule list | schedule cancel ID");
    return scheduleList(s, inv.agency, inv.json);
  });
}

}  // namespace cad::cli
