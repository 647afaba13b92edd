#include "mdc/alert_tone.h"

#include <alsa/asoundlib.h>

#include <cmath>

namespace mdc::ui {

namespace {

// Two rising tone pairs (770 Hz then 960 Hz, 180 ms each, 60 ms apart), the
// pattern of an MDC "new call" alert: distinct from sirens (which sweep) and
// from the radio's talk-permit beep (one short tone).
constexpr double kToneLowHz = 770, kToneHighHz = 960;
constexpr double kToneS = 0.18, kGapS = 0.06, kPairGapS = 0.25;
constexpr double kAmplitude = 0.6 * 32767;
constexpr double kFadeS = 0.005;  // no clicks at the edges

void appendTone(std::vector<int16_t>& out, double hz, double seconds) {
  const size_t n = size_t(seconds * AlertTone::kSampleRate);
  const size_t fade = size_t(kFadeS * AlertTone::kSampleRate);
  for (size_t i = 0; i < n; ++i) {
    double gain = 1.0;
    if (i < fade) gain = double(i) / double(fade);
    else if (n - i < fade) gain = double(n - i) / double(fade);
    out.push_back(int16_t(kAmplitude * gain * std::sin(2 * M_PI * hz * double(i) / AlertTone::kSampleRate)));
  }
}

void appendSilence(std::vector<int16_t>& out, double seconds) {
  out.insert(out.end(), size_t(seconds * AlertTone::kSampleRate), int16_t(0));
}

void ignoreAlsaMessage(const char*, int, const char*, int, const char*, ...) {}

// Plays samples on an ALSA PCM; empty on success, else the reason.
std::string playOn(const std::string& device, const std::vector<int16_t>& samples) {
  snd_pcm_t* pcm = nullptr;
  if (int rc = snd_pcm_open(&pcm, device.c_str(), SND_PCM_STREAM_PLAYBACK, 0); rc < 0)
    return "cannot open \"" + device + "\": " + snd_strerror(rc);
  // 200 ms of buffer: the chime starts at once and survives a busy moment.
  if (int rc = snd_pcm_set_params(pcm, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, 1, AlertTone::kSampleRate,
                                  1, 200'000);
      rc < 0) {
    snd_pcm_close(pcm);
    return "\"" + device + "\" does not take 16-bit mono at " + std::to_string(AlertTone::kSampleRate) +
           " Hz: " + snd_strerror(rc);
  }
  size_t at = 0;
  std::string error;
  while (at < samples.size()) {
    snd_pcm_sframes_t n = snd_pcm_writei(pcm, samples.data() + at, samples.size() - at);
    if (n < 0) n = snd_pcm_recover(pcm, int(n), 1);  // an underrun: carry on
    if (n < 0) {
      error = "writing to \"" + device + "\": " + snd_strerror(int(n));
      break;
    }
    at += size_t(n);
  }
  if (error.empty()) snd_pcm_drain(pcm);
  snd_pcm_close(pcm);
  return error;
}

}  // namespace

AlertTone::AlertTone(QObject* parent) : QObject(parent) {
  // ALSA prints its own complaints to stderr; played() reports them once, with the device.
  static const bool quiet = [] {
    snd_lib_error_set_handler(&ignoreAlsaMessage);
    return true;
  }();
  (void)quiet;
}

AlertTone::~AlertTone() {
  std::lock_guard lock(threadMutex_);
  if (worker_.joinable()) worker_.join();
}

std::vector<int16_t> AlertTone::chime() {
  std::vector<int16_t> s;
  for (int pair = 0; pair < 2; ++pair) {
    appendTone(s, kToneLowHz, kToneS);
    appendSilence(s, kGapS);
    appendTone(s, kToneHighHz, kToneS);
    appendSilence(s, pair == 0 ? kPairGapS : kGapS);
  }
  return s;
}

void AlertTone::play() {
  if (playing_.exchange(true)) return;
  std::lock_guard lock(threadMutex_);
  if (worker_.joinable()) worker_.join();  // the previous chime has ended (playing_ was false)
  worker_ = std::thread([this, device = device_.toStdString()] {
    const std::string error = playOn(device, chime());
    playing_ = false;
    // Emitted from this thread: receivers on the GUI thread get it queued.
    emit played(error.empty(), error.empty() ? QStringLiteral("played on \"%1\"").arg(QString::fromStdString(device))
                                             : QString::fromStdString("alert sound: " + error));
  });
}

}  // namespace mdc::ui
