import QtQuick
import Mdc
import QtQuick.Controls.Basic
import QtQuick.Layouts

// Run a plate or a person. Needs the link to dispatch (never queued); the
// reason is the current call, or a reason code. Answers stay on the screen
// for a while, then leave it (the agent never writes them to disk).
Item {
    id: page
    property QueryController query
    property bool personMode: false
    // "CFS" (the current call) or a reason code; the call when there is one.
    property string reason: ""
    // For "leaves the screen in N s" (the agent runs on this machine: one clock).
    property double now: Date.now()
    Timer { interval: 1000; repeat: true; running: page.visible; onTriggered: page.now = Date.now() }
    readonly property string effectiveReason: reason !== "" ? reason
                                              : (query && query.incidentNumber !== "" ? "CFS" : "")

    component Field: TextField {
        id: tf
        font.family: Theme.family
        font.pixelSize: Theme.fontLarge
        font.capitalization: Font.AllUppercase
        color: Theme.text
        placeholderTextColor: Theme.textDim
        selectionColor: Theme.accent
        selectedTextColor: Theme.textOnAccent
        implicitHeight: Theme.touch
        leftPadding: 14
        background: Rectangle {
            radius: Theme.radius
            color: Theme.raised
            border.width: tf.activeFocus ? 3 : 2
            border.color: tf.activeFocus ? Theme.focus : Theme.border
        }
    }

    function run() {
        const ok = personMode ? query.runPerson(name.text, dob.text, effectiveReason)
                              : query.runPlate(plate.text, plateState.text, effectiveReason)
        if (ok) { plate.text = ""; name.text = ""; dob.text = "" }
    }

    RowLayout {
        anchors.fill: parent
        anchors.margins: Theme.gap + 4
        spacing: Theme.gap + 8

        ColumnLayout {
            Layout.fillHeight: true
            Layout.preferredWidth: 2
            Layout.fillWidth: true
            spacing: Theme.gap

            RowLayout {
                Layout.fillWidth: true
                spacing: Theme.gap - 2
                BigButton {
                    objectName: "queryModePlate"
                    Layout.fillWidth: true
                    Layout.preferredHeight: Theme.touch
                    fontSize: Theme.fontBody + 2
                    text: qsTr("Plate")
                    checked: !page.personMode
                    onClicked: page.personMode = false
                }
                BigButton {
                    objectName: "queryModePerson"
                    Layout.fillWidth: true
                    Layout.preferredHeight: Theme.touch
                    fontSize: Theme.fontBody + 2
                    text: qsTr("Person")
                    checked: page.personMode
                    onClicked: page.personMode = true
                }
            }
            RowLayout {
                visible: !page.personMode
                Layout.fillWidth: true
                spacing: Theme.gap - 4
                Field {
                    id: plate
                    objectName: "queryPlate"
                    Layout.fillWidth: true
                    placeholderText: qsTr("Plate")
                    maximumLength: 14
                    onAccepted: page.run()
                }
                Field {
                    id: plateState
                    objectName: "queryState"
                    Layout.preferredWidth: 96
                    placeholderText: qsTr("State")
                    text: "NY"
                    maximumLength: 2
                }
            }
            Field {
                id: name
                objectName: "queryName"
                visible: page.personMode
                Layout.fillWidth: true
                placeholderText: qsTr("LAST, FIRST")
                maximumLength: 64
            }
            Field {
                id: dob
                objectName: "queryDob"
                visible: page.personMode
                Layout.fillWidth: true
                placeholderText: qsTr("Born YYYY-MM-DD")
                inputMethodHints: Qt.ImhDate
                maximumLength: 10
                onAccepted: page.run()
            }

            FieldLabel { text: qsTr("Reason") }
            GridLayout {
                Layout.fillWidth: true
                columns: 2
                rowSpacing: Theme.gap - 4
                columnSpacing: Theme.gap - 4
                BigButton {
                    objectName: "queryReason_CFS"
                    visible: page.query && page.query.incidentNumber !== ""
                    Layout.columnSpan: 2
                    Layout.fillWidth: true
                    Layout.preferredHeight: 56
                    fontSize: Theme.fontBody
                    text: page.query ? qsTr("Call %1").arg(page.query.incidentNumber) : ""
                    checked: page.effectiveReason === "CFS"
                    onClicked: page.reason = "CFS"
                }
                Repeater {
                    model: page.query ? page.query.reasonCodes.length : 0
                    delegate: BigButton {
                        required property int index
                        readonly property string code: page.query.reasonCodes[index]
                        objectName: "queryReason_" + code
                        Layout.fillWidth: true
                        Layout.preferredHeight: 52
                        fontSize: Theme.fontSmall
                        text: page.query.reasonLabels[index]
                        checked: page.effectiveReason === code
                        onClicked: page.reason = code
                    }
                }
            }
            BigButton {
                objectName: "queryRun"
                Layout.fillWidth: true
                Layout.preferredHeight: 88
                enabled: page.query !== null && page.query.online && !page.query.sending && page.effectiveReason !== ""
                         && (page.personMode ? name.text !== "" && dob.text !== "" : plate.text !== "")
                fill: Theme.accent
                labelColor: Theme.textOnAccent
                text: page.query && !page.query.online ? qsTr("Offline: no queries") : qsTr("Run")
                onClicked: page.run()
            }
            Text {
                objectName: "queryOffline"
                visible: page.query !== null && !page.query.online
                Layout.fillWidth: true
                text: qsTr("Records queries need the link to dispatch and are never queued.")
                wrapMode: Text.WordWrap
                font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
                color: Theme.warnText
            }
            Text {
                objectName: "queryError"
                visible: text !== ""
                Layout.fillWidth: true
                text: page.query ? page.query.lastError : ""
                wrapMode: Text.WordWrap
                font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
                color: Theme.dangerText
            }
            Item { Layout.fillHeight: true }
        }

        ColumnLayout {
            Layout.fillHeight: true
            Layout.fillWidth: true
            Layout.preferredWidth: 3
            spacing: Theme.gap
            FieldLabel { text: qsTr("Answers") }
            Text {
                visible: answers.count === 0
                text: qsTr("No query on the screen. Answers leave it after a while and are never stored on this vehicle.")
                Layout.fillWidth: true
                wrapMode: Text.WordWrap
                font.family: Theme.family; font.pixelSize: Theme.fontBody
                color: Theme.textDim
            }
            ListView {
                id: answers
                objectName: "queryAnswers"
                Layout.fillWidth: true
                Layout.fillHeight: true
                clip: true
                spacing: Theme.gap
                model: page.query ? page.query.queries : []
                delegate: Rectangle {
                    id: card
                    required property var modelData
                    width: ListView.view.width
                    height: col.implicitHeight + 2 * Theme.gap
                    radius: Theme.radius
                    color: modelData.hit ? Theme.danger : Theme.surface
                    border.width: 2
                    border.color: modelData.hit ? Theme.dangerText : Theme.border
                    readonly property color ink: modelData.hit ? Theme.textOnAccent : Theme.text
                    Column {
                        id: col
                        anchors { left: parent.left; right: parent.right; top: parent.top; margins: Theme.gap }
                        spacing: 6
                        Text {
                            width: parent.width
                            text: card.modelData.subject.toUpperCase()
                            wrapMode: Text.WordWrap
                            font.family: Theme.family; font.pixelSize: Theme.fontLarge; font.bold: true
                            color: card.ink
                        }
                        Text {
                            width: parent.width
                            text: card.modelData.reason
                                  + (card.modelData.expiresAtMs > 0
                                     ? "  ·  " + qsTr("leaves the screen in %1 s").arg(Math.max(0, Math.ceil((card.modelData.expiresAtMs - page.now) / 1000)))
                                     : "")
                            elide: Text.ElideRight
                            font.family: Theme.family; font.pixelSize: Theme.fontSmall
                            color: card.modelData.hit ? Theme.textOnAccent : Theme.textDim
                        }
                        Text {
                            visible: card.modelData.state !== "answered"
                            width: parent.width
                            wrapMode: Text.WordWrap
                            text: card.modelData.state === "waiting" ? qsTr("Waiting for the records system…")
                                  : card.modelData.state === "slow" ? qsTr("Taking longer than usual: %1").arg(card.modelData.detail)
                                  : card.modelData.detail
                            font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: card.modelData.state !== "waiting"
                            color: card.modelData.state === "failed" ? Theme.dangerText
                                   : card.modelData.state === "slow" ? Theme.warnText : Theme.textDim
                        }
                        Text {
                            visible: card.modelData.hit
                            width: parent.width
                            wrapMode: Text.WordWrap
                            text: qsTr("OFFICER SAFETY: %1").arg(card.modelData.flags)
                            font.family: Theme.family; font.pixelSize: Theme.fontLarge; font.bold: true
                            color: Theme.textOnAccent
                        }
                        Text {
                            visible: card.modelData.state === "answered" && card.modelData.entries.length === 0
                            text: qsTr("No record")
                            font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
                            color: Theme.okText
                        }
                        Repeater {
                            model: card.modelData.entries
                            delegate: Column {
                                required property var modelData
                                width: col.width
                                spacing: 4
                                Text {
                                    width: parent.width
                                    wrapMode: Text.WordWrap
                                    text: parent.modelData.summary
                                    font.family: Theme.family; font.pixelSize: Theme.fontBody
                                    color: card.ink
                                }
                                Repeater {
                                    model: parent.modelData.flags
                                    delegate: Text {
                                        required property var modelData
                                        width: col.width
                                        wrapMode: Text.WordWrap
                                        text: "⚠ " + modelData.kind + ": " + modelData.detail
                                        font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
                                        color: card.ink
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
