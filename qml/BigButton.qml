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

    implicitWidth: Math.max(160, labelText.implicitWidth + 32)
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
        Column {
            id: column
            anchors.centerIn: parent
            width: parent.width
            spacing: 6
            Text {
                id: labelText
                width: parent.width
                horizontalAlignment: Text.AlignHCenter
                text: control.text
                wrapMode: Text.WordWrap
                font.family: Theme.family
                font.pixelSize: control.fontSize
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
