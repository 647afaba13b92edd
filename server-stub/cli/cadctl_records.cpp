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
  auto st = s.db().prepare(
      "SELECT query_id, at_ms, agency, unit_id, device_id, subject, incident_number, reason_code, answered_at_ms, "
      "outcome, hit, pos, answer_pos FROM records_queries WHERE (?1='' OR agency=?1) AND (?2='' OR unit_id=?2) AND "
      "at_ms>=?3 ORDER BY at_ms, pos");
  st.bind(1, agency).bind(2, unit).bind(3, sinceMs);
  QJsonArray arr;
  int n = 0, hits = 0, unanswered = 0;
  if (!json)
    std::printf("%-24s %-6s %-6s %-14s %-34s %-16s %-8s %s\n", "WHEN", "AGENCY", "UNIT", "DEVICE", "SUBJECT",
                "REASON", "ANSWER", "OUTCOME");
  while (st.step()) {
    ++n;
    const bool answered = st.i64(8) > 0;
    hits += st.i64(10) ? 1 : 0;
    unanswered += answered ? 0 : 1;
    const std::string reason = st.text(6).empty() ? st.text(7) : "CFS " + st.text(6);
    arr.append(QJsonObject{{"query_id", QString::fromStdString(st.text(0))},
                           {"at_ms", qint64(st.i64(1))},
                           {"agency", QString::fromStdString(st.text(2))},
                           {"unit", QString::fromStdString(st.text(3))},
                           {"device", QString::fromStdString(st.text(4))},
                           {"subject", QString::fromStdString(st.text(5))},
                           {"incident", QString::fromStdString(st.text(6))},
                           {"reason_code", QString::fromStdString(st.text(7))},
                           {"answered_at_ms", qint64(st.i64(8))},
                           {"outcome", QString::fromStdString(st.text(9))},
                           {"hit", st.i64(10) == 1},
                           {"query_pos", qint64(st.i64(11))},
                           {"answer_pos", qint64(st.i64(12))}});
    if (!json) {
      std::string answer = answered ? std::to_string(st.i64(8) - st.i64(1)) + " ms" : "-";
      std::printf("%-24s %-6s %-6s %-14s %-34s %-16s %-8s %s\n", iso(st.i64(1)).c_str(), st.text(2).c_str(),
                  st.text(3).c_str(), st.text(4).c_str(), st.text(5).c_str(), reason.c_str(), answer.c_str(),
                  answered ? st.text(9).c_str() : "NO ANSWER");
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
