#pragma once
// The new-assignment alert: a short two-tone chime played on an ALSA device,
// loud enough to be heard over an engine and short enough not to mask radio
// traffic. Played on a worker thread, so the GUI thread never waits for audio.
#include <QObject>
#include <QString>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace mdc::ui {

/** Plays the alert chime. Thread-safety: call from the GUI thread; the audio
 *  runs on an internal thread and reports back through played() (queued). */
class AlertTone : public QObject {
  Q_OBJECT

 public:
  explicit AlertTone(QObject* parent = nullptr);
  /** Waits for a chime in progress to end (at most its length, ~1 s). */
  ~AlertTone() override;

  /** The ALSA PCM to play on: "default", "plughw:0", or for tests
   *  "file:FILE=/path/out.raw" (raw S16_LE mono samples written to a file). */
  void setDevice(const QString& device) { device_ = device; }
  QString device() const { return device_; }

  /** Starts the chime and returns at once; ignored while one is playing.
   *  The outcome arrives as played(). */
  void play();
  bool playing() const { return playing_.load(); }

  /** The chime's samples: S16_LE, mono, kSampleRate Hz. */
  static std::vector<int16_t> chime();
  static constexpr unsigned kSampleRate = 22050;

 signals:
  /** The chime was played (ok) or could not be (detail names the device and ALSA's reason). */
  void played(bool ok, const QString& detail);

 private:
  QString device_ = QStringLiteral("default");
  std::atomic<bool> playing_{false};
  std::mutex threadMutex_;
  std::thread worker_;
};

}  // namespace mdc::ui
