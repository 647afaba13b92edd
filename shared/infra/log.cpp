#include "shared/infra/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "shared/wire/clock.h"
#include "shared/infra/service_notify.h"

namespace mdc::log {

namespace {
Level initialLevel() {
  Level l = Level::Info;
  if (const char* env = std::getenv("MDC_LOG_LEVEL")) parseLevel(env, l);
  return l;
}
std::atomic<Level>& current() {
  static std::atomic<Level> level{initialLevel()};
  return level;
}
const char* name(Level l) {
  switch (l) {
    case Level::Debug: return "DEBUG";
    case Level::Info: return "INFO ";
    case Level::Warn: return "WARN ";
    case Level::Error: return "ERROR";
  }
  return "?    ";
}
}  // namespace

void setLevel(Level l) { current() = l; }
Level level() { return current(); }

bool parseLevel(std::string_view text, Level& out) {
  if (text == "debug") out = Level::Debug;
  else if (text == "info") out = Level::Info;
  else if (text == "warn") out = Level::Warn;
  else if (text == "error") out = Level::Error;
  else return false;
  return true;
}

namespace {
// Under systemd with stderr to the journal: "<N>component: text", where N is
// the syslog priority journald files the line under (it adds the time).
bool toJournal() {
  static const bool journal = service::stderrIsJournal();
  return journal;
}
int priority(Level l) {
  switch (l) {
    case Level::Debug: return 7;
    case Level::Info: return 6;
    case Level::Warn: return 4;
    case Level::Error: return 3;
  }
  return 6;
}
}  // namespace

void write(Level l, std::string_view component, std::string_view text) {
  if (l < current()) return;
  std::string line;
  if (toJournal()) {
    line = "<" + std::to_string(priority(l)) + ">";
  } else {
    line = formatIsoUtc(SystemClock::instance().nowMs());
    line += ' ';
    line += name(l);
    line += ' ';
  }
  line += component;
  line += ": ";
  for (char c : text) line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  // One write per line keeps lines whole when threads log at once.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= size_t(n);
  }
}

}  // namespace mdc::log
