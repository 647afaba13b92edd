import QtQuick
import Mdc
import QtQuick.Layouts

// The current call: what, where, who else, notes and timeline, and the
// acknowledge action (Ctrl+A).
Item {
    id: page
    property AssignmentController assignment
    property SituationModel situation
    readonly property bool has: assignment ? assignment.hasAssignment : false

    Column {
        anchors.centerIn: parent
        visible: !page.has
        spacing: Theme.gap
        Text {
            anchors.horizontalCenter: parent.horizontalCenter
            text: qsTr("No current assignment")
            font.family: Theme.family; font.pixelSize: Theme.fontXL
            color: Theme.textDim
        }
        Text {
            objectName: "assignmentLastCleared"
            anchors.horizontalCenter: parent.horizontalCenter
            visible: text !== ""
            text: page.assignment ? page.assignment.lastCleared : ""
            font.family: Theme.family; font.pixelSize: Theme.fontBody
            color: Theme.textDim
        }
    }

    RowLayout {
        visible: page.has
        anchors.fill: parent
        anchors.margins: Theme.gap + 4
        spacing: Theme.gap + 4

        // Left: the call itself.
        ColumnLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.preferredWidth: 3
            spacing: Theme.gap

            RowLayout {
                spacing: Theme.gap
                Rectangle {
                    objectName: "assignmentPriority"
                    implicitWidth: 76; implicitHeight: 56; radius: Theme.radius
                    color: page.assignment && page.assignment.priority <= 2 ? Theme.danger : Theme.accent
                    Text {
                        anchors.centerIn: parent
                        text: "P" + (page.assignment ? page.assignment.priority : "")
                        font.family: Theme.family; font.pixelSize: Theme.fontXL; font.bold: true
                        color: Theme.textOnAccent
                    }
                }
                Column {
                    Layout.fillWidth: true
                    Text {
                        objectName: "assignmentType"
                        text: page.assignment ? page.assignment.cfsType.replace(/_/g, " ") : ""
                        font.family: Theme.family; font.pixelSize: Theme.fontXL; font.bold: true
                        color: Theme.text
                    }
                    Text {
                        objectName: "assignmentIncident"
                        text: page.assignment ? qsTr("Incident %1 · assigned %2").arg(page.assignment.incidentNumber).arg(page.assignment.assignedAt) : ""
                        font.family: Theme.family; font.pixelSize: Theme.fontBody
                        color: Theme.textDim
                    }
                }
            }

            Rectangle {
                Layout.fillWidth: true
                implicitHeight: addressCol.implicitHeight + 2 * Theme.gap
                radius: Theme.radius
                color: Theme.surface
                border.color: Theme.border
                Column {
                    id: addressCol
                    anchors { left: parent.left; right: parent.right; top: parent.top; margins: Theme.gap }
                    spacing: 4
                    FieldLabel { text: qsTr("Address") }
                    Text {
                        objectName: "assignmentAddress"
                        width: parent.width
                        text: page.assignment && page.assignment.address !== "" ? page.assignment.address : "—"
                        wrapMode: Text.WordWrap
                        font.family: Theme.family; font.pixelSize: Theme.fontXL; font.bold: true
                        color: Theme.text
                    }
                    Text {
                        objectName: "callDirection"
                        visible: page.situation ? page.situation.hasCall : false
                        text: page.situation ? page.situation.callDirection : ""
                        font.family: Theme.family; font.pixelSize: Theme.fontLarge; font.bold: true
                        color: page.situation && page.situation.hasFix ? Theme.accentText : Theme.warnText
                    }
                    Text {
                        text: page.assignment && page.assignment.locationText !== "" ? page.assignment.locationText : qsTr("no coordinates")
                        font.family: Theme.family; font.pixelSize: Theme.fontBody
                        color: Theme.textDim
                    }
                }
            }

            Rectangle {
                Layout.fillWidth: true
                implicitHeight: unitsCol.implicitHeight + 2 * Theme.gap
                radius: Theme.radius
                color: Theme.surface
                border.color: Theme.border
                Column {
                    id: unitsCol
                    anchors { left: parent.left; right: parent.right; top: parent.top; margins: Theme.gap }
                    spacing: 6
                    FieldLabel { text: qsTr("Units on this call") }
                    Flow {
                        width: parent.width
                        spacing: 8
                        Repeater {
                            model: page.assignment ? page.assignment.units : []
                            delegate: Rectangle {
                                required property string modelData
                                implicitWidth: unitText.implicitWidth + 24
                                implicitHeight: 40
                                radius: 20
                                color: Theme.surfaceAlt
                                border.color: Theme.border
                                Text {
                                    id: unitText
                                    anchors.centerIn: parent
                                    text: parent.modelData
                                    font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
                                    color: Theme.text
                                }
                            }
                        }
                    }
                }
            }

            Rectangle {
                Layout.fillWidth: true
                Layout.fillHeight: true
                radius: Theme.radius
                color: Theme.surface
                border.color: Theme.border
                clip: true
                Column {
                    anchors { fill: parent; margins: Theme.gap }
                    spacing: 4
                    FieldLabel { text: qsTr("Notes") }
                    Text {
                        objectName: "assignmentNotes"
                        width: parent.width
                        text: page.assignment && page.assignment.notes !== "" ? page.assignment.notes : "—"
                        wrapMode: Text.WordWrap
                        font.family: Theme.family; font.pixelSize: Theme.fontLarge - 2
                        color: Theme.text
                    }
                }
            }
        }

        // Right: acknowledge and the timeline.
        ColumnLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.preferredWidth: 2
            spacing: Theme.gap

            BigButton {
                objectName: "acknowledgeButton"
                Layout.fillWidth: true
                Layout.preferredHeight: 110
                enabled: page.assignment && !page.assignment.acknowledged && !page.assignment.sending
                fill: Theme.accent
                labelColor: Theme.textOnAccent
                text: page.assignment && page.assignment.acknowledged ? qsTr("Acknowledged") : qsTr("Acknowledge")
                caption: "Ctrl+A"
                badge: page.assignment ? (page.assignment.sending ? "sending" : page.assignment.ackDelivery) : ""
                onClicked: page.assignment.acknowledge()
            }
            SituationPlot {
                objectName: "callPlot"
                visible: page.situation ? page.situation.hasCall : false
                Layout.fillWidth: true
                Layout.preferredHeight: 250
                situation: page.situation
                callOnly: true
            }
            Text {
                visible: text !== ""
                Layout.fillWidth: true
                text: page.assignment ? page.assignment.lastError : ""
                wrapMode: Text.WordWrap
                font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
                color: Theme.dangerText
            }
            Rectangle {
                Layout.fillWidth: true
                Layout.fillHeight: true
                radius: Theme.radius
                color: Theme.surface
                border.color: Theme.border
                clip: true
                ColumnLayout {
                    anchors { fill: parent; margins: Theme.gap }
                    FieldLabel { text: qsTr("Timeline") }
                    ListView {
                        id: timeline
                        Layout.fillWidth: true
                        Layout.fillHeight: true
                        clip: true
                        spacing: 8
                        model: page.assignment ? page.assignment.timeline : null
                        delegate: Row {
                            id: tl
                            required property string time
                            required property string text
                            spacing: 12
                            width: timeline.width
                            Text {
                                text: tl.time
                                font.family: Theme.family; font.pixelSize: Theme.fontBody
                                color: Theme.textDim
                                width: 64
                            }
                            Text {
                                text: tl.text
                                width: tl.width - 76
                                wrapMode: Text.WordWrap
                                font.family: Theme.family; font.pixelSize: Theme.fontBody
                                color: Theme.text
                            }
                        }
                        Text {
                            visible: timeline.count === 0
                            text: qsTr("No entries")
                            font.family: Theme.family; font.pixelSize: Theme.fontBody
                            color: Theme.textDim
                        }
                    }
                }
            }
        }
    }
}
