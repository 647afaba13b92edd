import QtQuick
import Mdc
import QtQuick.Layouts

// Always visible: unit, status (and whether dispatch has it), link, GPS,
// what is still unsent, and the time.
Rectangle {
    id: bar
    property HeaderState header
    property StatusController statusCtl

    implicitHeight: 84
    color: header && header.emergencyActive ? Theme.danger : Theme.header

    component Chip: Column {
        id: chip
        property string caption
        property string value
        property color valueColor: Theme.headerText
        property color dot: "transparent"
        spacing: 2
        Text {
            text: chip.caption
            font.family: Theme.family; font.pixelSize: 14; font.letterSpacing: 1
            font.capitalization: Font.AllUppercase
            color: Theme.headerDim
        }
        Row {
            spacing: 8
            Rectangle {
                width: 14; height: 14; radius: 7
                anchors.verticalCenter: parent.verticalCenter
                color: chip.dot
            }
            // On a narrow panel a long value ("No fix since 14:02") takes two
            // lines rather than losing its time to an ellipsis.
            Text {
                text: chip.value
                font.family: Theme.family; font.bold: true
                font.pixelSize: fullValue.advanceWidth + 2 > chip.width - 22 ? Theme.fontBody - 4 : Theme.fontBody
                lineHeight: 0.9
                color: chip.valueColor
                wrapMode: Text.WordWrap
                maximumLineCount: 2
                elide: Text.ElideRight
                width: Math.min(fullValue.advanceWidth + 2, chip.width - 22)
                TextMetrics {
                    id: fullValue
                    font.family: Theme.family; font.bold: true; font.pixelSize: Theme.fontBody
                    text: chip.value
                }
            }
        }
    }

    RowLayout {
        anchors.fill: parent
        anchors.leftMargin: 16
        anchors.rightMargin: 16
        spacing: 16

        Text {
            objectName: "headerUnit"
            text: bar.header && bar.header.unitId !== "" ? bar.header.unitId : "—"
            font.family: Theme.family; font.pixelSize: Theme.fontHuge; font.bold: true
            color: Theme.headerText
            Layout.minimumWidth: 90
        }

        // Status: the biggest thing after the unit id.
        Column {
            Layout.fillWidth: true
            Layout.minimumWidth: statusRow.implicitWidth
            spacing: 2
            Text {
                text: qsTr("Status")
                font.family: Theme.family; font.pixelSize: 14; font.letterSpacing: 1
                font.capitalization: Font.AllUppercase
                color: Theme.headerDim
            }
            Row {
                id: statusRow
                spacing: 10
                Text {
                    objectName: "headerStatus"
                    text: bar.header ? bar.header.statusLabel : "—"
                    font.family: Theme.family; font.pixelSize: Theme.fontXL - 4; font.bold: true
                    color: Theme.headerText
                }
                DeliveryBadge {
                    objectName: "headerStatusDelivery"
                    anchors.verticalCenter: parent.verticalCenter
                    delivery: bar.statusCtl && bar.statusCtl.sending ? "sending"
                              : bar.header ? bar.header.statusDelivery : ""
                }
            }
        }

        Chip {
            objectName: "headerLink"
            caption: qsTr("Link")
            value: bar.header ? bar.header.linkText : "—"
            dot: !bar.header ? Theme.border
                 : bar.header.link === HeaderState.Online ? Theme.okText
                 : bar.header.link === HeaderState.Connecting ? Theme.warnText : Theme.dangerText
            Layout.fillWidth: true
            Layout.preferredWidth: 230
            Layout.maximumWidth: 250
            Layout.minimumWidth: 100
        }
        Chip {
            objectName: "headerGps"
            caption: qsTr("GPS")
            value: bar.header ? bar.header.gpsText : "—"
            dot: bar.header && bar.header.gpsFix ? Theme.okText : Theme.warnText
            Layout.fillWidth: true
            Layout.preferredWidth: 230
            Layout.maximumWidth: 250
            Layout.minimumWidth: 100
        }
        Chip {
            objectName: "headerOutbox"
            caption: qsTr("Unsent")
            value: !bar.header ? "—"
                   : bar.header.unsentActions === 0 ? qsTr("none")
                   : bar.header.oldestUnsentText !== "" ? qsTr("%1 · %2").arg(bar.header.unsentActions).arg(bar.header.oldestUnsentText)
                   : String(bar.header.unsentActions)
            valueColor: bar.header && bar.header.unsentActions > 0 ? Theme.warnText : Theme.headerText
            dot: bar.header && bar.header.unsentActions > 0 ? Theme.warnText : Theme.okText
            Layout.preferredWidth: 130
            Layout.minimumWidth: 100
        }
        Text {
            id: clock
            objectName: "headerClock"
            font.family: Theme.family; font.pixelSize: Theme.fontXL; font.bold: true
            color: Theme.headerText
            text: Qt.formatTime(new Date(), "HH:mm")
            Timer {
                interval: 1000; running: true; repeat: true
                onTriggered: clock.text = Qt.formatTime(new Date(), "HH:mm")
            }
        }
    }
}
