// bench_mdc_ui: what the responder's screen costs.
//  1. Cold start to first frame: this program starts itself again N times
//     (--child-first-frame), each child loads the screen offscreen and reports
//     when the first frame was rendered; the parent measures process start to
//     that report.
//  2. Resident memory after an hour-long scripted shift: an in-process stand-in
//     for the agent (same socket protocol) pushes an hour of state snapshots
//     (20 per second, the agent's maximum, so 72,000) with the shift's changes
//     (status every 5 min, an assignment every 20 min with a growing timeline,
//     messages, outbox depth going up and down, link drops), as fast as the
//     screen takes them, while the screen renders them and the page changes
//     every simulated minute. RSS is read from /proc/self/status.
// Prints its figures and writes JSON with --json FILE. Not a ctest test.
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QGuiApplication>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLocalServer>
#include <QLocalSocket>
#include <QProcess>
#include <QQuickWindow>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "mdc/screen.h"
#include "mdc/self_test.h"
#include "shared/wire/frame.h"

using namespace mdc;
using namespace mdc::ui;

namespace {

long rssKiB() {
  QFile f(QStringLiteral("/proc/self/status"));
  if (!f.open(QIODevice::ReadOnly)) return -1;
  for (const QByteArray& line : f.readAll().split('\n'))
    if (line.startsWith("VmRSS:")) return line.mid(6).trimmed().split(' ').first().toLong();
  return -1;
}

// The agent's side of the local API, scripted. One client.
class ScriptedAgent : public QObject {
 public:
  explicit ScriptedAgent(const QString& path) {
    QLocalServer::removeServer(path);
    server_.listen(path);
    connect(&server_, &QLocalServer::newConnection, this, [this] {
      conn_ = server_.nextPendingConnection();
      connect(conn_, &QLocalSocket::readyRead, this, [this] { onRead(); });
    });
  }
  bool listening() const { return server_.isListening(); }
  /** Sends snapshot number i of the shift (20 per simulated second). */
  void push(int i) {
    if (!conn_) return;
    v1::AgentMessage m;
    *m.mutable_state() = snapshot(i);
    send(m.SerializeAsString());
  }
  qint64 backlog() const { return conn_ ? conn_->bytesToWrite() : 0; }

