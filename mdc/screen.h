#pragma once
// The controllers and models behind the responder's screen, built for one
// agent connection, and the loading of the QML screen with them.
#include <QQmlApplicationEngine>
#include <QStringList>
#include <QVariantMap>

#include "mdc/activity_models.h"
#include "mdc/alert_tone.h"
#include "mdc/agent_connection.h"
#include "mdc/assignment_controller.h"
#include "mdc/cfs_controller.h"
#include "mdc/diagnostics_controller.h"
#include "mdc/emergency_controller.h"
#include "mdc/header_state.h"
#include "mdc/query_controller.h"
#include "mdc/situation_model.h"
#include "mdc/supervisor_model.h"
#include "mdc/status_controller.h"
#include "mdc/theme_controller.h"

namespace mdc::ui {

/** Everything the screen binds to; each piece is a small, separate object.
 *  The headless shift uses the same objects. Thread-safety: GUI thread only. */
struct ScreenControllers {
  explicit ScreenControllers(AgentConnection& agent);

  AgentConnection& agent;
  HeaderState header;
  StatusController status;
  EmergencyController emergency;
  AssignmentController assignment;
  CfsController cfs;
  MessageController messages;
  ActionsModel actions;
  SituationModel situation;
  SupervisorModel supervisor;
  QueryController query;
  DiagnosticsController diagnostics;
  ThemeController theme;
  AlertTone alertTone;  ///< plays when assignment.alertSound() fires

  /** Main.qml's required properties. */
  QVariantMap properties();
};

/** The URL of the screen in the compiled-in QML module. */
QUrl mainQmlUrl();

/** Loads Main.qml into engine bound to controllers. Returns every QML warning
 *  and error seen while loading (empty: loaded cleanly). */
QStringList loadScreen(QQmlApplicationEngine& engine, ScreenControllers& controllers);

}  // namespace mdc::ui
