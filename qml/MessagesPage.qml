import QtQuick
import Mdc
import QtQuick.Controls.Basic
import QtQuick.Layouts

// The conversation with dispatch, newest at the bottom; earlier messages a
// page at a time from the top of the list; canned replies for one-tap answers
// while driving.
Item {
    id: page
    property MessageController messaging
    readonly property MessagesModel model: messaging ? messaging.messages : null

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: Theme.gap + 4
        spacing: Theme.gap

        ListView {
            id: list
            objectName: "messageList"
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            spacing: 10
            verticalLayoutDirection: ListView.BottomToTop  // newest (row 0) at the bottom
            model: page.model
            delegate: Item {
                id: msg
                required property bool outgoing
                required property string from
                required property string text
                required property string time
                required property string delivery
                required property string detail
                width: list.width
                height: bubble.height
                Rectangle {
                    id: bubble
                    anchors.right: msg.outgoing ? parent.right : undefined
                    anchors.left: msg.outgoing ? undefined : parent.left
                    width: Math.min(list.width * 0.75, Math.max(body.implicitWidth, meta.implicitWidth,
                                                                why.visible ? why.implicitWidth : 0) + 32)
                    height: body.implicitHeight + meta.implicitHeight + (why.visible ? why.implicitHeight + 6 : 0) + 30
                    radius: Theme.radius
                    color: msg.outgoing ? Theme.surfaceAlt : Theme.raised
                    border.color: msg.outgoing ? Theme.border : Theme.accentText
                    border.width: msg.outgoing ? 1 : 2
                    Column {
                        anchors { fill: parent; margins: 14 }
                        spacing: 6
                        Row {
                            id: meta
                            spacing: 10
                            Text {
                                text: (msg.outgoing ? qsTr("To dispatch") : msg.from) + " · " + msg.time
                                font.family: Theme.family; font.pixelSize: Theme.fontSmall
                                color: Theme.textDim
                            }
                            DeliveryBadge { delivery: msg.outgoing ? msg.delivery : ""; fontSize: 14 }
                        }
                        Text {
                            id: body
                            width: Math.min(implicitWidth, list.width * 0.75 - 32)
                            text: msg.text
                            wrapMode: Text.WordWrap
                            font.family: Theme.family; font.pixelSize: Theme.fontLarge - 2
                            color: Theme.text
                        }
                        Text {
                            id: why
                            visible: msg.outgoing && msg.detail !== ""
                            width: body.width
                            text: msg.detail
                            wrapMode: Text.WordWrap
                            font.family: Theme.family; font.pixelSize: Theme.fontSmall; font.bold: true
                            color: Theme.dangerText
                        }
                    }
                }
            }
            // At the top of the list (its end, bottom-to-top): the way back.
            footer: Item {
                width: list.width
                height: (older.visible ? older.height + 16 : 0) + (olderError.visible ? olderError.height + 8 : 0)
                BigButton {
                    id: older
                    objectName: "messagesOlder"
                    anchors.horizontalCenter: parent.horizontalCenter
                    anchors.top: parent.top
                    anchors.topMargin: 4
                    visible: page.model !== null && (page.model.hasOlder || page.model.loadingOlder)
                    enabled: page.model !== null && !page.model.loadingOlder
                    fontSize: Theme.fontBody
                    text: page.model === null ? "" : page.model.loadingOlder ? qsTr("Loading earlier messages…")
                        : qsTr("Earlier messages (%1 more)").arg(page.model.total - page.model.count)
                    onClicked: page.model.loadOlder()
                }
                Text {
                    id: olderError
                    anchors.top: older.bottom
                    anchors.horizontalCenter: parent.horizontalCenter
                    visible: text !== ""
                    text: page.model ? page.model.olderError : ""
                    font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
                    color: Theme.dangerText
                }
            }
            Text {
                anchors.centerIn: parent
                visible: list.count === 0
                text: qsTr("No messages")
                font.family: Theme.family; font.pixelSize: Theme.fontXL
                color: Theme.textDim
            }
        }

        RowLayout {
            Layout.fillWidth: true
            spacing: Theme.gap - 4
            Repeater {
                model: page.messaging ? page.messaging.quickReplies : []
                delegate: BigButton {
                    required property string modelData
                    Layout.fillWidth: true
                    Layout.preferredWidth: 100
                    fontSize: Theme.fontBody
                    text: modelData
                    onClicked: page.messaging.send(modelData)
                }
            }
        }

        RowLayout {
            Layout.fillWidth: true
            spacing: Theme.gap
            TextField {
                id: input
                objectName: "messageInput"
                Layout.fillWidth: true
                implicitHeight: Theme.touch
                font.family: Theme.family
                font.pixelSize: Theme.fontLarge - 2
                color: Theme.text
                placeholderText: qsTr("Message to dispatch")
                placeholderTextColor: Theme.textDim
                maximumLength: 2000
                leftPadding: 14
                background: Rectangle {
                    radius: Theme.radius
                    color: Theme.raised
                    border.width: input.activeFocus ? 3 : 2
                    border.color: input.activeFocus ? Theme.focus : Theme.border
                }
                onAccepted: send.clicked()
            }
            BigButton {
                id: send
                objectName: "messageSend"
                Layout.preferredWidth: 180
                fill: Theme.accent
                labelColor: Theme.textOnAccent
                enabled: input.text.trim() !== "" && !(page.messaging && page.messaging.sending)
                text: qsTr("Send")
                onClicked: if (page.messaging.send(input.text)) input.text = ""
            }
        }
        Text {
            visible: text !== ""
            text: page.messaging ? page.messaging.lastError : ""
            font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
            color: Theme.dangerText
        }
    }
}
