import QtQuick
import Mdc

// Shown on every page while the emergency is active: whether dispatch has it
// and whether a dispatcher has acknowledged it.
Rectangle {
    id: banner
    property EmergencyController emergency
    visible: emergency && emergency.active
    implicitHeight: visible ? 64 : 0
    color: Theme.danger

    SequentialAnimation on opacity {
        running: banner.visible && !(banner.emergency && banner.emergency.acknowledgedBy !== "")
        loops: Animation.Infinite
        NumberAnimation { to: 0.7; duration: 700 }
        NumberAnimation { to: 1.0; duration: 700 }
    }

    Row {
        anchors.verticalCenter: parent.verticalCenter
        anchors.left: parent.left
        anchors.leftMargin: 20
        spacing: 20
        Text {
            objectName: "emergencyBannerText"
            anchors.verticalCenter: parent.verticalCenter
            text: qsTr("EMERGENCY ACTIVE")
            font.family: Theme.family; font.pixelSize: Theme.fontXL - 4; font.bold: true
            color: Theme.textOnAccent
        }
        DeliveryBadge {
            anchors.verticalCenter: parent.verticalCenter
            delivery: banner.emergency ? banner.emergency.delivery : ""
            onColour: true
        }
        Text {
            objectName: "emergencyAck"
            anchors.verticalCenter: parent.verticalCenter
            text: banner.emergency && banner.emergency.acknowledgedBy !== ""
                  ? qsTr("Acknowledged by %1").arg(banner.emergency.acknowledgedBy)
                  : qsTr("Not yet acknowledged by dispatch")
            font.family: Theme.family; font.pixelSize: Theme.fontLarge - 2; font.bold: true
            color: Theme.textOnAccent
        }
    }
}
