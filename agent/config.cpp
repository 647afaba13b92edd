#include "agent/config.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <charconv>
#include <map>

#include "shared/infra/files.h"
#include "shared/infra/log.h"
#include "shared/infra/mqtt.h"
#include "hw/vehicle_inputs.h"
#include "shared/wire/topics.h"

namespace mdc::agent {

namespace {

Error bad(const std::string& key, const std::string& value, const std::string& why) {
  return Error::make("config: " + key + " \"" + value + "\": " + why);
}

Status parseInt(const std::string& key, const std::string& value, int64_t lo, int64_t hi, int64_t& out) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size()) return bad(key, value, "not a whole number");
  if (v < lo || v > hi) return bad(key, value, "out of range " + std::to_string(lo) + "-" + std::to_string(hi));
  out = v;
  return {};
}

Status setInt(const std::string& key, const std::string& value, int64_t lo, int64_t hi, int& out) {
  int64_t v = 0;
  if (Status s = parseInt(key, value, lo, hi, v); !s) return s;
  out = int(v);
  return {};
}

Status parseDouble(const std::string& key, const std::string& value, double lo, double hi, double& out) {
  char* end = nullptr;
  double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0') return bad(key, value, "not a number");
  if (!(v >= lo && v <= hi)) return bad(key, value, "out of range " + std::to_string(lo) + "-" + std::to_string(hi));
  out = v;
  return {};
}

Status parseBool(const std::string& key, const std::string& value, bool& out) {
  if (value == "true" || value == "1") out = true;
  else if (value == "false" || value == "0") out = false;
  else return bad(key, value, "must be true or false");
  return {};
}

Status checkBrokerUri(const std::string& key, const std::string& uri) {
  std::string rest;
  if (uri.rfind("tcp://", 0) == 0) rest = uri.substr(6);
  else if (uri.rfind("ssl://", 0) == 0) rest = uri.substr(6);
  else return bad(key, uri, "scheme must be tcp:// or ssl://");
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad(key, uri, "expected host:port");
  int64_t port = 0;
  std::string portText = rest.substr(colon + 1);
  auto [p, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (ec != std::errc() || p != portText.data() + portText.size() || port < 1 || port > 65535)
    return bad(key, uri, "port out of range 1-65535");
  return {};
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    out.push_back(item);
    start = comma + 1;
  }
  return out;
}

constexpr size_t kMaxBrokers = 16;

// ---- set(): one function per key, found in a table

// How set() takes one key: checks the text and stores it, or names what is wrong.
using KeySetter = Status (*)(AgentConfig& c, const std::string& key, const std::string& v);

template <auto Field>
Status textKey(AgentConfig& c, const std::string&, const std::string& v) {
  c.*Field = v;
  return {};
}

template <auto Field>
Status nonEmptyKey(AgentConfig& c, const std::string& key, const std::string& v) {
  if (v.empty()) return bad(key, v, "must not be empty");
  c.*Field = v;
  return {};
}

template <auto Field>
Status nameKey(AgentConfig& c, const std::string& key, const std::string& v) {
  if (v.empty() || v.size() > 32) return bad(key, v, "must be 1-32 characters");
  c.*Field = v;
  return {};
}

template <auto Field, int64_t Lo, int64_t Hi>
Status intKey(AgentConfig& c, const std::string& key, const std::string& v) {
  return setInt(key, v, Lo, Hi, c.*Field);
}

template <auto Field, double Lo, double Hi>
Status doubleKey(AgentConfig& c, const std::string& key, const std::string& v) {
  return parseDouble(key, v, Lo, Hi, c.*Field);
}

Status setDeviceId(AgentConfig& c, const std::string& key, const std::string& v) {
  if (!topics::isValidDeviceId(v)) return bad(key, v, "must be 1-64 characters of A-Z a-z 0-9 . _ -");
  c.deviceId = v;
  return {};
}

