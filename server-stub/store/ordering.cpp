#include "server-stub/store/ordering.h"

#include <algorithm>
#include <cstdio>

namespace cad::ordering {

std::string stamp(int64_t atMs, const std::string& source, uint64_t seqOrPos) {
  const int64_t t = std::clamp<int64_t>(atMs, 0, 9'999'999'999'999);
  char head[24], tail[24];
  std::snprintf(head, sizeof head, "%013lld ", static_cast<long long>(t));
  std::snprintf(tail, sizeof tail, " %020llu", static_cast<unsigned long long>(seqOrPos));
  return head + source + tail;
}

int64_t stampTime(const std::string& s) {
  if (s.size() < 13) return 0;
  return std::stoll(s.substr(0, 13));
}

std::string Membership::current() const {
  const std::string* best = nullptr;
  const Spell* bestSpell = nullptr;
  for (const auto& [incident, spell] : spells)
    if (spell.on && (!bestSpell || spell.attachStamp > bestSpell->attachStamp)) {
      best = &incident;
      bestSpell = &spell;
    }
  return best ? *best : std::string();
}

std::string Membership::onAt(const std::string& s) const {
  const std::string* best = nullptr;
  const Spell* bestSpell = nullptr;
  for (const auto& [incident, spell] : spells) {
    bool covers = spell.attachStamp < s && (spell.on || spell.clearStamp > s);
    if (covers && (!bestSpell || spell.attachStamp > bestSpell->attachStamp)) {
      best = &incident;
      bestSpell = &spell;
    }
  }
  return best ? *best : std::string();
}

SelfInitiateVerdict apply(Membership& m, const MembershipFact& f) {
  auto attach = [&] {
    Spell& s = m.spells[f.incident];
    s.attachStamp = f.stamp;
    s.on = true;
    s.clearStamp.clear();
    s.clearReason.clear();
  };
  auto clear = [&](Spell& s, const std::string& reason) {
    s.on = false;
    s.clearStamp = f.stamp;
    s.clearReason = reason;
  };
  switch (f.kind) {
    case MembershipFact::Kind::Assign:
      for (auto& [incident, s] : m.spells)
        if (s.on && incident != f.incident) clear(s, "reassigned to " + f.incident + " by " + f.actor);
      attach();
      return std::nullopt;
    case MembershipFact::Kind::SelfInitiate: {
      std::string busy = m.current();
      if (!busy.empty() && busy != f.incident) return busy;
      attach();
      return std::nullopt;
    }
    case MembershipFact::Kind::Clear:
      for (auto& [incident, s] : m.spells)
        if (s.on && (f.incident.empty() || incident == f.incident)) clear(s, f.reason);
      return std::nullopt;
  }
  return std::nullopt;
}

Membership foldMembership(std::vector<MembershipFact> facts, std::map<std::string, SelfInitiateVerdict>* verdicts) {
  std::sort(facts.begin(), facts.end(), [](const auto& a, const auto& b) { return a.stamp < b.stamp; });
  Membership m;
  for (const auto& f : facts) {
    auto v = apply(m, f);
    if (verdicts && f.kind == MembershipFact::Kind::SelfInitiate) (*verdicts)[f.stamp] = v;
  }
  return m;
}

}  // namespace cad::ordering
