#include "tests/integration/stub/wire_fleet.h"

#include "shared/wire/topics.h"

namespace cad::test {

namespace topics = mdc::topics;

class WireFleet::Conn final : public mdc::mqtt::Handler {
 public:
  Conn(WireFleet& f, const std::string& id) : f_(f) {
    mdc::mqtt::Options o;
    o.uri = f.uri_;
    o.clientId = id;
    o.cleanStart = true;
    o.maxInflight = f.maxInflight_;
    o.keepAliveS = 30;
    client = std::make_unique<mdc::mqtt::Client>(o, *this);
  }
  void onConnected(bool) override {
    std::lock_guard l(f_.mu_);
    connected = 1;
    f_.cv_.notify_all();
  }
  void onConnectFailed(const std::string&, int) override {
    std::lock_guard l(f_.mu_);
    connected = -1;
    f_.cv_.notify_all();
  }
  void onConnectionLost(const std::string&) override {}
  void onMessage(std::string topic, std::string payload, bool) override { f_.record(topic, payload); }
  void onPublishResult(int, bool, int) override {
    {
      std::lock_guard l(f_.mu_);
      ++f_.pubacks_;
    }
    f_.cv_.notify_all();
  }
  void onSubscribeResult(const std::string&, bool ok, int) override {
    std::lock_guard l(f_.mu_);
    subscribed += ok ? 1 : 0;
    f_.cv_.notify_all();
  }

  WireFleet& f_;
  std::unique_ptr<mdc::mqtt::Client> client;
  int connected = 0;
  size_t subscribed = 0;
  size_t wantSubscriptions = 0;
};

WireFleet::WireFleet(const std::string& brokerUri, const std::string& clientPrefix, int connections, int maxInflight)
    : uri_(brokerUri), prefix_(clientPrefix), maxInflight_(maxInflight) {
  for (int i = 0; i < connections; ++i)
    conns_.push_back(std::make_unique<Conn>(*this, prefix_ + "-" + std::to_string(i)));
}

WireFleet::~WireFleet() {
  for (auto& c : conns_) c->client->disconnect(200);
  conns_.clear();
}

bool WireFleet::connect(const std::vector<std::string>& devices, std::chrono::milliseconds timeout) {
  for (size_t i = 0; i < devices.size(); ++i) connOf_[devices[i]] = i % conns_.size();
  for (auto& c : conns_)
    if (!c->client->connect()) return false;
  {
    std::unique_lock l(mu_);
    if (!cv_.wait_for(l, timeout, [&] {
          for (auto& c : conns_)
            if (c->connected != 1) return false;
          return true;
        }))
      return false;
  }
  for (size_t i = 0; i < conns_.size(); ++i) {
    auto& c = *conns_[i];
    if (conns_.size() == 1) {
      c.wantSubscriptions = 1;
      if (!c.client->subscribe("cad/v1/dev/+/down", 1)) return false;
      continue;
    }
    for (const auto& [d, ci] : connOf_)
      if (ci == i) {
        ++c.wantSubscriptions;
        if (!c.client->subscribe(topics::down(d), 1)) return false;
      }
  }
  std::unique_lock l(mu_);
  return cv_.wait_for(l, timeout, [&] {
    for (auto& c : conns_)
      if (c->subscribed < c->wantSubscriptions) return false;
    return true;
  });
}

bool WireFleet::publish(const std::string& device, const std::string& payload, bool presence) {
  auto it = connOf_.find(device);
  size_t ci = it == connOf_.end() ? 0 : it->second;
  return publishTopic(ci, presence ? topics::presence(device) : topics::up(device), payload);
}

bool WireFleet::publishTopic(size_t connection, const std::string& topic, const std::string& payload) {
  return bool(conns_[connection % conns_.size()]->client->publish(topic, payload, 1, false));
}

void WireFleet::record(const std::string& topic, const std::string& payload) {
  auto parsed = topics::parse(topic);
  if (!parsed) return;
  mdc::v1::Downlink dl;
  if (!dl.ParseFromString(payload)) return;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard l(mu_);
    if (dl.has_commit_ack()) {
      ++ackMessages_;
      for (const auto& r : dl.commit_ack().committed()) {
        if (collect_) collected_.push_back({parsed->deviceId, r.first(), r.last(), dl.commit_ack().ingest_lag_ms()});
        for (uint64_t s = r.first(); s <= r.last(); ++s) {
          auto key = std::make_pair(parsed->deviceId, s);
          ++timesAcked_[parsed->deviceId][s];
          if (acked_.insert(key).second) ackAt_[key] = now;
        }
      }
    } else {
      downlinks_[parsed->deviceId].push_back(std::move(dl));
    }
  }
  cv_.notify_all();
}

std::set<std::pair<std::string, uint64_t>> WireFleet::acked() const {
  std::lock_guard l(mu_);
  return acked_;
}
std::map<uint64_t, int> WireFleet::timesAcked(const std::string& device) const {
  std::lock_guard l(mu_);
  auto it = timesAcked_.find(device);
  return it == timesAcked_.end() ? std::map<uint64_t, int>{} : it->second;
}
size_t WireFleet::ackedCount() const {
  std::lock_guard l(mu_);
  return acked_.size();
}
size_t WireFleet::ackMessages() const {
  std::lock_guard l(mu_);
  return ackMessages_;
}
std::vector<mdc::v1::Downlink> WireFleet::downlinks(const std::string& device) const {
  std::lock_guard l(mu_);
  auto it = downlinks_.find(device);
  return it == downlinks_.end() ? std::vector<mdc::v1::Downlink>{} : it->second;
}
size_t WireFleet::pubacks() const { return pubacks_.load(); }

bool WireFleet::waitAcked(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock l(mu_);
  return cv_.wait_for(l, timeout, [&] { return acked_.size() >= n; });
}
bool WireFleet::waitPubacks(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock l(mu_);
  return cv_.wait_for(l, timeout, [&] { return pubacks_.load() >= n; });
}
bool WireFleet::waitDownlinks(const std::string& device, size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock l(mu_);
  return cv_.wait_for(l, timeout, [&] {
    auto it = downlinks_.find(device);
    return it != downlinks_.end() && it->second.size() >= n;
  });
}
std::optional<std::chrono::steady_clock::time_point> WireFleet::ackTime(const std::string& device, uint64_t seq) const {
  std::lock_guard l(mu_);
  auto it = ackAt_.find({device, seq});
  if (it == ackAt_.end()) return std::nullopt;
  return it->second;
}

}  // namespace cad::test
