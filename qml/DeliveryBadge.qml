import QtQuick
import Mdc

// Where an action stands: sending (not yet committed by the agent), queued
// (committed in the vehicle, dispatch does not have it yet), delivered
// (dispatch's system committed it), held (refused for a cause that can be
// fixed: kept and sent again), rejected (refused for good).
Rectangle {
    id: badge
    property string delivery: ""      // "", "sending", "queued", "delivered", "held", "rejected"
    property bool onColour: false     // drawn on an accent-filled button
    property int fontSize: Theme.fontSmall

    visible: delivery !== ""
    implicitWidth: label.implicitWidth + 20
    implicitHeight: label.implicitHeight + 8
    radius: height / 2
    color: delivery === "sending" ? Theme.surfaceAlt : Theme.deliveryColor(delivery)
    border.width: onColour ? 2 : 0
    border.color: Theme.textOnAccent

    Text {
        id: label
        anchors.centerIn: parent
        font.family: Theme.family
        font.pixelSize: badge.fontSize
        font.bold: true
        color: badge.delivery === "sending" ? Theme.text : Theme.textOnAccent
        text: badge.delivery === "delivered" ? qsTr("✓ DELIVERED")
            : badge.delivery === "queued" ? qsTr("● QUEUED")
            : badge.delivery === "rejected" ? qsTr("✗ REJECTED")
            : badge.delivery === "held" ? qsTr("‖ HELD")
            : badge.delivery === "sending" ? qsTr("… SENDING") : ""
    }
}
