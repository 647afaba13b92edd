#pragma once
// What every cadctl command prints the same way.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>

#include <cstdint>
#include <iostream>
#include <string>

#include "shared/wire/clock.h"

namespace cad::cli {

/** An ISO time, or "-" for 0 (never). */
inline std::string iso(int64_t ms) { return ms > 0 ? mdc::formatIsoUtc(ms) : "-"; }

/** A JSON object or array on stdout, indented (--json). */
inline void printJson(const QJsonValue& v) {
  QJsonDocument d = v.isArray() ? QJsonDocument(v.toArray()) : QJsonDocument(v.toObject());
  std::cout << d.toJson(QJsonDocument::Indented).toStdString();
}

}  // namespace cad::cli
