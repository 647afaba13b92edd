import QtQuick
import Mdc
import QtQuick.Layouts

// For fleet technicians: identities, versions, link, outbox per lane, drops,
// GPS details, counters and the agent's last errors. "—" where the agent
// does not report a value.
Item {
    id: page
    property DiagnosticsController diagnostics
    readonly property var d: diagnostics

    component Pair: RowLayout {
        id: pair
        property string name
        property string value
        property color valueColor: Theme.text
        spacing: 12
        Layout.fillWidth: true
        Text {
            text: pair.name
            font.family: Theme.family; font.pixelSize: Theme.fontSmall + 1
            color: Theme.textDim
            Layout.preferredWidth: 170
            Layout.alignment: Qt.AlignTop
        }
        // A technician needs the whole value (a path, a broker address, a
        // reason): it wraps rather than losing its middle to an ellipsis.
        Text {
            text: pair.value === "" ? "—" : pair.value
            font.family: Theme.family; font.pixelSize: Theme.fontSmall + 1; font.bold: true
            color: pair.valueColor
            wrapMode: Text.Wrap
            maximumLineCount: 3
            elide: Text.ElideRight
            Layout.fillWidth: true
            Layout.preferredWidth: 1
        }
    }
    component Card: Rectangle {
        id: card
        default property alias content: inner.data
        property string title
        radius: Theme.radius
        color: Theme.surface
        border.color: Theme.border
        implicitHeight: inner.implicitHeight + 2 * Theme.gap
        Layout.fillWidth: true
        Layout.minimumHeight: implicitHeight  // the last-errors box gives way, never a card
        ColumnLayout {
            id: inner
            anchors { left: parent.left; right: parent.right; top: parent.top; margins: Theme.gap }
            spacing: 4
            FieldLabel { text: card.title }
        }
    }

    RowLayout {
        anchors.fill: parent
        anchors.margins: Theme.gap + 4
        spacing: Theme.gap + 4

        ColumnLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.preferredWidth: 1
            spacing: Theme.gap
            Card {
                title: qsTr("Device")
                Pair { name: qsTr("Unit / agency"); value: page.d ? page.d.unitId + " / " + page.d.agency : "" }
                Pair { objectName: "diagDevice"; name: qsTr("Device id"); value: page.d ? page.d.deviceId : "" }
                Pair { objectName: "diagAgentVersion"; name: qsTr("Agent version"); value: page.d ? page.d.agentVersion : "" }
                Pair { name: qsTr("App version"); value: page.d ? page.d.appVersion : "" }
                Pair { name: qsTr("Agent socket"); value: page.d ? page.d.socketPath : "" }
                Pair {
                    objectName: "diagCertificate"
                    name: qsTr("Certificate expiry")
                    value: page.d ? page.d.certificateExpiry : ""
                    valueColor: !page.d ? Theme.text
                              : page.d.certificateSeverity === "expired" ? Theme.dangerText
                              : page.d.certificateSeverity === "warn" ? Theme.warnText : Theme.text
                }
            }
            Card {
                title: qsTr("Link")
                Pair { objectName: "diagBroker"; name: qsTr("Broker"); value: page.d ? page.d.broker : "" }
                Pair { name: qsTr("Detail"); value: page.d ? page.d.linkDetail : "" }
                Pair { name: qsTr("Last commit ack"); value: page.d ? page.d.lastCommitAck : "" }
            }
            Card {
                title: qsTr("GPS")
                Pair { name: qsTr("Source"); value: page.d ? page.d.gpsSource : "" }
                Pair { name: qsTr("Fix"); value: page.d ? page.d.gpsFix : "" }
                Pair { name: qsTr("Satellites"); value: page.d ? page.d.gpsSatellites : "" }
                Pair { name: qsTr("Error estimate"); value: page.d ? page.d.gpsErrorEstimate : "" }
                Pair { name: qsTr("Detail"); value: page.d ? page.d.gpsDetail : "" }
            }
            Item { Layout.fillHeight: true }
        }

        ColumnLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.preferredWidth: 1
            spacing: Theme.gap
            Card {
                title: qsTr("Outbox per lane")
                Repeater {
                    model: page.d ? page.d.lanes : null
                    delegate: Pair {
                        required property var model
                        name: model.name
                        value: model.count === 0 ? qsTr("empty") : qsTr("%1 · oldest %2").arg(model.count).arg(model.oldest)
                    }
                }
                Pair { name: qsTr("Store"); value: page.d ? page.d.store : "" }
                Pair { objectName: "diagDropped"; name: qsTr("Dropped positions"); value: page.d ? page.d.droppedAvl : "" }
                Pair { name: qsTr("Rejected events"); value: page.d ? page.d.rejectedEvents : "" }
            }
            Card {
                title: qsTr("Counters")
                // Two columns of one-line entries: a height the layout can know.
                GridLayout {
                    objectName: "diagCounters"
                    Layout.fillWidth: true
                    columns: 2
                    columnSpacing: Theme.gap
                    rowSpacing: 0
                    Repeater {
                        model: page.d ? page.d.counters : []
                        // "published 12": the name gives way, never the number.
                        delegate: RowLayout {
                            required property string modelData
                            Layout.fillWidth: true
                            Layout.preferredWidth: 1
                            spacing: 6
                            Text {
                                text: parent.modelData.slice(0, parent.modelData.lastIndexOf(" "))
                                elide: Text.ElideMiddle
                                Layout.fillWidth: true
                                font.family: Theme.family; font.pixelSize: Theme.fontSmall - 2
                                color: Theme.textDim
                            }
                            Text {
                                text: parent.modelData.slice(parent.modelData.lastIndexOf(" ") + 1)
                                font.family: Theme.family; font.pixelSize: Theme.fontSmall - 2; font.bold: true
                                color: Theme.text
                            }
                        }
                    }
                }
            }
            Rectangle {
                Layout.fillWidth: true
                Layout.fillHeight: true
                Layout.minimumHeight: 80
                radius: Theme.radius
                color: Theme.surface
                border.color: Theme.border
                clip: true
                ColumnLayout {
                    anchors { fill: parent; margins: Theme.gap }
                    FieldLabel { text: qsTr("Last errors") }
                    ListView {
                        id: errors
                        Layout.fillWidth: true
                        Layout.fillHeight: true
                        clip: true
                        model: page.d ? page.d.lastErrors : []
                        delegate: Text {
                            required property string modelData
                            width: errors.width
                            text: modelData
                            wrapMode: Text.WrapAnywhere
                            font.family: Theme.family; font.pixelSize: Theme.fontSmall
                            color: Theme.warnText
                        }
                        Text {
                            visible: errors.count === 0
                            text: qsTr("none")
                            font.family: Theme.family; font.pixelSize: Theme.fontSmall + 1
                            color: Theme.textDim
                        }
                    }
                }
            }
        }
    }
}
