#pragma once
// A supervisor's board: the units of the zones the supervisor oversees, as the
// backend last sent them (read-only). Only a supervisor's device gets one.
#include <QtQml/qqmlregistration.h>

#include "mdc/agent_connection.h"
#include "mdc/row_list_model.h"

namespace mdc::ui {

/** A unit on the supervisor's board. */
struct BoardRow {
  QString unit, zone, status, since, incident;
  bool emergency = false, online = false;
  bool operator==(const BoardRow&) const = default;
};

/** The rows of the board, by zone then unit. Thread-safety: GUI thread only. */
class SupervisorModel : public RowListModel<BoardRow> {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("created by the app")
  Q_PROPERTY(bool active READ active NOTIFY changed)
  Q_PROPERTY(QString scope READ scope NOTIFY changed)
  Q_PROPERTY(int count READ count NOTIFY changed)
  Q_PROPERTY(int emergencies READ emergencies NOTIFY changed)
  Q_PROPERTY(QString summary READ summary NOTIFY changed)
  Q_PROPERTY(bool current READ current NOTIFY changed)

 public:
  enum Role { UnitRole = Qt::UserRole + 1, ZoneRole, StatusRole, SinceRole, IncidentRole, EmergencyRole, OnlineRole };
  Q_ENUM(Role)
  using Entry = BoardRow;
  /** The board is "current" while the backend's last one is younger than this (it sends one every 30 s). */
  static constexpr qint64 kCurrentMs = 90'000;

  explicit SupervisorModel(AgentConnection& agent, QObject* parent = nullptr);

  bool active() const { return atMs_ > 0; }
  QString scope() const { return scope_; }
  int count() const { return int(rows().size()); }
  int emergencies() const;
  /** "7 units · 2 on calls · updated 12 s ago" (or how old it is). */
  QString summary() const { return summary_; }
  bool current() const { return current_; }

  QHash<int, QByteArray> roleNames() const override;

 signals:
  void changed();

 private:
  QVariant rowData(const Entry& e, int index, int role) const override;
  void refresh();
  AgentConnection& agent_;
  QString scope_, summary_;
  qint64 atMs_ = 0;
  bool current_ = false;
};

}  // namespace mdc::ui