Status setBroker(AgentConfig& c, const std::string& key, const std::string& v) {
  const auto list = splitList(v);
  if (list.size() > kMaxBrokers) return bad(key, v, "at most " + std::to_string(kMaxBrokers) + " brokers");
  for (size_t i = 0; i < list.size(); ++i) {
    if (Status s = checkBrokerUri(key, list[i]); !s) return s;
    for (size_t j = 0; j < i; ++j)
      if (list[j] == list[i]) return bad(key, v, "\"" + list[i] + "\" is listed twice");
    // A list mixing the two would fall back from TLS to a plain link.
    if (list[i].substr(0, 6) != list[0].substr(0, 6))
      return bad(key, v, "every broker must use the same scheme (tcp:// or ssl://), so failover never drops TLS");
  }
  c.broker = v;
  return {};
}

Status setMqttVersion(AgentConfig& c, const std::string& key, const std::string& v) {
  if (!mqtt::parseVersion(v)) return bad(key, v, "must be 5 or 3.1.1");
  c.mqttVersion = v;
  return {};
}

Status setEnrollServer(AgentConfig& c, const std::string& key, const std::string& v) {
  if (!v.empty() && (v.rfind("https://", 0) != 0 || v.size() < 9))
    return bad(key, v, "must be https://host:port (the enrolment server), or empty");
  c.enrollServer = v;
  return {};
}

Status setStoreCap(AgentConfig& c, const std::string& key, const std::string& v) {
  return parseInt(key, v, 64 * 1024, int64_t(1) << 40, c.storeCapBytes);
}

Status setSocketPath(AgentConfig& c, const std::string& key, const std::string& v) {
  if (v.empty() || v.size() > 100) return bad(key, v, "must be 1-100 characters (a Unix socket path)");
  c.socketPath = v;
  return {};
}

Status setGpsSource(AgentConfig& c, const std::string& key, const std::string& v) {
  if (v != "none" && v != "gpsd" && v != "simulator" && v != "replay")
    return bad(key, v, "must be none, gpsd, simulator or replay");
  c.gpsSource = v;
  return {};
}

Status setReplayLoop(AgentConfig& c, const std::string& key, const std::string& v) {
  return parseBool(key, v, c.replayLoop);
}

Status setInputsSource(AgentConfig& c, const std::string& key, const std::string& v) {
  if (v != "none" && v != "evdev") return bad(key, v, "must be none or evdev");
  c.inputsSource = v;
  return {};
}

Status setEmergencyCode(AgentConfig& c, const std::string& key, const std::string& v) {
  if (!hw::parseInputCode(v)) return bad(key, v, "not a key or switch code (e.g. KEY_F24, BTN_0, SW_1, or a number)");
  c.inputsEmergencyCode = v;
  return {};
}

Status setLogLevel(AgentConfig& c, const std::string& key, const std::string& v) {
  log::Level l;
  if (!log::parseLevel(v, l)) return bad(key, v, "must be debug, info, warn or error");
  c.logLevel = v;
  return {};
}

