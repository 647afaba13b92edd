import QtQuick
import Mdc
import QtQuick.Layouts

// Another unit on this unit's call ran a query that hit: on every page until
// dismissed. Tapping the text opens the call.
Rectangle {
    id: banner
    property QueryController query
    signal openCall()
    readonly property var alert: query && query.safetyAlerts.length > 0 ? query.safetyAlerts[0] : null
    visible: alert !== null
    implicitHeight: visible ? 64 : 0
    color: Theme.danger
    SequentialAnimation on opacity {
        running: banner.visible
        loops: Animation.Infinite
        NumberAnimation { to: 0.8; duration: 600 }
        NumberAnimation { to: 1.0; duration: 600 }
    }
    RowLayout {
        anchors.fill: parent
        anchors.leftMargin: 20
        anchors.rightMargin: 10
        spacing: Theme.gap
        Text {
            objectName: "safetyAlertText"
            Layout.fillWidth: true
            text: banner.alert ? qsTr("OFFICER SAFETY on %1: %2 ran %3: %4")
                                     .arg(banner.alert.incident).arg(banner.alert.unit)
                                     .arg(banner.alert.subject).arg(banner.alert.flags) : ""
            elide: Text.ElideRight
            font.family: Theme.family; font.pixelSize: Theme.fontLarge; font.bold: true
            color: Theme.textOnAccent
            MouseArea { anchors.fill: parent; onClicked: banner.openCall() }
        }
        BigButton {
            objectName: "safetyAlertDismiss"
            Layout.preferredWidth: 150
            Layout.preferredHeight: 52
            fontSize: Theme.fontBody
            text: qsTr("Dismiss")
            onClicked: banner.query.dismissSafetyAlert(banner.alert.seq)
        }
    }
}
