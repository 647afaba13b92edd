#pragma once
// Where the call is and who is near, as the screen shows them: distance and
// bearing to the current call, the other units (nearest first) with their
// place relative to this vehicle for the plot, and a nearby emergency.
#include <QtQml/qqmlregistration.h>

#include "mdc/agent_connection.h"
#include "mdc/row_list_model.h"

namespace mdc::ui {

/** A unit near this vehicle or on its call, placed relative to it. */
struct NearbyUnitRow {
  QString unit, status, distance, bearing, incident;
  double eastM = 0, northM = 0;
  bool emergency = false, onCall = false;
  qint64 positionAtMs = 0;
  bool operator==(const NearbyUnitRow&) const = default;
};

/** The nearby units, nearest first, from the agent's state. Positions are
 *  east/north metres from this vehicle's fix (or from the call when the
 *  vehicle has no fix). Thread-safety: GUI thread only. */
class SituationModel : public RowListModel<NearbyUnitRow> {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(int count READ count NOTIFY changed)
  Q_PROPERTY(bool hasFix READ hasFix NOTIFY changed)
  Q_PROPERTY(bool hasCall READ hasCall NOTIFY changed)
  Q_PROPERTY(QString callIncident READ callIncident NOTIFY changed)
  Q_PROPERTY(QString callDirection READ callDirection NOTIFY changed)
  Q_PROPERTY(double callEastM READ callEastM NOTIFY changed)
  Q_PROPERTY(double callNorthM READ callNorthM NOTIFY changed)
  Q_PROPERTY(int callUnits READ callUnits NOTIFY changed)
  Q_PROPERTY(bool nearbyKnown READ nearbyKnown NOTIFY changed)
  Q_PROPERTY(bool nearbyCurrent READ nearbyCurrent NOTIFY changed)
  Q_PROPERTY(QString nearbySummary READ nearbySummary NOTIFY changed)
  Q_PROPERTY(QString nearbyEmergency READ nearbyEmergency NOTIFY changed)
  Q_PROPERTY(double callExtentM READ callExtentM NOTIFY changed)
  Q_PROPERTY(double nearbyExtentM READ nearbyExtentM NOTIFY changed)

 public:
  enum Role {
    UnitRole = Qt::UserRole + 1, StatusRole, DistanceRole, BearingRole, EastRole, NorthRole, EmergencyRole,
    OnCallRole, AgeRole, IncidentRole
  };
  Q_ENUM(Role)
  using Entry = NearbyUnitRow;
  /** The list is "current" while the backend's last one is younger than this. */
  static constexpr qint64 kCurrentMs = 90'000;

  explicit SituationModel(AgentConnection& agent, QObject* parent = nullptr);

  int count() const { return int(rows().size()); }
  bool hasFix() const { return hasFix_; }
  bool hasCall() const { return !callIncident_.isEmpty(); }
  QString callIncident() const { return callIncident_; }
  /** "1.2 km NE · 41°", or why it is unknown. */
  QString callDirection() const { return callDirection_; }
  double callEastM() const { return callEastM_; }
  double callNorthM() const { return callNorthM_; }
  /** Other units on the call this vehicle knows the place of. */
  int callUnits() const;
  bool nearbyKnown() const { return nearbyAtMs_ > 0; }
  bool nearbyCurrent() const { return current_; }
  /** "3 units within 5.0 km · updated 12 s ago" (or why not). */
  QString nearbySummary() const { return summary_; }
  /** "E7 · 320 m NE" for each nearby unit with an active emergency, or "". */
  QString nearbyEmergency() const { return emergency_; }
  /** Half the side of a plot that shows the call and its units (metres). */
  double callExtentM() const { return extent(true); }
  /** Half the side of a plot that shows every nearby unit. */
  double nearbyExtentM() const { return extent(false); }

  QHash<int, QByteArray> roleNames() const override;

 signals:
  void changed();

 private:
  QVariant rowData(const Entry& e, int index, int role) const override;
  void refresh();
  double extent(bool callOnly) const;
  AgentConnection& agent_;
  bool hasFix_ = false;
  QString callIncident_, callDirection_, summary_, emergency_;
  double callEastM_ = 0, callNorthM_ = 0;
  qint64 nearbyAtMs_ = 0;
  bool current_ = false;
};

}  // namespace mdc::ui
