import QtQuick
import Mdc
import QtQuick.Layouts

// A new assignment interrupts whatever page is open: big, one tap to view or
// acknowledge. Night-safe: a dark card with a pulsing border, no white flash.
Rectangle {
    id: overlay
    property AssignmentController assignment
    signal view()
    visible: assignment ? assignment.alerting : false
    color: Qt.rgba(0, 0, 0, 0.6)

    MouseArea { anchors.fill: parent }  // modal: taps do not reach the page below

    Rectangle {
        id: card
        objectName: "assignmentAlert"
        anchors.centerIn: parent
        width: Math.min(parent.width - 80, 820)
        height: content.implicitHeight + 48
        radius: Theme.radius * 2
        color: Theme.raised
        border.width: 6
        border.color: Theme.dangerText
        SequentialAnimation on border.color {
            running: overlay.visible
            loops: Animation.Infinite
            ColorAnimation { to: Theme.warnText; duration: 600 }
            ColorAnimation { to: Theme.dangerText; duration: 600 }
        }

        ColumnLayout {
            id: content
            anchors { left: parent.left; right: parent.right; top: parent.top; margins: 24 }
            spacing: 14
            Text {
                text: qsTr("NEW ASSIGNMENT")
                font.family: Theme.family; font.pixelSize: Theme.fontLarge; font.bold: true; font.letterSpacing: 2
                color: Theme.dangerText
            }
            Text {
                Layout.fillWidth: true
                text: overlay.assignment ? ("P%1  %2").arg(overlay.assignment.priority).arg(overlay.assignment.cfsType.replace(/_/g, " ")) : ""
                font.family: Theme.family; font.pixelSize: Theme.fontHuge; font.bold: true
                color: Theme.text
                elide: Text.ElideRight
            }
            Text {
                Layout.fillWidth: true
                text: overlay.assignment ? overlay.assignment.address : ""
                wrapMode: Text.WordWrap
                font.family: Theme.family; font.pixelSize: Theme.fontXL
                color: Theme.text
            }
            Text {
                text: overlay.assignment ? qsTr("Incident %1").arg(overlay.assignment.incidentNumber) : ""
                font.family: Theme.family; font.pixelSize: Theme.fontBody
                color: Theme.textDim
            }
            RowLayout {
                Layout.fillWidth: true
                spacing: Theme.gap
                BigButton {
                    objectName: "alertView"
                    Layout.fillWidth: true
                    Layout.preferredHeight: 96
                    text: qsTr("View")
                    onClicked: { overlay.assignment.dismissAlert(); overlay.view() }
                }
                BigButton {
                    objectName: "alertAcknowledge"
                    Layout.fillWidth: true
                    Layout.preferredHeight: 96
                    fill: Theme.accent
                    labelColor: Theme.textOnAccent
                    text: qsTr("Acknowledge")
                    onClicked: { overlay.assignment.acknowledge(); overlay.view() }
                }
            }
        }
    }
}
