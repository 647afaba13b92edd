// Downlinks a planner decides on from the store's state, outside the units'
// sequences: who is near each unit (nearby::Planner) and each supervisor's
// board (zones::Planner). Both take the same path: read the state, ask the
// planner what is due, send each at QoS 1 if urgent, else 0.
#include "server-stub/service/cad_service.h"

#include <optional>

#include "server-stub/store/read_models.h"
#include "shared/infra/log.h"
#include "shared/wire/clock.h"
#include "shared/wire/codec.h"
#include "shared/wire/topics.h"

namespace cad {

namespace log = mdc::log;

template <class Read, class Send>
void CadService::publishPlanned(const char* what, Read read, Send send) {
  if (!linkReady()) return;
  std::optional<decltype(read())> state;
  try {
    state = read();
  } catch (const mdc::sql::DbError& e) {
    log::warn("stub", std::string(what) + " not computed: " + e.what());
    return;
  }
  send(*state, mdc::SystemClock::instance().monotonicMs());
}

bool CadService::sendPlanned(const mdc::v1::Downlink& dl, const std::string& device, bool urgent,
                             const std::string& what, const std::string& note) {
  auto bytes = mdc::codec::encodeDownlink(dl);
  if (!bytes) {
    log::error("stub", what + " not sent: " + bytes.error().message);
    return false;
  }
  if (!note.empty()) log::info("stub", note);
  return bool(sendDown(device, std::move(*bytes), urgent ? 1 : 0));
}

void CadService::publishNearby() {
  publishPlanned(
      "units nearby", [this] { return ReadModels(store_).unitPlaces(); },
      [this](const std::vector<nearby::UnitPlace>& board, int64_t nowMs) {
        for (auto& [unit, body, urgent] : nearby_.due(board, nowMs)) {
          mdc::v1::Downlink dl = unsequenced(unit->unit);
          *dl.mutable_units_nearby() = std::move(body);
          if (sendPlanned(dl, unit->device, urgent, "units nearby for " + unit->unit)) ++counters_.nearbySent;
        }
      });
}

void CadService::publishBoards() {
  using Zones = std::pair<std::vector<zones::Supervisor>, std::vector<zones::Row>>;
  publishPlanned(
      "supervisor boards",
      [this] {
        ReadModels read(store_);
        Zones z;
        z.first = read.supervisors();
        if (!z.first.empty()) z.second = read.supervisedRows();
        return z;
      },
      [this](const Zones& z, int64_t nowMs) {
        for (auto& [unit, device, board, urgent] : boards_.due(z.first, z.second, nowMs)) {
          mdc::v1::Downlink dl = unsequenced(unit);
          const bool withdrawn = board.scope().empty();
          *dl.mutable_supervisor_board() = std::move(board);
          const std::string note =
              withdrawn ? "board withdrawn from " + device + " (unit " + unit + " supervises nothing now)" : "";
          if (sendPlanned(dl, device, urgent, "board for supervisor " + unit, note)) ++counters_.boardsSent;
        }
      });
}

}  // namespace cad
