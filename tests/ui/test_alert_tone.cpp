// The new-assignment chime on ALSA, without the screen: what it plays, and what
// it says when the device cannot play.
#include <catch2/catch.hpp>

#include <QElapsedTimer>
#include <QGuiApplication>

#include <cmath>
#include <filesystem>

#include "mdc/alert_tone.h"
#include "tests/support/temp_dir.h"
#include "tests/ui/screen_harness.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

TEST_CASE("the chime is two rising tone pairs about a second long, without clicks", "[alert]") {
  const auto s = ui::AlertTone::chime();
  const double seconds = double(s.size()) / ui::AlertTone::kSampleRate;
  CHECK(seconds > 0.9);
  CHECK(seconds < 1.5);
  CHECK(s.front() == 0);
  CHECK(s.back() == 0);
  int16_t peak = 0;
  for (auto v : s) peak = std::max<int16_t>(peak, int16_t(std::abs(v)));
  CHECK(peak > 16000);  // loud enough over an engine, below clipping
  CHECK(peak < 32767);
  // No step between neighbouring samples larger than a 960 Hz sine at this level can make.
  int maxStep = 0;
  for (size_t i = 1; i < s.size(); ++i) maxStep = std::max(maxStep, std::abs(int(s[i]) - int(s[i - 1])));
  CHECK(maxStep < int(0.6 * 32767 * 2 * M_PI * 960 / ui::AlertTone::kSampleRate) + 2);
}

TEST_CASE("a device that cannot play is named in the outcome, and the next chime plays on a good one", "[alert]") {
  guiApp();
  TempDir dir;
  ui::AlertTone tone;
  QList<std::pair<bool, QString>> outcomes;
  QObject::connect(&tone, &ui::AlertTone::played, [&](bool ok, const QString& d) { outcomes.append({ok, d}); });

  tone.setDevice(QStringLiteral("no-such-pcm"));
  tone.play();
  REQUIRE(uiWaitUntil([&] { return outcomes.size() == 1; }, 10s));
  CHECK_FALSE(outcomes[0].first);
  CHECK(outcomes[0].second.startsWith("alert sound: cannot open \"no-such-pcm\": "));

  const std::string raw = dir.file("chime.raw");
  tone.setDevice(QString::fromStdString("file:FILE=" + raw));
  tone.play();
  REQUIRE(uiWaitUntil([&] { return outcomes.size() == 2 && !tone.playing(); }, 10s));
  CHECK(outcomes[1].first);
  CHECK(outcomes[1].second == QString::fromStdString("played on \"file:FILE=" + raw + "\""));
  CHECK(std::filesystem::file_size(raw) == ui::AlertTone::chime().size() * sizeof(int16_t));
}
