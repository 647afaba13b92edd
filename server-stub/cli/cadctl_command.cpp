#include "server-stub/cli/cadctl_command.h"

#include <QJsonDocument>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "server-stub/cli/cadctl_print.h"
#include "server-stub/service/control_frames.h"

namespace cad::cli {

std::string Invocation::opt(const std::string& name, const std::string& fallback) const {
  auto it = a.opts.find(name);
  return it == a.opts.end() ? fallback : it->second;
}

ControlRequest Invocation::request() const {
  ControlRequest r;
  r.set_agency(agency);
  r.set_actor(actor);
  return r;
}

int usage(const std::string& why) {
  std::cerr << "cadctl: " << why << "\n(see cadctl --help)\n";
  return kUsage;
}

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

namespace {

// The reply frame; nullopt when none came whole before the 30 s deadline or
// the stub's close, or it does not decode.
std::optional<cad::control::ControlReply> readReply(int fd) {
  cad::control::FrameReader frames;
  std::string frame;
  uint32_t announced = 0;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto next = frames.next(frame, announced);
    if (next == cad::control::FrameReader::Next::TooLarge) return std::nullopt;
    if (next == cad::control::FrameReader::Next::Frame) {
      cad::control::ControlReply reply;
      if (!reply.ParseFromString(frame)) return std::nullopt;
      return reply;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    frames.feed(std::string_view(buf, size_t(n)));
  }
  return std::nullopt;
}

template <class Counts>
QJsonObject countsOf(const Counts& m) {
  QJsonObject o;
  for (const auto& [k, v] : m) o[QString::fromStdString(k)] = qint64(v);
  return o;
}

// The counters as the stub has always printed them (keys in JSON order).
QJsonObject statsJson(const cad::control::StatsReply& s) {
  QJsonObject c{{"received", qint64(s.received())},
                {"appended", qint64(s.appended())},
                {"duplicates", qint64(s.duplicates())},
                {"refused", qint64(s.refused())},
                {"batches", qint64(s.batches())},
                {"max_batch", qint64(s.max_batch())},
                {"commit_ms_max", qint64(s.commit_ms_max())},
                {"slow_commits", qint64(s.slow_commits())},
                {"wal_checkpoints", qint64(s.wal_checkpoints())},
                {"wal_checkpoint_ms_max", qint64(s.wal_checkpoint_ms_max())},
                {"avl_batches", qint64(s.avl_batches())},
                {"batched_reports", qint64(s.batched_reports())},
                {"acks_published", qint64(s.acks_published())},
                {"downlinks_published", qint64(s.downlinks_published())},
                {"resyncs", qint64(s.resyncs())},
                {"commit_failures", qint64(s.commit_failures())},
                {"publish_failures", qint64(s.publish_failures())},
                {"downlinks_resent", qint64(s.downlinks_resent())},
                {"nearby_sent", qint64(s.nearby_sent())},
                {"boards_sent", qint64(s.boards_sent())},
                {"records_queries", qint64(s.records_queries())},
                {"records_hits", qint64(s.records_hits())},
                {"clock_ahead_clamped", qint64(s.clock_ahead_clamped())},
                {"online", s.online()},
                {"ingest", QString::fromStdString(s.ingest())},
                {"amqp_up", s.amqp_up()},
                {"redelivered", qint64(s.redelivered())},
                {"ready", s.ready()}};
  c["refused_by_reason"] = countsOf(s.refused_by_reason());
  c["duplicates_by_device"] = countsOf(s.duplicates_by_device());
  c["ingest_busy_ms"] = qint64(s.ingest_busy_ms());
  c["ingest_lag_ms"] = qint64(s.ingest_lag_ms());
  c["ingest_lag_ms_max"] = qint64(s.ingest_lag_ms_max());
  c["broker_dropped"] = qint64(s.broker_dropped());
  c["amqp_publish_dropped"] = qint64(s.amqp_publish_dropped());
  return c;
}

}  // namespace

int control(const std::string& path, const ControlRequest& request, bool printStats) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return usage("--control \"" + path + "\": path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::cerr << "cadctl: cannot reach the stub at \"" << path << "\": " << std::strerror(errno)
              << " (is cad-stub running?)\n";
    if (fd >= 0) ::close(fd);
    return kUnreachable;
  }
  const std::string frame = cad::control::frame(request);
  (void)::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL);
  const auto reply = readReply(fd);
  ::close(fd);
  if (!reply) {
    std::cerr << "cadctl: no reply from the stub\n";
    return kUnreachable;
  }
  if (!reply->ok()) {
    std::cerr << "cadctl: refused: " << reply->error() << "\n";
    return kFailed;
  }
  if (printStats) printJson(statsJson(reply->stats()));
  else std::cout << reply->result() << "\n";
  return kOk;
}

std::optional<int64_t> countOption(const Args& a, const std::string& name, int64_t fallback, int64_t min, int64_t max) {
  auto it = a.opts.find(name);
  if (it == a.opts.end()) return fallback;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end || errno == ERANGE || v < min || v > max) {
    usage(name + " \"" + it->second + "\": expected a whole number " + std::to_string(min) + "-" + std::to_string(max));
    return std::nullopt;
  }
  return v;
}

int withStore(const Invocation& inv, const std::function<int(EventStore&)>& read) {
  auto store = EventStore::open(inv.dbPath, /*readOnly=*/true);
  if (!store) {
    std::cerr << "cadctl: " << store.error().message << "\n";
    return kUnreachable;
  }
  return read(**store);
}

int unknownCommand(const Invocation& inv) {
  return withStore(inv, [&](EventStore&) { return usage("unknown command \"" + inv.a.pos[0] + "\""); });
}

}  // namespace cad::cli
