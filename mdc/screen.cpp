#include "mdc/screen.h"

#include <QQmlError>

namespace mdc::ui {

ScreenControllers::ScreenControllers(AgentConnection& a)
    : agent(a),
      header(a),
      status(a),
      emergency(a),
      assignment(a),
      cfs(a),
      messages(a),
      actions(a),
      situation(a),
      supervisor(a),
      query(a),
      diagnostics(a) {
  // A new assignment sounds when the app has the sound on (off by default and in tests).
  QObject::connect(&assignment, &AssignmentController::alertSound, &alertTone, &AlertTone::play);
  QObject::connect(&alertTone, &AlertTone::played, &alertTone, [](bool ok, const QString& detail) {
    if (!ok) qWarning("%s", qPrintable(detail));
  });
}

QVariantMap ScreenControllers::properties() {
  return {{QStringLiteral("agent"), QVariant::fromValue(&agent)},
          {QStringLiteral("header"), QVariant::fromValue(&header)},
          {QStringLiteral("statusCtl"), QVariant::fromValue(&status)},
          {QStringLiteral("emergency"), QVariant::fromValue(&emergency)},
          {QStringLiteral("assignment"), QVariant::fromValue(&assignment)},
          {QStringLiteral("cfs"), QVariant::fromValue(&cfs)},
          {QStringLiteral("messaging"), QVariant::fromValue(&messages)},
          {QStringLiteral("actions"), QVariant::fromValue(&actions)},
          {QStringLiteral("situation"), QVariant::fromValue(&situation)},
          {QStringLiteral("supervisor"), QVariant::fromValue(&supervisor)},
          {QStringLiteral("query"), QVariant::fromValue(&query)},
          {QStringLiteral("diagnostics"), QVariant::fromValue(&diagnostics)},
          {QStringLiteral("theme"), QVariant::fromValue(&theme)}};
}

QUrl mainQmlUrl() { return QUrl(QStringLiteral("qrc:/Mdc/Main.qml")); }

QStringList loadScreen(QQmlApplicationEngine& engine, ScreenControllers& controllers) {
  QStringList problems;
  auto conn = QObject::connect(&engine, &QQmlEngine::warnings, &engine, [&problems](const QList<QQmlError>& ws) {
    for (const auto& w : ws) problems << w.toString();
  });
  engine.addImportPath(QStringLiteral("qrc:/"));
  engine.setInitialProperties(controllers.properties());
  engine.load(mainQmlUrl());
  QObject::disconnect(conn);
  if (engine.rootObjects().isEmpty() && problems.isEmpty())
    problems << QStringLiteral("%1: no root object was created").arg(mainQmlUrl().toString());
  return problems;
}

}  // namespace mdc::ui
