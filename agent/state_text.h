#pragma once
// Human-readable renderings of the agent's state, for mdcctl and logs.
#include <string>

#include "mdc/v1/local.pb.h"

namespace mdc::agent {

/** A multi-line summary for `mdcctl state`. */
std::string stateText(const v1::AgentState& s);
/** "queued", "delivered", "rejected", "held" or "-". */
std::string deliveryName(v1::Delivery d);
/** A records query and what came back, for `mdcctl query` (several lines). */
std::string recordsText(const v1::RecordsQueryView& q);
/** "ANSWERED", "WAITING", ... */
std::string recordsStateName(v1::RecordsQueryState s);
/** The agency's call types as the agent keeps them (one "code TAB label TAB
 *  apco" line each; the backend refuses tabs and line breaks in them). */
std::string cfsTypesState(const v1::Configuration& c);
/** Adds the call types kept by cfsTypesState to a state. */
void addCfsTypes(const std::string& kept, v1::AgentState& s);
/** One line for `mdcctl watch`. */
std::string stateLine(const v1::AgentState& s);

}  // namespace mdc::agent
