import QtQuick
import Mdc
import QtQuick.Layouts

// Officer safety: a query of this unit came back with a flag (stolen, wanted,
// caution). Full width over every page until the responder acknowledges it;
// the answer stays on the Query page.
Rectangle {
    id: overlay
    property QueryController query
    signal view()
    readonly property var hit: query ? query.hitAlert : ({})
    visible: hit.id !== undefined
    color: Qt.rgba(0, 0, 0, 0.55)

    MouseArea { anchors.fill: parent }  // modal

    Rectangle {
        id: band
        objectName: "hitAlert"
        anchors { left: parent.left; right: parent.right; verticalCenter: parent.verticalCenter }
        height: content.implicitHeight + 56
        color: Theme.danger
        // Opaque (the page must not show through); its edges pulse.
        Repeater {
            model: 2
            Rectangle {
                required property int index
                anchors { left: parent.left; right: parent.right }
                y: index === 0 ? 0 : band.height - height
                height: 10
                color: Theme.warnText
                SequentialAnimation on opacity {
                    running: overlay.visible
                    loops: Animation.Infinite
                    NumberAnimation { to: 0.2; duration: 500 }
                    NumberAnimation { to: 1.0; duration: 500 }
                }
            }
        }

        ColumnLayout {
            id: content
            anchors { left: parent.left; right: parent.right; top: parent.top; margins: 28 }
            spacing: 10
            Text {
                text: qsTr("OFFICER SAFETY")
                font.family: Theme.family; font.pixelSize: Theme.fontHuge; font.bold: true; font.letterSpacing: 4
                color: Theme.textOnAccent
            }
            Text {
                objectName: "hitAlertFlags"
                Layout.fillWidth: true
                text: overlay.hit.flags !== undefined ? overlay.hit.flags.replace(/, /g, "  ·  ") : ""
                font.family: Theme.family; font.pixelSize: Theme.fontHuge; font.bold: true
                color: Theme.textOnAccent
                elide: Text.ElideRight
            }
            Text {
                objectName: "hitAlertSubject"
                Layout.fillWidth: true
                text: overlay.hit.subject !== undefined ? overlay.hit.subject.toUpperCase() + "  ·  " + overlay.hit.reason : ""
                font.family: Theme.family; font.pixelSize: Theme.fontXL
                color: Theme.textOnAccent
                elide: Text.ElideRight
            }
            // One line per flag. A plain Text, not a Repeater of Repeaters in
            // the layout: layouts must not hold items that come and go.
            Text {
                objectName: "hitAlertDetails"
                Layout.fillWidth: true
                text: {
                    const lines = []
                    const entries = overlay.hit.entries !== undefined ? overlay.hit.entries : []
                    for (const e of entries)
                        for (const f of e.flags) lines.push("⚠ " + f.kind + ": " + f.detail)
                    return lines.join("\n")
                }
                maximumLineCount: 6
                elide: Text.ElideRight
                font.family: Theme.family; font.pixelSize: Theme.fontLarge; font.bold: true
                color: Theme.textOnAccent
            }
            RowLayout {
                Layout.fillWidth: true
                Layout.topMargin: 8
                spacing: Theme.gap
                BigButton {
                    objectName: "hitAlertView"
                    Layout.fillWidth: true
                    Layout.preferredHeight: 88
                    text: qsTr("View record")
                    onClicked: { overlay.query.acknowledgeHit(overlay.hit.id); overlay.view() }
                }
                BigButton {
                    objectName: "hitAlertAcknowledge"
                    Layout.fillWidth: true
                    Layout.preferredHeight: 88
                    text: qsTr("Acknowledge")
                    onClicked: overlay.query.acknowledgeHit(overlay.hit.id)
                }
            }
        }
    }
}
