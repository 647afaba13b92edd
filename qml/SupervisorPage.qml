import QtQuick
import Mdc
import QtQuick.Layouts

// A supervisor's board, read-only: every unit of the zones it oversees, by
// zone, with its status, its call and an emergency first to the eye.
Item {
    id: page
    property SupervisorModel supervisor

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: Theme.gap + 4
        spacing: Theme.gap

        Text {
            objectName: "boardScope"
            Layout.fillWidth: true
            text: page.supervisor && page.supervisor.active ? page.supervisor.scope : qsTr("This unit supervises no zone")
            elide: Text.ElideRight
            font.family: Theme.family; font.pixelSize: Theme.fontLarge; font.bold: true
            color: Theme.text
        }
        Text {
            objectName: "boardSummary"
            Layout.fillWidth: true
            visible: page.supervisor && page.supervisor.active
            text: page.supervisor ? page.supervisor.summary : ""
            elide: Text.ElideRight
            font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
            color: page.supervisor && page.supervisor.current ? Theme.textDim : Theme.warnText
        }
        // Column heads.
        RowLayout {
            Layout.fillWidth: true
            Layout.leftMargin: 16
            Layout.rightMargin: 16
            spacing: 16
            visible: list.count > 0
            FieldLabel { text: qsTr("Zone"); Layout.preferredWidth: 90 }
            FieldLabel { text: qsTr("Unit"); Layout.preferredWidth: 110 }
            FieldLabel { text: qsTr("Status"); Layout.fillWidth: true }
            FieldLabel { text: qsTr("Call"); Layout.preferredWidth: 170 }
            FieldLabel { text: qsTr("Since"); Layout.preferredWidth: 80 }
        }
        ListView {
            id: list
            objectName: "boardList"
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            spacing: 6
            model: page.supervisor
            delegate: Rectangle {
                id: row
                required property string unit
                required property string zone
                required property string status
                required property string since
                required property string incident
                required property bool emergency
                required property bool online
                objectName: "boardRow_" + unit
                width: list.width
                height: 60
                radius: Theme.radius
                color: row.emergency ? Theme.danger : Theme.surface
                border.color: Theme.border
                border.width: 1
                readonly property color ink: row.emergency ? Theme.textOnAccent : Theme.text
                RowLayout {
                    anchors { fill: parent; leftMargin: 16; rightMargin: 16 }
                    spacing: 16
                    Text {
                        Layout.preferredWidth: 90
                        text: row.zone
                        font.family: Theme.family; font.pixelSize: Theme.fontBody
                        color: row.emergency ? Theme.textOnAccent : Theme.textDim
                    }
                    Text {
                        Layout.preferredWidth: 110
                        text: row.unit
                        font.family: Theme.family; font.pixelSize: Theme.fontLarge; font.bold: true
                        color: row.ink
                    }
                    Text {
                        Layout.fillWidth: true
                        elide: Text.ElideRight
                        text: (row.emergency ? qsTr("EMERGENCY · ") : "") + row.status +
                              (row.online ? "" : qsTr(" · offline"))
                        font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: row.emergency
                        color: row.online || row.emergency ? row.ink : Theme.textDim
                    }
                    Text {
                        Layout.preferredWidth: 170
                        text: row.incident === "" ? "—" : row.incident
                        font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: row.incident !== ""
                        color: row.ink
                    }
                    Text {
                        Layout.preferredWidth: 80
                        text: row.since
                        font.family: Theme.family; font.pixelSize: Theme.fontBody
                        color: row.emergency ? Theme.textOnAccent : Theme.textDim
                    }
                }
            }
            Text {
                anchors.centerIn: parent
                visible: list.count === 0
                text: page.supervisor && page.supervisor.active ? qsTr("No units in these zones") : ""
                font.family: Theme.family; font.pixelSize: Theme.fontXL
                color: Theme.textDim
            }
        }
    }
}
