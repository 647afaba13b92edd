// The QML module "Mdc" is a static plugin: each program that loads the screen
// compiles this file in (through the mdc_ui_qml target) to register it.
#include <QtQml/qqmlextensionplugin.h>

Q_IMPORT_QML_PLUGIN(MdcPlugin)