using C = AgentConfig;
const std::map<std::string, KeySetter> kSetters = {
    {"device_id", setDeviceId},
    {"unit_id", nameKey<&C::unitId>},
    {"agency", nameKey<&C::agency>},
    {"broker", setBroker},
    {"link.mqtt_version", setMqttVersion},
    {"tls.ca", textKey<&C::tlsCa>},
    {"tls.cert", textKey<&C::tlsCert>},
    {"tls.key", textKey<&C::tlsKey>},
    {"tls.enroll_server", setEnrollServer},
    {"tls.renew_margin_days", intKey<&C::renewMarginDays, 1, 3650>},
    {"tls.renew_check_s", intKey<&C::renewCheckS, 10, 86400>},
    {"store.path", nonEmptyKey<&C::storePath>},
    {"store.key_path", textKey<&C::storeKeyPath>},
    {"store.cap_bytes", setStoreCap},
    {"store.avl_commit_ms", intKey<&C::avlCommitMs, 10, 10000>},
    {"socket.path", setSocketPath},
    {"link.window", intKey<&C::window, 1, 4096>},
    {"link.keepalive_s", intKey<&C::keepAliveS, 2, 300>},
    {"link.heartbeat_s", intKey<&C::heartbeatS, 1, 60>},
    {"link.backoff_initial_ms", intKey<&C::backoffInitialMs, 50, 60000>},
    {"link.backoff_max_ms", intKey<&C::backoffMaxMs, 50, 600000>},
    {"link.ack_timeout_s", intKey<&C::ackTimeoutS, 1, 3600>},
    {"link.backfill_per_s", intKey<&C::backfillPerSecond, 1, 100000>},
    {"link.avl_batch", intKey<&C::avlBatch, 0, 128>},
    {"link.downlink_check_s", intKey<&C::downlinkCheckS, 5, 3600>},
    {"link.health_interval_s", intKey<&C::healthIntervalS, 5, 3600>},
    {"records.slow_s", intKey<&C::recordsSlowS, 1, 60>},
    {"records.timeout_s", intKey<&C::recordsTimeoutS, 2, 300>},
    {"records.show_s", intKey<&C::recordsShowS, 10, 3600>},
    {"records.alert_show_s", intKey<&C::recordsAlertShowS, 60, 86400>},
    {"gps.source", setGpsSource},
    {"gps.replay_file", textKey<&C::replayFile>},
    {"gps.replay_speedup", doubleKey<&C::replaySpeedup, 0.0, 1000.0>},
    {"gps.replay_loop", setReplayLoop},
    {"gps.sim_seed", intKey<&C::simSeed, 0, 1 << 30>},
    {"gps.sim_speedup", doubleKey<&C::simSpeedup, 0.1, 1000.0>},
    {"avl.moving_interval_s", intKey<&C::avlMovingIntervalS, 1, 3600>},
    {"avl.stationary_interval_s", intKey<&C::avlStationaryIntervalS, 1, 3600>},
    {"avl.distance_m", doubleKey<&C::avlDistanceM, 1.0, 10000.0>},
    {"avl.heading_deg", doubleKey<&C::avlHeadingDeg, 1.0, 180.0>},
    {"avl.max_eph_m", doubleKey<&C::avlMaxEphM, 1.0, 10000.0>},
    {"inputs.source", setInputsSource},
    {"inputs.device", nonEmptyKey<&C::inputsDevice>},
    {"inputs.emergency_code", setEmergencyCode},
    {"gps.host", nonEmptyKey<&C::gpsdHost>},
    {"gps.port", intKey<&C::gpsdPort, 1, 65535>},
    {"log_level", setLogLevel},
};

}  // namespace

Status AgentConfig::set(const std::string& key, const std::string& v) {
  auto it = kSetters.find(key);
  if (it == kSetters.end())
    return Error::make("config: unknown key \"" + key + "\" (known: device_id, unit_id, agency, broker, tls.*, "
                       "store.*, socket.path, link.*, gps.*, avl.*, inputs.*, log_level)");
  return it->second(*this, key, v);
}

std::vector<std::string> AgentConfig::brokers() const { return splitList(broker); }

std::vector<std::string> AgentConfig::brokersInOrder() const {
  // FNV-1a of "device_id\nbroker", then splitmix64's finaliser: the same
  // weights on every build and machine, and well spread even for names
  // that differ in one character.
  auto weight = [this](const std::string& b) {
    uint64_t h = 14695981039346656037ull;
    auto mix = [&h](std::string_view s) {
      for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    };
    mix(deviceId);
    mix("\n");
    mix(b);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
  };
  std::vector<std::pair<uint64_t, std::string>> weighted;
  for (auto& b : brokers()) weighted.emplace_back(weight(b), std::move(b));
  std::sort(weighted.begin(), weighted.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : x.second < y.second;
  });
  std::vector<std::string> out;
  for (auto& [w, b] : weighted) out.push_back(std::move(b));
  return out;
}

