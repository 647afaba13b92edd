#include "server-stub/cli/cadctl_records.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "server-stub/cli/cadctl_print.h"
#include "server-stub/store/read_models.h"
#include "server-stub/domain/records.h"
#include "shared/wire/clock.h"

namespace cad::cli {

std::optional<int64_t> parseSince(const std::string& text, int64_t nowMs) {
  if (text.size() >= 2 && text.size() <= 8) {
    char unit = text.back();
    std::string digits = text.substr(0, text.size() - 1);
    if ((unit == 'm' || unit == 'h' || unit == 'd') &&
        digits.find_first_not_of("0123456789") == std::string::npos) {
      int64_t n = std::stoll(digits);
      int64_t ms = n * (unit == 'm' ? 60'000 : unit == 'h' ? 3'600'000 : 86'400'000);
      return nowMs - ms;
    }
  }
  QDateTime t = QDateTime::fromString(QString::fromStdString(text), Qt::ISODate);
  if (!t.isValid()) {
    QDate d = QDate::fromString(QString::fromStdString(text), Qt::ISODate);
    if (!d.isValid()) return std::nullopt;
    t = QDateTime(d, QTime(0, 0), Qt::UTC);
  }
  if (t.timeSpec() == Qt::LocalTime) t.setTimeSpec(Qt::UTC);  // without a zone: UTC, like every time cadctl prints
  return t.toMSecsSinceEpoch();
}

int records(const std::vector<std::string>& args, const std::string& recordsPath, bool dryRun, bool json) {
  if (args.size() < 2 || (args[1] != "import" && args[1] != "stats")) {
    std::cerr << "cadctl: records import FILE... [--dry-run] | records stats\n(see cadctl --help)\n";
    return 2;
  }
  if (args[1] == "import" && args.size() < 3) {
    std::cerr << "cadctl: records import FILE... [--dry-run]\n(see cadctl --help)\n";
    return 2;
  }
  auto sys = records::RecordsSystem::open(recordsPath);
  if (!sys) {
    std::cerr << "cadctl: " << sys.error().message << "\n";
    return kUnreachable;
  }
  if (args[1] == "stats") {
    auto c = (*sys)->counts();
    if (json)
      printJson(QJsonObject{{"vehicles", qint64(c.vehicles)}, {"persons", qint64(c.persons)}, {"flags", qint64(c.flags)}});
    else
      std::cout << recordsPath << ": " << c.vehicles << " vehicles, " << c.persons << " persons, " << c.flags
                << " flags\n";
    return kOk;
  }
  // Every file is checked before any is written: a bad line anywhere and nothing is imported.
  std::vector<std::pair<std::string, std::string>> files;
  for (size_t i = 2; i < args.size(); ++i) {
    std::ifstream in(args[i], std::ios::binary);
    if (!in) {
      std::cerr << "cadctl: records import: \"" << args[i] << "\": cannot read the file\n";
      return kFailed;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    files.emplace_back(args[i], ss.str());
  }
  bool bad = false;
  for (const auto& [name, text] : files) {
    auto r = (*sys)->importCsv(text, /*dryRun=*/true);
    if (!r) {
      std::cerr << "cadctl: " << r.error().message << "\n";
      return kUnreachable;
    }
    for (const auto& e : r->errors) std::cerr << name << ": " << e << "\n";
    bad = bad || !r->errors.empty();
  }
  if (bad) {
    std::cerr << "cadctl: records import: nothing imported (fix the lines above)\n";
    return kFailed;
  }
  for (const auto& [name, text] : files) {
    auto r = (*sys)->importCsv(text, dryRun);
    if (!r) {
      std::cerr << "cadctl: " << r.error().message << "\n";
      return kUnreachable;
    }
    std::cout << name << ": " << r->table << ": " << r->rows << " rows, " << r->added << " new, " << r->replaced
              << " replaced" << (dryRun ? " (dry run: nothing written)" : "") << "\n";
  }
  return kOk;
}

int auditQueries(EventStore& s, const std::string& agency, const std::string& unit, int64_t sinceMs, bool json) {
  QJsonArray arr;
  int n = 0, hits = 0, unanswered = 0;
  if (!json)
    std::printf("%-24s %-6s %-6s %-14s %-34s %-16s %-8s %s\n", "WHEN", "AGENCY", "UNIT", "DEVICE", "SUBJECT",
                "REASON", "ANSWER", "OUTCOME");
  for (const auto& q : ReadModels(s).recordsQueries(agency, unit, sinceMs)) {
    ++n;
    const bool answered = q.answeredAtMs > 0;
    hits += q.hit ? 1 : 0;
    unanswered += answered ? 0 : 1;
    const std::string reason = q.incident.empty() ? q.reasonCode : "CFS " + q.incident;
    arr.append(QJsonObject{{"query_id", QString::fromStdString(q.queryId)},
                           {"at_ms", qint64(q.atMs)},
                           {"agency", QString::fromStdString(q.agency)},
                           {"unit", QString::fromStdString(q.unit)},
                           {"device", QString::fromStdString(q.device)},
                           {"subject", QString::fromStdString(q.subject)},
                           {"incident", QString::fromStdString(q.incident)},
                           {"reason_code", QString::fromStdString(q.reasonCode)},
                           {"answered_at_ms", qint64(q.answeredAtMs)},
                           {"outcome", QString::fromStdString(q.outcome)},
                           {"hit", q.hit},
                           {"query_pos", qint64(q.queryPos)},
                           {"answer_pos", qint64(q.answerPos)}});
    if (!json) {
      std::string answer = answered ? std::to_string(q.answeredAtMs - q.atMs) + " ms" : "-";
      std::printf("%-24s %-6s %-6s %-14s %-34s %-16s %-8s %s\n", iso(q.atMs).c_str(), q.agency.c_str(),
                  q.unit.c_str(), q.device.c_str(), q.subject.c_str(), reason.c_str(), answer.c_str(),
                  answered ? q.outcome.c_str() : "NO ANSWER");
    }
  }
  if (json) printJson(arr);
  else
    std::printf("%d queries, %d with an officer-safety hit, %d without an answer\n", n, hits, unanswered);
  return kOk;
}

int recordsCommand(Invocation& inv) {
  return records(inv.a.pos, inv.opt("--records", sideFileBase(inv.dbPath) + ".records"),
                 inv.a.flags.count("--dry-run") > 0, inv.json);
}

int auditCommand(Invocation& inv) {
  return withStore(inv, [&](EventStore& s) {
    Args& a = inv.a;
    if (a.pos.size() != 2 || a.pos[1] != "queries") return usage("audit queries [--unit U] [--since T]");
    int64_t since = 0;
    if (a.opts.count("--since")) {
      auto t = parseSince(a.opts["--since"], mdc::SystemClock::instance().nowMs());
      if (!t) return usage("--since \"" + a.opts["--since"] + "\": expected a time such as 2026-12-01T08:00:00Z or an age such as 2h");
      since = *t;
    }
    return auditQueries(s, inv.agency, inv.opt("--unit"), since, inv.json);
  });
}

}  // namespace cad::cli
