import QtQuick
import Mdc
import QtQuick.Layouts

// One tap per status (or F1..F10). The current status is filled; its badge
// says whether dispatch has it. Below: what the responder did recently and
// where each action stands.
Item {
    id: page
    property StatusController statusCtl
    property ActionsModel actions

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: Theme.gap + 4
        spacing: Theme.gap + 4

        GridLayout {
            id: grid
            Layout.fillWidth: true
            // Up to eight buttons in two rows of four; nine or ten in two rows of five.
            columns: page.statusCtl && page.statusCtl.options.count > 8 ? 5 : 4
            rowSpacing: Theme.gap
            columnSpacing: Theme.gap
            Repeater {
                model: page.statusCtl ? page.statusCtl.options : null
                delegate: BigButton {
                    required property int status
                    required property string label
                    required property string functionKey
                    objectName: "status_" + status
                    Layout.fillWidth: true
                    Layout.preferredHeight: 150
                    Layout.preferredWidth: 200
                    text: label
                    caption: functionKey
                    fontSize: Theme.fontLarge
                    checked: page.statusCtl.current === status
                    badge: page.statusCtl.requested === status ? "sending"
                           : checked ? page.statusCtl.delivery : ""
                    onClicked: page.statusCtl.setStatus(status)
                }
            }
        }

        Text {
            objectName: "statusError"
            visible: text !== ""
            Layout.fillWidth: true
            text: page.statusCtl ? page.statusCtl.lastError : ""
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
                anchors.fill: parent
                anchors.margins: Theme.gap
                spacing: 6
                FieldLabel { text: qsTr("Recent actions — what dispatch has") }
                ListView {
                    id: list
                    objectName: "recentActions"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: page.actions
                    spacing: 2
                    delegate: Rectangle {
                        id: entry
                        required property string kind
                        required property string summary
                        required property string delivery
                        required property string detail
                        required property string time
                        width: list.width
                        height: 48
                        color: "transparent"
                        RowLayout {
                            anchors.fill: parent
                            anchors.leftMargin: 8
                            anchors.rightMargin: 8
                            spacing: 16
                            Text {
                                text: entry.time
                                font.family: Theme.family; font.pixelSize: Theme.fontBody
                                color: Theme.textDim
                                Layout.preferredWidth: 70
                            }
                            Text {
                                text: entry.kind === "status" ? qsTr("Status") : entry.kind === "cfs" ? qsTr("Self-init")
                                    : entry.kind === "ack" ? qsTr("Ack") : entry.kind === "message" ? qsTr("Message")
                                    : entry.kind === "emergency" ? qsTr("Emergency") : entry.kind
                                font.family: Theme.family; font.pixelSize: Theme.fontBody
                                color: Theme.textDim
                                Layout.preferredWidth: 130
                            }
                            Text {
                                text: entry.summary + (entry.kind === "cfs" && entry.detail !== "" && entry.delivery !== "rejected"
                                                       ? qsTr("  →  incident %1").arg(entry.detail)
                                                       : (entry.delivery === "rejected" || entry.delivery === "held") && entry.detail !== ""
                                                         ? "  —  " + entry.detail : "")
                                font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
                                color: Theme.text
                                elide: Text.ElideRight
                                Layout.fillWidth: true
                            }
                            DeliveryBadge { delivery: entry.delivery }
                        }
                    }
                    Text {
                        anchors.centerIn: parent
                        visible: list.count === 0
                        text: qsTr("Nothing sent yet this shift")
                        font.family: Theme.family; font.pixelSize: Theme.fontBody
                        color: Theme.textDim
                    }
                }
            }
        }
    }
}
