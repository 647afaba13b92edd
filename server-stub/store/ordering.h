#pragma once
// The ordering rule of the read models: what the board shows is the latest,
// not the last to arrive. Every event gets a stamp, ordered by its recorded
// time, then its source, then the device's seq (a dispatcher action: its log
// position); a field of a read model changes only for an event whose stamp is
// greater than the stamp of what the field shows. Late events stay in the log
// and on the CFS timelines (marked late); they move no field backwards.
//
// A unit's membership of calls (assigned, self-initiated, cleared, closed) is
// not one field but a history: a late "available" must clear the unit from
// the call it was on at that moment, not from the one it is on now. So the
// membership is a fold of the unit's membership facts in stamp order
// (foldMembership); a fact that arrives in order is one more step of the
// fold, a late one re-folds the unit's facts from the start.
//
// Pure logic: no SQL, no clock. Thread-safety: values only.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cad::ordering {

/** The source of a dispatcher's (or registry's) action in a stamp: sorts after
 *  every device id at the same millisecond. */
inline constexpr const char* kDispatchSource = "~dispatch";

/** A stamp, comparable as a string: recorded time (13 digits of Unix ms),
 *  source (device id or kDispatchSource), then seq or log position (20
 *  digits), separated by spaces (below every character of a device id, so a
 *  shorter id that is a prefix of a longer one sorts first).
 *  Times before 1970 or after 2286 are clamped to the 13-digit range. */
std::string stamp(int64_t atMs, const std::string& source, uint64_t seqOrPos);
/** The recorded time in a stamp (0 for the empty stamp ""). */
int64_t stampTime(const std::string& stamp);

/** One fact about a unit's calls. */
struct MembershipFact {
  enum class Kind {
    Assign,        ///< a dispatcher put the unit on `incident`; takes it off any other call
    SelfInitiate,  ///< the unit started `incident` itself; refused while it is on another call
    Clear,         ///< the unit left `incident` (empty: every call it is on)
  };
  std::string stamp;
  Kind kind = Kind::Clear;
  std::string incident;
  std::string reason;  ///< Clear: why, as the unit and the timeline read it ("cleared by E12 AVAILABLE")
  std::string actor;   ///< Assign: the dispatcher's name, for the reason given to the call it leaves
};

/** The unit's latest time on one call. */
struct Spell {
  std::string attachStamp;
  bool on = false;
  std::string clearStamp;  ///< "" while on
  std::string clearReason;
  bool operator==(const Spell&) const = default;
};

/** A unit's calls: incident number -> its latest spell on it. */
struct Membership {
  std::map<std::string, Spell> spells;
  /** The call the unit is on that it joined last; "" when it is on none. */
  std::string current() const;
  /** The call the unit was on at a stamp's moment, as far as this membership
   *  shows (the latest spell begun before it and not ended before it). */
  std::string onAt(const std::string& stamp) const;
  bool operator==(const Membership&) const = default;
};

/** What one self-initiated call met: nullopt when the unit was attached, else
 *  the call it was on already (the unit stays there). */
using SelfInitiateVerdict = std::optional<std::string>;

/** Applies one fact that is newer than every fact already in m. Returns the
 *  verdict for a SelfInitiate fact, nullopt for the others. */
SelfInitiateVerdict apply(Membership& m, const MembershipFact& f);

/** Folds facts (in any order; sorted here by stamp) from an empty membership.
 *  verdicts, if given, receives each SelfInitiate fact's verdict by stamp. */
Membership foldMembership(std::vector<MembershipFact> facts,
                          std::map<std::string, SelfInitiateVerdict>* verdicts = nullptr);

}  // namespace cad::ordering
