import QtQuick
import Mdc

// Raising an emergency takes a deliberate press-and-hold (holdMs): a brush
// of the screen does nothing. Keyboard: hold Space or Enter while focused.
// While the emergency is active the same button clears it, also by holding.
Rectangle {
    id: button
    property EmergencyController emergency
    readonly property bool active: emergency ? emergency.active : false
    readonly property int holdMs: emergency ? emergency.holdMs : 1500
    property real progress: 0
    property bool holding: false

    implicitHeight: 120
    radius: Theme.radius
    color: active ? Theme.raised : Theme.danger
    border.width: activeFocus ? 4 : 3
    border.color: activeFocus ? Theme.focus : Theme.danger
    activeFocusOnTab: true
    Accessible.role: Accessible.Button
    Accessible.name: active ? qsTr("Clear emergency (hold)") : qsTr("Emergency (hold)")

    function begin() { if (!holding) { holding = true; fill.restart() } }
    function cancel() { holding = false; fill.stop(); progress = 0 }
    function complete() {
        holding = false
        progress = 0
        if (!emergency) return
        if (active) emergency.clear(); else emergency.activate()
    }

    NumberAnimation {
        id: fill
        target: button; property: "progress"
        from: 0; to: 1; duration: button.holdMs
        onFinished: if (button.holding) button.complete()
    }

    // The hold progress fills the button from the left.
    Rectangle {
        anchors { left: parent.left; top: parent.top; bottom: parent.bottom; margins: 3 }
        width: (parent.width - 6) * button.progress
        radius: Theme.radius - 2
        color: button.active ? Theme.accent : Theme.dangerText
        opacity: 0.55
    }

    Column {
        anchors.centerIn: parent
        spacing: 4
        Text {
            anchors.horizontalCenter: parent.horizontalCenter
            text: button.active ? qsTr("CLEAR") : qsTr("EMERGENCY")
            font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
            color: button.active ? Theme.text : Theme.textOnAccent
        }
        Text {
            anchors.horizontalCenter: parent.horizontalCenter
            text: button.holding ? qsTr("keep holding…") : qsTr("hold %1 s").arg(button.holdMs / 1000)
            font.family: Theme.family; font.pixelSize: Theme.fontSmall
            color: button.active ? Theme.textDim : Theme.textOnAccent
        }
    }

    MouseArea {
        anchors.fill: parent
        onPressed: button.begin()
        onReleased: button.cancel()
        onCanceled: button.cancel()
        onExited: button.cancel()
    }
    Keys.onPressed: (event) => {
        if (event.key === Qt.Key_Space || event.key === Qt.Key_Return || event.key === Qt.Key_Enter) {
            if (!event.isAutoRepeat) button.begin()
            event.accepted = true
        }
    }
    Keys.onReleased: (event) => {
        if ((event.key === Qt.Key_Space || event.key === Qt.Key_Return || event.key === Qt.Key_Enter) && !event.isAutoRepeat) {
            button.cancel()
            event.accepted = true
        }
    }
}
