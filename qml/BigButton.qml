import QtQuick
import Mdc
import QtQuick.Controls.Basic

// A large touch target (at least Theme.touch high) that works with a finger in
// a moving car and with the keyboard (Tab to focus, Space/Enter to press).
AbstractButton {
    id: control
    property string caption: ""          // small text above the label (e.g. "F2")
    property string sublabel: ""
    property color fill: Theme.raised
    property color fillChecked: Theme.accent
    property color labelColor: checked ? Theme.textOnAccent : Theme.text
    property int fontSize: Theme.fontLarge
    property alias badge: badgeItem.delivery

    // From the label at full size, not the shown (possibly shrunk) one: no binding loop.
    implicitWidth: Math.max(160, fullLabel.advanceWidth + 32)
    implicitHeight: Math.max(Theme.touch, column.implicitHeight + 20)
    focusPolicy: Qt.StrongFocus
    Keys.onReturnPressed: clicked()
    Keys.onEnterPressed: clicked()
    Accessible.name: text

    background: Rectangle {
        radius: Theme.radius
        color: !control.enabled ? Theme.surfaceAlt
             : control.checked ? control.fillChecked
             : control.fill
        border.width: control.visualFocus ? 4 : 2
        border.color: control.visualFocus ? Theme.focus : control.checked ? control.fillChecked : Theme.border
        opacity: control.down ? 0.75 : 1.0
    }

    contentItem: Item {
        Text {
            visible: control.caption !== ""
            anchors { left: parent.left; top: parent.top; leftMargin: 4 }
            text: control.caption
            font.family: Theme.family
            font.pixelSize: Theme.fontSmall
            font.bold: true
            color: control.checked ? Theme.textOnAccent : Theme.textDim
        }
        TextMetrics {
            id: fullLabel
            font: longestWord.font
            text: control.text
        }
        // The widest word of the label at full size: the label shrinks only if it would not fit.
        TextMetrics {
            id: longestWord
            font.family: Theme.family
            font.pixelSize: control.fontSize
            font.bold: true
            text: control.text.split(" ").reduce((a, b) => b.length > a.length ? b : a, "")
        }
        Column {
            id: column
            anchors.centerIn: parent
            width: parent.width
            spacing: 6
            Text {
                id: labelText
                // Inside the rounded edge; a word too long for a narrow button
                // ("Transporting" at 1024 px, five across) shrinks rather than clips.
                x: 8
                width: parent.width - 16
                horizontalAlignment: Text.AlignHCenter
                text: control.text
                wrapMode: Text.WordWrap
                font.family: Theme.family
                font.pixelSize: Math.max(Theme.fontSmall, Math.min(control.fontSize,
                                         Math.floor(control.fontSize * width / Math.max(1, longestWord.advanceWidth))))
                font.bold: true
                color: control.enabled ? control.labelColor : Theme.textDim
            }
            Text {
                visible: control.sublabel !== ""
                width: parent.width
                horizontalAlignment: Text.AlignHCenter
                text: control.sublabel
                elide: Text.ElideRight
                font.family: Theme.family
                font.pixelSize: Theme.fontSmall
                color: control.checked ? Theme.textOnAccent : Theme.textDim
            }
            DeliveryBadge {
                id: badgeItem
                anchors.horizontalCenter: parent.horizontalCenter
                onColour: control.checked
            }
        }
    }
}