 private:
  void send(const std::string& payload) {
    const std::string f = frame::encode(payload);
    conn_->write(f.data(), qint64(f.size()));
  }
  void onRead() {
    const QByteArray b = conn_->readAll();
    reader_.feed(std::string_view(b.constData(), size_t(b.size())));
    std::string fr;
    while (reader_.next(fr) == frame::Reader::Next::Frame) {
      v1::ApiRequest req;
      req.ParseFromString(fr);
      v1::AgentMessage m;
      auto* r = m.mutable_reply();
      r->set_request_id(req.request_id());
      r->set_ok(true);
      if (req.has_subscribe() || req.has_get_state()) *r->mutable_state() = snapshot(0);
      else r->mutable_queued()->set_seq(++seq_);
      send(m.SerializeAsString());
    }
  }
  v1::AgentState snapshot(int i) const {
    const int sec = i / 20, min = sec / 60;
    const qint64 t0 = 1'780'000'000'000;
    const qint64 now = t0 + qint64(i) * 50;
    v1::AgentState s;
    s.set_device_id("MDC-BENCH");
    s.set_unit_id("E12");
    s.set_agency("FD1");
    s.set_agent_version("bench");
    s.set_status(v1::UnitStatus(1 + (min / 5) % 7));
    const bool offline = (min % 17) == 16;  // a one-minute tunnel now and then
    s.set_status_delivery(offline ? v1::DELIVERY_QUEUED : v1::DELIVERY_DELIVERED);
    s.set_link(offline ? v1::LINK_STATE_OFFLINE : v1::LINK_STATE_ONLINE);
    s.set_link_since_ms(t0 + qint64(min) * 60000);
    s.set_broker("ssl://cad.example:8883");
    for (int l = 1; l <= 4; ++l) {
      auto* lane = s.add_lanes();
      lane->set_lane(v1::Lane(l));
      lane->set_count(offline ? uint32_t((sec % 60) * (l == 4 ? 1 : 0) + (l == 2 ? 1 : 0)) : 0);
      lane->set_oldest_at_ms(offline ? t0 + qint64(min) * 60000 : 0);
    }
    auto* g = s.mutable_gps();
    g->set_has_fix(true);
    g->mutable_last_fix()->set_lat(40.7 + 0.0001 * (i % 1000));
    g->mutable_last_fix()->set_lon(-74.0 + 0.0001 * (i % 700));
    g->mutable_last_fix()->set_mode(v1::FIX_MODE_3D);
    g->mutable_last_fix()->set_satellites(uint32_t(6 + i % 6));
    g->mutable_last_fix()->set_eph_m(float(3 + i % 10));
    g->set_source("gpsd 127.0.0.1:2947");
    for (int k = 0; k < std::min(50, min + 1); ++k) {
      auto* a = s.add_recent_actions();
      a->set_seq(uint64_t(min - k + 1));
      a->set_kind(k % 3 == 0 ? "status" : k % 3 == 1 ? "message" : "cfs");
      a->set_summary(k % 3 == 0 ? "EN_ROUTE" : k % 3 == 1 ? "Copy, en route" : "TRAFFIC_STOP");
      a->set_delivery(offline && k == 0 ? v1::DELIVERY_QUEUED : v1::DELIVERY_DELIVERED);
      a->set_queued_at_ms(now - k * 60000);
      if (k % 3 == 2) a->set_detail("2026-" + std::to_string(100000 + min - k));
    }
    const int call = min / 20;
    auto* ra = s.add_assignments();
    auto* as = ra->mutable_assignment();
    as->set_incident_number("2026-" + std::to_string(200000 + call));
    as->set_cfs_type(call % 2 ? "MEDICAL" : "STRUCTURE_FIRE");
    as->set_priority(uint32_t(1 + call % 3));
    as->set_address(std::to_string(100 + call) + " W 42nd St, Manhattan");
    as->set_notes("Caller reports smoke on the 3rd floor; Knox box at the main entrance.");
    as->add_units("E12");
    as->add_units("L4");
    for (int k = 0; k <= min % 20; ++k) {
      auto* te = as->add_timeline();
      te->set_at_ms(t0 + qint64(call * 20 + k) * 60000);
      te->set_text("update " + std::to_string(k));
    }
    ra->set_acknowledged(min % 20 > 1);
    ra->set_downlink_seq(uint64_t(call + 1));
    for (int k = 0; k < std::min(50, min / 2 + 1); ++k) {
      auto* m = s.add_messages();
      m->set_downlink_seq(uint64_t(k + 1));
      m->set_from("disp-7");
      m->set_text("Message number " + std::to_string(min / 2 - k));
      m->set_at_ms(now - k * 120000);
    }
    s.set_now_ms(now);
    s.set_store_bytes(4096 * (i % 100));
    s.set_store_cap_bytes(268435456);
    (*s.mutable_counters())["published"] = uint64_t(i);
    return s;
  }

  QLocalServer server_;
  QLocalSocket* conn_ = nullptr;
  frame::Reader reader_;
  uint64_t seq_ = 0;
};

// Child: load the screen and print ms from process start to the first frame.
int childFirstFrame(QElapsedTimer& sinceStart, int argc, char** argv) {
  QGuiApplication app(argc, argv);
  AgentConnection agent(QStringLiteral("/nonexistent/bench.sock"));
  ScreenControllers c(agent);
  QQmlApplicationEngine engine;
  loadScreen(engine, c);
  auto* w = engine.rootObjects().isEmpty() ? nullptr : qobject_cast<QQuickWindow*>(engine.rootObjects().first());
  if (!w) return 1;
  bool reported = false;
  QObject::connect(w, &QQuickWindow::afterRendering, &app, [&] {
    if (reported) return;
    reported = true;
    std::printf("first-frame-ms %lld\n", static_cast<long long>(sinceStart.elapsed()));
    std::fflush(stdout);
    QTimer::singleShot(0, &app, [] { QCoreApplication::exit(0); });
  }, Qt::QueuedConnection);
  QTimer::singleShot(10000, &app, [] { QCoreApplication::exit(2); });
  return app.exec();
}

}  // namespace