std::vector<std::string> AgentConfig::keys() {
  return {"device_id", "unit_id", "agency", "broker", "tls.ca", "tls.cert", "tls.key", "tls.enroll_server",
          "tls.renew_margin_days", "tls.renew_check_s", "store.path",
          "store.key_path", "store.cap_bytes", "store.avl_commit_ms", "socket.path", "link.window", "link.keepalive_s", "link.heartbeat_s",
          "link.mqtt_version", "link.backoff_initial_ms", "link.backoff_max_ms", "link.ack_timeout_s", "link.backfill_per_s",
          "link.avl_batch",
          "link.downlink_check_s", "link.health_interval_s", "records.slow_s", "records.timeout_s", "records.show_s", "records.alert_show_s",
          "gps.source", "gps.host", "gps.port", "gps.replay_file", "gps.replay_speedup", "gps.replay_loop",
          "gps.sim_seed", "gps.sim_speedup", "avl.moving_interval_s", "avl.stationary_interval_s", "avl.distance_m",
          "avl.heading_deg", "avl.max_eph_m", "inputs.source", "inputs.device", "inputs.emergency_code", "log_level"};
}

Status AgentConfig::validate() const {
  if (deviceId.empty()) return Error::make("config: device_id is required (e.g. \"MDC-0001\")");
  if (unitId.empty()) return Error::make("config: unit_id is required (e.g. \"E12\")");
  if (agency.empty()) return Error::make("config: agency is required (e.g. \"FD1\")");
  if (gpsSource == "replay" && replayFile.empty())
    return bad("gps.replay_file", "", "required with gps.source replay");
  if (backoffMaxMs < backoffInitialMs)
    return bad("link.backoff_max_ms", std::to_string(backoffMaxMs),
               "must be >= link.backoff_initial_ms (" + std::to_string(backoffInitialMs) + ")");
  if (recordsTimeoutS <= recordsSlowS)
    return bad("records.timeout_s", std::to_string(recordsTimeoutS),
               "must be more than records.slow_s (" + std::to_string(recordsSlowS) + ")");
  if (broker.rfind("ssl://", 0) == 0) {
    if (tlsCa.empty()) return bad("tls.ca", "", "required with an ssl:// broker");
    if (tlsCert.empty()) return bad("tls.cert", "", "required with an ssl:// broker");
    if (tlsKey.empty()) return bad("tls.key", "", "required with an ssl:// broker");
  }
  return {};
}

std::string AgentConfig::toJson() const {
  QJsonObject tls{{"ca", QString::fromStdString(tlsCa)},
                  {"cert", QString::fromStdString(tlsCert)},
                  {"key", QString::fromStdString(tlsKey)},
                  {"enroll_server", QString::fromStdString(enrollServer)},
                  {"renew_margin_days", renewMarginDays},
                  {"renew_check_s", renewCheckS}};
  QJsonObject store{{"path", QString::fromStdString(storePath)},
                    {"key_path", QString::fromStdString(storeKeyPath)},
                    {"cap_bytes", qint64(storeCapBytes)},
                    {"avl_commit_ms", avlCommitMs}};
  QJsonObject link{{"mqtt_version", QString::fromStdString(mqttVersion)},
                   {"window", window},
                   {"keepalive_s", keepAliveS},
                   {"heartbeat_s", heartbeatS},
                   {"backoff_initial_ms", backoffInitialMs},
                   {"backoff_max_ms", backoffMaxMs},
                   {"ack_timeout_s", ackTimeoutS},
                   {"backfill_per_s", backfillPerSecond},
                   {"avl_batch", avlBatch},
                   {"downlink_check_s", downlinkCheckS},
                   {"health_interval_s", healthIntervalS}};
  QJsonObject records{{"slow_s", recordsSlowS},
                      {"timeout_s", recordsTimeoutS},
                      {"show_s", recordsShowS},
                      {"alert_show_s", recordsAlertShowS}};
  QJsonObject gps{{"source", QString::fromStdString(gpsSource)},
                  {"host", QString::fromStdString(gpsdHost)},
                  {"port", gpsdPort},
                  {"replay_file", QString::fromStdString(replayFile)},
                  {"replay_speedup", replaySpeedup},
                  {"replay_loop", replayLoop},
                  {"sim_seed", simSeed},
                  {"sim_speedup", simSpeedup}};
  QJsonObject avl{{"moving_interval_s", avlMovingIntervalS},
                  {"stationary_interval_s", avlStationaryIntervalS},
                  {"distance_m", avlDistanceM},
                  {"heading_deg", avlHeadingDeg},
                  {"max_eph_m", avlMaxEphM}};
  QJsonObject inputs{{"source", QString::fromStdString(inputsSource)},
                     {"device", QString::fromStdString(inputsDevice)},
                     {"emergency_code", QString::fromStdString(inputsEmergencyCode)}};
  QJsonObject root{{"device_id", QString::fromStdString(deviceId)},
                   {"unit_id", QString::fromStdString(unitId)},
                   {"agency", QString::fromStdString(agency)},
                   {"broker", brokers().size() == 1 ? QJsonValue(QString::fromStdString(broker)) : [this] {
                      QJsonArray a;
                      for (const auto& b : brokers()) a.append(QString::fromStdString(b));
                      return QJsonValue(a);
                    }()},
                   {"tls", tls},
                   {"store", store},
                   {"socket", QJsonObject{{"path", QString::fromStdString(socketPath)}}},
                   {"link", link},
                   {"records", records},
                   {"gps", gps},
                   {"avl", avl},
                   {"inputs", inputs},
                   {"log_level", QString::fromStdString(logLevel)}};
  return QJsonDocument(root).toJson(QJsonDocument::Indented).toStdString();
}

