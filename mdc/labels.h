#pragma once
// Words and numbers as the responder reads them: status names, delivery
// states, ages. Translatable (QCoreApplication::translate, context "mdc").
#include <QString>

#include "mdc/v1/local.pb.h"

namespace mdc::ui {

/** "En route", "On scene", ... ("—" for unspecified). */
QString statusLabel(v1::UnitStatus s);
/** "queued", "delivered", "rejected", or "" when unspecified. */
QString deliveryKey(v1::Delivery d);
/** A short age: "12 s", "4 min", "2 h 5 min". */
QString ageText(qint64 ms);
/** Local wall-clock time of a Unix-ms timestamp, "14:32" ("—" for 0). */
QString clockText(qint64 unixMs);
/** The status codes the agency shows when nothing else is configured, in order. */
QList<int> defaultStatuses();
/** Self-initiated call types: code for the backend, label for the screen. */
struct CfsType {
  QString code;
  QString label;
  bool operator==(const CfsType&) const = default;
};
QList<CfsType> defaultCfsTypes();

}  // namespace mdc::ui
