import QtQuick
import Mdc
import QtQuick.Layouts

// Covers the screen while the agent is not answering: say so plainly, say
// that nothing already recorded is lost, and keep retrying.
Rectangle {
    id: page
    property AgentConnection agent
    color: Theme.bg

    ColumnLayout {
        anchors.centerIn: parent
        width: Math.min(parent.width - 120, 900)
        spacing: 24
        Rectangle {
            Layout.alignment: Qt.AlignHCenter
            width: 120; height: 120; radius: 60
            color: Theme.warn
            Text {
                anchors.centerIn: parent
                text: "!"
                font.family: Theme.family; font.pixelSize: 84; font.bold: true
                color: Theme.textOnAccent
            }
        }
        Text {
            objectName: "agentDownTitle"
            Layout.fillWidth: true
            horizontalAlignment: Text.AlignHCenter
            text: page.agent && page.agent.state === AgentConnection.Connected
                  ? qsTr("Connecting to the MDC agent…") : qsTr("The MDC agent is not running")
            wrapMode: Text.WordWrap
            font.family: Theme.family; font.pixelSize: Theme.fontHuge; font.bold: true
            color: Theme.text
        }
        Text {
            Layout.fillWidth: true
            horizontalAlignment: Text.AlignHCenter
            text: qsTr("Status changes, calls and messages cannot be sent until it is back. Nothing already recorded is lost. Use the radio for anything urgent.")
            wrapMode: Text.WordWrap
            font.family: Theme.family; font.pixelSize: Theme.fontLarge
            color: Theme.text
        }
        Text {
            Layout.fillWidth: true
            horizontalAlignment: Text.AlignHCenter
            text: page.agent ? qsTr("Retrying every second (attempt %1)").arg(page.agent.attempts) : ""
            font.family: Theme.family; font.pixelSize: Theme.fontBody
            color: Theme.textDim
        }
        Text {
            Layout.fillWidth: true
            horizontalAlignment: Text.AlignHCenter
            text: page.agent ? page.agent.lastError : ""
            wrapMode: Text.WrapAnywhere
            font.family: Theme.family; font.pixelSize: Theme.fontSmall
            color: Theme.textDim
        }
    }
}