Status loadConfigFile(const std::string& path, AgentConfig& cfg) {
  auto text = files::read(path);
  if (!text) return Error::make("config: " + text.error().message);
  QJsonParseError perr;
  QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(*text), &perr);
  if (doc.isNull())
    return Error::make("config: \"" + path + "\": not valid JSON at offset " + std::to_string(perr.offset) + ": " +
                       perr.errorString().toStdString());
  if (!doc.isObject()) return Error::make("config: \"" + path + "\": the top level must be an object");
  // Flatten {"store": {"path": ...}} to "store.path" and hand each to set().
  std::vector<std::pair<std::string, QJsonValue>> flat;
  const QJsonObject root = doc.object();
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.value().isObject()) {
      const QJsonObject sub = it.value().toObject();
      for (auto jt = sub.begin(); jt != sub.end(); ++jt)
        flat.emplace_back(it.key().toStdString() + "." + jt.key().toStdString(), jt.value());
    } else {
      flat.emplace_back(it.key().toStdString(), it.value());
    }
  }
  for (const auto& [key, value] : flat) {
    std::string text;
    if (value.isString()) text = value.toString().toStdString();
    else if (value.isDouble()) {
      double d = value.toDouble();
      bool fractional = key == "gps.replay_speedup" || key == "gps.sim_speedup" || key == "avl.distance_m" ||
                        key == "avl.heading_deg" || key == "avl.max_eph_m";
      if (fractional) text = std::to_string(d);
      else if (d != double(qint64(d))) return Error::make("config: " + key + " \"" + std::to_string(d) + "\": not a whole number (in \"" + path + "\")");
      else text = std::to_string(qint64(d));
    }
    else if (value.isBool()) text = value.toBool() ? "true" : "false";
    else if (value.isArray() && key == "broker") {
      // ["tcp://a:1883", "tcp://b:1883"]: the nodes of one cluster.
      const QJsonArray list = value.toArray();
      if (list.isEmpty()) return Error::make("config: broker: the list is empty (in \"" + path + "\")");
      for (const auto& item : list) {
        if (!item.isString()) return Error::make("config: broker: every item must be a string URI (in \"" + path + "\")");
        text += (text.empty() ? "" : ",") + item.toString().toStdString();
      }
    }
    else return Error::make("config: " + key + ": expected a string or a number in \"" + path + "\"");
    if (Status s = cfg.set(key, text); !s) return Error::make(s.error().message + " (in \"" + path + "\")");
  }
  return {};
}

}  // namespace mdc::agent
