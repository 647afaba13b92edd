import QtQuick
import Mdc
import QtQuick.Layouts

// Who is near: the agency's units around this vehicle, nearest first, and the
// units on its call; the same on a plot.
Item {
    id: page
    property SituationModel situation

    RowLayout {
        anchors.fill: parent
        anchors.margins: Theme.gap + 4
        spacing: Theme.gap + 4

        ColumnLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.preferredWidth: 3
            spacing: Theme.gap
            Text {
                objectName: "nearbySummary"
                Layout.fillWidth: true
                text: page.situation ? page.situation.nearbySummary : ""
                elide: Text.ElideRight
                font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
                color: page.situation && page.situation.nearbyCurrent ? Theme.textDim : Theme.warnText
            }
            ListView {
                id: list
                objectName: "nearbyList"
                Layout.fillWidth: true
                Layout.fillHeight: true
                clip: true
                spacing: 8
                model: page.situation
                delegate: Rectangle {
                    id: row
                    required property string unit
                    required property string status
                    required property string distance
                    required property string bearing
                    required property bool emergency
                    required property bool onCall
                    required property string seenAt
                    width: list.width
                    height: 68
                    radius: Theme.radius
                    color: row.emergency ? Theme.danger : Theme.surface
                    border.color: row.onCall ? Theme.warn : Theme.border
                    border.width: row.onCall ? 3 : 1
                    RowLayout {
                        anchors { fill: parent; leftMargin: 16; rightMargin: 16 }
                        spacing: 16
                        Text {
                            Layout.preferredWidth: 90
                            text: row.unit
                            font.family: Theme.family; font.pixelSize: Theme.fontLarge; font.bold: true
                            color: row.emergency ? Theme.textOnAccent : Theme.text
                        }
                        Column {
                            id: what
                            Layout.fillWidth: true
                            Text {
                                width: what.width
                                elide: Text.ElideRight
                                text: row.emergency ? qsTr("EMERGENCY · %1").arg(row.status) : row.status
                                font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: row.emergency
                                color: row.emergency ? Theme.textOnAccent : Theme.text
                            }
                            Text {
                                width: what.width
                                elide: Text.ElideRight
                                text: (row.onCall ? qsTr("On this call · ") : "") + qsTr("seen %1").arg(row.seenAt)
                                font.family: Theme.family; font.pixelSize: Theme.fontSmall
                                color: row.emergency ? Theme.textOnAccent : Theme.textDim
                            }
                        }
                        Column {
                            Text {
                                anchors.right: parent.right
                                text: row.distance
                                font.family: Theme.family; font.pixelSize: Theme.fontLarge - 2; font.bold: true
                                color: row.emergency ? Theme.textOnAccent : Theme.text
                            }
                            Text {
                                anchors.right: parent.right
                                text: row.bearing
                                font.family: Theme.family; font.pixelSize: Theme.fontSmall; font.bold: true
                                color: row.emergency ? Theme.textOnAccent : Theme.textDim
                            }
                        }
                    }
                }
                Text {
                    anchors.centerIn: parent
                    visible: list.count === 0
                    text: qsTr("No units nearby")
                    font.family: Theme.family; font.pixelSize: Theme.fontXL
                    color: Theme.textDim
                }
            }
        }
        SituationPlot {
            objectName: "nearbyPlot"
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.preferredWidth: 2
            situation: page.situation
        }
    }
}