int main(int argc, char** argv) {
  QElapsedTimer sinceStart;
  sinceStart.start();
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  for (int i = 1; i < argc; ++i)
    if (qstrcmp(argv[i], "--child-first-frame") == 0) return childFirstFrame(sinceStart, argc, argv);

  QGuiApplication app(argc, argv);
  QCommandLineParser p;
  p.setApplicationDescription("Benchmarks the MDC screen: cold start to first frame, RSS after a scripted shift.");
  p.addHelpOption();
  QCommandLineOption json("json", "Write the figures as JSON to FILE.", "FILE");
  QCommandLineOption starts("starts", "Cold starts to time (5).", "N", "5");
  QCommandLineOption snapshots("snapshots", "Agent snapshots in the shift (72000 = one hour at 20/s).", "N", "72000");
  p.addOptions({json, starts, snapshots});
  p.process(app);

  // 1. Cold start.
  std::vector<double> wall, inProc;
  for (int i = 0; i < p.value(starts).toInt(); ++i) {
    QProcess child;
    QElapsedTimer t;
    t.start();
    child.start(QCoreApplication::applicationFilePath(), {"--child-first-frame"});
    child.waitForFinished(20000);  // the benchmark itself may block: it has no screen
    const QString out = QString::fromLocal8Bit(child.readAllStandardOutput());
    const int at = out.indexOf("first-frame-ms ");
    if (child.exitCode() != 0 || at < 0) {
      std::fprintf(stderr, "bench_mdc_ui: child %d failed (exit %d): %s\n", i, child.exitCode(),
                   qPrintable(QString::fromLocal8Bit(child.readAllStandardError())));
      return 1;
    }
    inProc.push_back(out.mid(at + 15).section(QLatin1Char('\n'), 0, 0).trimmed().toDouble());
    wall.push_back(double(t.nsecsElapsed()) / 1e6);  // includes exec, dynamic linking and exit
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  std::printf("cold start to first frame (offscreen, software): median %.0f ms in-process, %.0f ms incl. exec+exit (%zu runs)\n",
              median(inProc), median(wall), inProc.size());

  // 2. The shift.
  QTemporaryDir dir;
  const QString sock = dir.filePath("agent.sock");
  ScriptedAgent agent(sock);
  if (!agent.listening()) return 1;
  AgentConnection conn(sock);
  ScreenControllers c(conn);
  QQmlApplicationEngine engine;
  const long rssBeforeLoad = rssKiB();
  const QStringList problems = loadScreen(engine, c);
  auto* w = engine.rootObjects().isEmpty() ? nullptr : qobject_cast<QQuickWindow*>(engine.rootObjects().first());
  if (!w) {
    std::fprintf(stderr, "bench_mdc_ui: screen did not load: %s\n", qPrintable(problems.join("; ")));
    return 1;
  }
  conn.start();
  QElapsedTimer wait;
  wait.start();
  while (!conn.hasSnapshot() && wait.elapsed() < 5000) QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
  long frames = 0;
  QObject::connect(w, &QQuickWindow::afterRendering, &app, [&frames] { ++frames; }, Qt::DirectConnection);
  const int total = p.value(snapshots).toInt();
  int received = 0;
  QObject::connect(&conn, &AgentConnection::snapshotChanged, &app, [&] { ++received; });
  const long rssStart = rssKiB();
  long rssAt10 = 0;
  QElapsedTimer t;
  t.start();
  int sent = 0;
  const QStringList pages = screenPages();
  while (received < total && t.elapsed() < 15 * 60 * 1000) {
    while (sent < total && sent - received < 20 && agent.backlog() < 512 * 1024) {
      agent.push(sent++);
      if (sent % 1200 == 0) w->setProperty("page", pages[(sent / 1200) % pages.size()]);  // every simulated minute
      if (sent % 36000 == 0) c.theme.setMode(c.theme.night() ? ThemeController::Day : ThemeController::Night);
    }
    QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    if (!rssAt10 && received >= total / 10) rssAt10 = rssKiB();
  }
  const double secs = double(t.elapsed()) / 1000.0;
  const long rssEnd = rssKiB();
  std::printf("scripted shift: %d snapshots (%.1f simulated min) in %.1f s, %.0f snapshots/s, %ld frames rendered\n",
              received, received / 1200.0, secs, received / secs, frames);
  std::printf("resident memory: %ld KiB before the screen, %ld KiB at shift start, %ld KiB at 10 %%, %ld KiB at the end"
              " (growth over the last 90 %%: %ld KiB)\n",
              rssBeforeLoad, rssStart, rssAt10, rssEnd, rssEnd - rssAt10);

  if (p.isSet(json)) {
    QJsonObject o{{"cold_start_first_frame_ms_median", median(inProc)},
                  {"cold_start_wall_ms_median", median(wall)},
                  {"cold_start_runs", int(inProc.size())},
                  {"shift_snapshots", received},
                  {"shift_simulated_minutes", received / 1200.0},
                  {"shift_seconds", secs},
                  {"shift_frames", double(frames)},
                  {"rss_kib_before_screen", double(rssBeforeLoad)},
                  {"rss_kib_shift_start", double(rssStart)},
                  {"rss_kib_at_10_percent", double(rssAt10)},
                  {"rss_kib_end", double(rssEnd)},
                  {"renderer", "offscreen software"}};
    QFile f(p.value(json));
    if (!f.open(QIODevice::WriteOnly)) return 1;
    f.write(QJsonDocument(o).toJson());
  }
  return received >= total ? 0 : 1;
}
