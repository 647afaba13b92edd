#include "tests/support/stack.h"

#include "agent/store.h"
#include "shared/wire/clock.h"
#include "shared/wire/uuid.h"
#include "tests/support/nmea_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <QJsonDocument>
#include <QJsonObject>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace mdc::test {

namespace {
bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

QJsonArray jsonArray(const CommandResult& r) {
  return QJsonDocument::fromJson(QByteArray::fromStdString(r.output)).array();
}

ProcessUsage processUsage(pid_t pid) {
  ProcessUsage u;
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');  // the command name may contain spaces
  if (close != std::string::npos) {
    std::istringstream rest(stat.substr(close + 2));
    std::vector<std::string> f;
    std::string x;
    while (rest >> x) f.push_back(x);
    if (!f.empty() && !f[0].empty()) u.state = f[0][0];
    if (f.size() > 13) u.cpuSeconds = double(std::stol(f[11]) + std::stol(f[12])) / double(sysconf(_SC_CLK_TCK));
  }
  std::istringstream status(slurp("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) u.rssKb = std::stol(line.substr(6));
  return u;
}

std::map<std::string, int> eventsOfKind(const CadStub& stub, const std::string& kind, int& total) {
  auto r = stub.cadctl({"events", "--json", "--limit", "10000000"});
  if (r.exitCode != 0) throw std::runtime_error("cadctl events: " + r.output);
  const QJsonArray events = jsonArray(r);
  std::map<std::string, int> seen;
  total = 0;
  for (const auto& v : events) {
    const auto o = v.toObject();
    if (o.value("kind").toString().toStdString() != kind) continue;
    ++seen[o.value("event_id").toString().toStdString()];
    ++total;
  }
  return seen;
}

int unitEventCount(const CadStub& stub, const std::string& kind, const std::string& unit) {
  int n = 0;
  for (const auto& e : jsonArray(stub.cadctl({"events", "--json", "--limit", "10000000"})))
    if (e.toObject().value("kind").toString().toStdString() == kind &&
        e.toObject().value("unit").toString().toStdString() == unit)
      ++n;
  return n;
}

std::optional<bool> boardOnline(const CadStub& stub, const std::string& unit) {
  for (const auto& u : jsonArray(stub.cadctl({"board", "--json"})))
    if (u.toObject().value("unit").toString().toStdString() == unit) return u.toObject().value("online").toBool();
  return std::nullopt;
}

std::string program(const std::string& relative) { return env("MDC_BINARY_DIR") + "/" + relative; }

void prefillOutbox(const std::string& storePath, const std::string& device, const std::string& unit,
                   const std::string& agency, int statuses, int avl, int64_t capBytes, int messages) {
  auto store = agent::Store::open(storePath, {capBytes, 500}, SystemClock::instance());
  if (!store) throw std::runtime_error(store.error().message);
  UuidV7Generator ids;
  const int64_t now = SystemClock::instance().nowMs();
  auto header = [&](int64_t at) {
    v1::Envelope e;
    e.set_version(1);
    e.set_event_id(ids.next());
    e.set_device_id(device);
    e.set_unit_id(unit);
    e.set_agency(agency);
    e.set_clock_source(v1::CLOCK_SOURCE_GPS);
    e.set_recorded_at_ms(at);
    return e;
  };
  std::vector<v1::Envelope> batch;
  const int64_t t0 = now - int64_t(avl) * 1000;
  for (int i = 0; i < avl; ++i) {
    auto e = header(t0 + int64_t(i) * 1000);
    auto* p = e.mutable_avl()->mutable_position();
    p->set_lat(40.70 + i * 1e-6);
    p->set_lon(-74.0);
    p->set_mode(v1::FIX_MODE_3D);
    p->set_alt_m(10);
    p->set_speed_mps(12);
    p->set_track_deg(90);
    p->set_eph_m(5);
    p->set_satellites(9);
    p->set_fix_time_ms(e.recorded_at_ms());
    e.mutable_avl()->set_trigger(v1::AVL_TRIGGER_INTERVAL);
    batch.push_back(std::move(e));
    if (batch.size() == 5000 || i + 1 == avl) {
      if (auto r = (*store)->appendAvl(batch); !r) throw std::runtime_error(r.error().message);
      batch.clear();
    }
  }
  for (int i = 0; i < statuses; ++i) {
    auto e = header(now);
    e.mutable_status()->set_status(i % 2 ? v1::UNIT_STATUS_EN_ROUTE : v1::UNIT_STATUS_ON_SCENE);
    if (auto r = (*store)->enqueue(e, v1::LANE_STATUS, {"status", "X"}); !r) throw std::runtime_error(r.error().message);
  }
  for (int i = 0; i < messages; ++i) {
    auto e = header(now);
    const std::string text = "message " + std::to_string(i + 1) + " from " + unit + " while offline";
    e.mutable_message()->set_text(text);
    if (auto r = (*store)->enqueue(e, v1::LANE_MESSAGE, {"message", "message", text}); !r)
      throw std::runtime_error(r.error().message);
  }
}

CommandResult run(const std::vector<std::string>& argv, const TempDir& dir, std::chrono::milliseconds timeout) {
  static int counter = 0;
  std::string logPath = dir.file("cmd-" + std::to_string(++counter) + ".log");
  Process p(argv, logPath);
  auto code = p.wait(timeout);
  CommandResult r;
  if (!code) {
    p.kill9();
    r.exitCode = -1;
  } else {
    r.exitCode = *code;
  }
  r.output = slurp(logPath);
  return r;
}

CadStub::CadStub(const TempDir& dir, std::string brokerUri, std::string name, std::vector<std::string> extraArgs)
    : dir_(dir), broker_(std::move(brokerUri)), name_(std::move(name)), extra_(std::move(extraArgs)) {
  db_ = dir_.file(name_ + ".db");
  ctl_ = db_ + ".ctl";
  logPath_ = dir_.file(name_ + ".log");
}

void CadStub::setStore(std::string target) {
  db_ = std::move(target);
  sideFilesGiven_ = true;
}

CadStub::~CadStub() = default;

void CadStub::start() {
  std::vector<std::string> argv = {binary.empty() ? program("server-stub/cad-stub") : binary,
                                   "--db",
                                   db_,
                                   "--broker",
                                   broker_,
                                   "--client-id",
                                   "cad-stub-" + name_};
  if (sideFilesGiven_) {
    const std::string base = dir_.file(name_ + ".db");
    argv.insert(argv.end(), {"--control", ctl_, "--records", base + ".records", "--ca-dir", base + ".ca"});
  }
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  proc_ = std::make_unique<Process>(argv, logPath_, env);
  if (!waitUntil([&] { return exists(ctl_) || !proc_->alive(); }, std::chrono::seconds(20)) || !proc_->alive())
    throw std::runtime_error("cad-stub did not start:\n" + log());
}

bool CadStub::waitReady(std::chrono::milliseconds timeout) {
  return waitUntil([&] { return cadctl({"stats"}).output.find("\"ready\": true") != std::string::npos; }, timeout);
}

void CadStub::stop() {
  if (proc_) proc_->stop();
}
void CadStub::kill9() {
  if (proc_) proc_->kill9();
  ::unlink(ctl_.c_str());
}
bool CadStub::running() { return proc_ && proc_->alive(); }
std::string CadStub::log() const { return slurp(logPath_); }

CommandResult CadStub::cadctl(std::vector<std::string> args) const {
  std::vector<std::string> argv = {program("server-stub/cadctl"), "--db", db_, "--control", ctl_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, dir_);
}

void CadStub::addDevice(const std::string& device, const std::string& unit, const std::string& agency) {
  auto r = cadctl({"--agency", agency, "--as", "fleet", "devices", "add", device, "--unit", unit});
  if (r.exitCode != 0) throw std::runtime_error("cadctl devices add " + device + " failed: " + r.output);
}

long long CadStub::eventCount() const {
  auto r = cadctl({"count"});
  if (r.exitCode != 0) throw std::runtime_error("cadctl count failed: " + r.output);
  return std::stoll(r.output);
}

std::vector<std::string> gpsParkedAt(const TempDir& dir, const std::string& name, double lat, double lon) {
  const std::string path = dir.file(name + ".nmea");
  nmea::writeLog(path, SystemClock::instance().nowMs(), 600, [&](int) { return std::pair{lat, lon}; });
  return {"--set", "gps.source=replay", "--set", "gps.replay_file=" + path, "--set", "gps.replay_loop=true"};
}

AgentProcess::AgentProcess(const TempDir& dir, std::string device, std::string unit, std::string agency,
                           std::string brokerUri, std::vector<std::string> extraArgs)
    : dir_(dir), device_(std::move(device)), unit_(std::move(unit)), agency_(std::move(agency)),
      broker_(std::move(brokerUri)), extra_(std::move(extraArgs)) {
  store_ = dir_.file(device_ + ".db");
  socket_ = dir_.file(device_ + ".sock");
  logPath_ = dir_.file(device_ + ".log");
}

AgentProcess::~AgentProcess() = default;

void AgentProcess::start() {
  ::unlink(socket_.c_str());
  std::vector<std::string> argv = {program("agent/mdc-agent"), "--device-id", device_, "--unit-id", unit_,
                                   "--agency", agency_, "--broker", broker_, "--store", store_, "--socket", socket_,
                                   "--set", "link.backoff_initial_ms=100", "--set", "link.backoff_max_ms=1000"};
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  argv.insert(argv.begin(), wrapper.begin(), wrapper.end());
  proc_ = std::make_unique<Process>(argv, logPath_, env);
  if (!waitUntil([&] { return exists(socket_) || !proc_->alive(); }, std::chrono::seconds(20)) || !proc_->alive())
    throw std::runtime_error("mdc-agent did not start:\n" + log());
}

void AgentProcess::stop() {
  if (proc_) proc_->stop();
}
void AgentProcess::kill9() {
  if (proc_) proc_->kill9();
}
bool AgentProcess::running() { return proc_ && proc_->alive(); }
std::string AgentProcess::log() const { return slurp(logPath_); }

CommandResult AgentProcess::mdcctl(std::vector<std::string> args) const {
  std::vector<std::string> argv = {program("agent/mdcctl"), "--socket", socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, dir_);
}

std::unique_ptr<agent::ApiClient> AgentProcess::client() const {
  auto c = std::make_unique<agent::ApiClient>();
  if (Status s = c->connect(socket_); !s) throw std::runtime_error(s.error().message);
  return c;
}

v1::AgentState AgentProcess::state() const {
  // A busy agent (a sanitizer build draining a backlog) may answer late: try
  // three times before calling it a failure, and then show what it logged.
  std::string why;
  for (int attempt = 0; attempt < 3; ++attempt) {
    agent::ApiClient c;
    if (Status s = c.connect(socket_); !s) {
      why = s.error().message;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    v1::ApiRequest r;
    r.mutable_get_state();
    auto reply = c.call(r, std::chrono::seconds(20));
    if (reply && reply->ok()) return reply->state();
    why = reply ? reply->error() : reply.error().message;
  }
  std::string tail = log();
  if (tail.size() > 3000) tail = tail.substr(tail.size() - 3000);
  throw std::runtime_error("get_state failed: " + why + "\n--- mdc-agent log (tail) ---\n" + tail);
}

long long AgentProcess::outboxDepth() const {
  long long n = 0;
  const v1::AgentState s = state();
  for (const auto& l : s.lanes()) n += l.count();
  return n;
}

}  // namespace mdc::test
