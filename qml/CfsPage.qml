import QtQuick
import Mdc
import QtQuick.Controls.Basic
import QtQuick.Layouts

// Open a call from the field: pick the type, check the location (prefilled
// from GPS), add a note, one tap. Works offline; the incident number shows
// when dispatch's system assigns it.
Item {
    id: page
    property CfsController cfs
    property string selectedType: ""
    property bool locationEdited: false

    function prefill() {
        if (cfs && cfs.gpsFix && !locationEdited) {
            lat.text = cfs.gpsLatitude.toFixed(5)
            lon.text = cfs.gpsLongitude.toFixed(5)
        }
    }
    Connections {
        target: page.cfs
        function onGpsChanged() { page.prefill() }
    }
    Component.onCompleted: prefill()

    component Field: TextField {
        id: tf
        font.family: Theme.family
        font.pixelSize: Theme.fontLarge - 2
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

    RowLayout {
        anchors.fill: parent
        anchors.margins: Theme.gap + 4
        spacing: Theme.gap + 8

        ColumnLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.preferredWidth: 3
            spacing: Theme.gap

            FieldLabel { text: qsTr("Call type") }
            GridLayout {
                Layout.fillWidth: true
                columns: 2
                rowSpacing: Theme.gap - 2
                columnSpacing: Theme.gap - 2
                Repeater {
                    model: page.cfs ? page.cfs.typeCodes.length : 0
                    delegate: BigButton {
                        required property int index
                        readonly property string code: page.cfs.typeCodes[index]
                        objectName: "cfsType_" + code
                        Layout.fillWidth: true
                        Layout.preferredWidth: 1  // equal columns whatever the labels say
                        Layout.preferredHeight: 74
                        fontSize: Theme.fontBody + 2
                        text: page.cfs.typeLabels[index]
                        checked: page.selectedType === code
                        onClicked: page.selectedType = code
                    }
                }
            }
            Item { Layout.fillHeight: true }
        }

        ColumnLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.preferredWidth: 2
            spacing: Theme.gap

            RowLayout {
                FieldLabel { text: qsTr("Location"); Layout.fillWidth: true }
                Text {
                    text: page.cfs && page.cfs.gpsFix ? (page.locationEdited ? qsTr("edited") : qsTr("from GPS")) : qsTr("no GPS fix: enter it")
                    font.family: Theme.family; font.pixelSize: Theme.fontSmall
                    color: page.cfs && page.cfs.gpsFix ? Theme.okText : Theme.warnText
                }
            }
            RowLayout {
                spacing: Theme.gap - 4
                Field {
                    id: lat
                    objectName: "cfsLat"
                    Layout.fillWidth: true
                    placeholderText: qsTr("Latitude")
                    inputMethodHints: Qt.ImhFormattedNumbersOnly
                    onTextEdited: page.locationEdited = true
                }
                Field {
                    id: lon
                    objectName: "cfsLon"
                    Layout.fillWidth: true
                    placeholderText: qsTr("Longitude")
                    inputMethodHints: Qt.ImhFormattedNumbersOnly
                    onTextEdited: page.locationEdited = true
                }
            }
            BigButton {
                visible: page.cfs && page.cfs.gpsFix && page.locationEdited
                Layout.fillWidth: true
                fontSize: Theme.fontBody
                text: qsTr("Use GPS position")
                onClicked: { page.locationEdited = false; page.prefill() }
            }
            Field {
                id: address
                objectName: "cfsAddress"
                Layout.fillWidth: true
                placeholderText: qsTr("Address or landmark")
                maximumLength: 200
            }
            Field {
                id: note
                objectName: "cfsNote"
                Layout.fillWidth: true
                placeholderText: qsTr("Note (plate, description…)")
                maximumLength: 1000
            }
            BigButton {
                objectName: "cfsCreate"
                Layout.fillWidth: true
                Layout.preferredHeight: 96
                enabled: page.selectedType !== "" && lat.text !== "" && lon.text !== "" && !(page.cfs && page.cfs.sending)
                fill: Theme.accent
                labelColor: Theme.textOnAccent
                text: qsTr("Open call")
                onClicked: {
                    if (page.cfs.create(page.selectedType, Number(lat.text), Number(lon.text), address.text, note.text)) {
                        address.text = ""
                        note.text = ""
                        page.selectedType = ""
                    }
                }
            }
            Text {
                visible: text !== ""
                Layout.fillWidth: true
                text: page.cfs ? page.cfs.lastError : ""
                wrapMode: Text.WordWrap
                font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
                color: Theme.dangerText
            }
            Rectangle {
                visible: page.cfs && page.cfs.lastType !== ""
                Layout.fillWidth: true
                implicitHeight: lastCol.implicitHeight + 2 * Theme.gap
                radius: Theme.radius
                color: Theme.surface
                border.color: Theme.border
                Column {
                    id: lastCol
                    anchors { left: parent.left; right: parent.right; top: parent.top; margins: Theme.gap }
                    spacing: 6
                    FieldLabel { text: qsTr("Last call opened") }
                    Row {
                        spacing: 12
                        Text {
                            text: page.cfs ? page.cfs.lastType.replace(/_/g, " ") : ""
                            font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
                            color: Theme.text
                        }
                        DeliveryBadge { delivery: page.cfs ? page.cfs.lastDelivery : "" }
                    }
                    Text {
                        objectName: "cfsIncident"
                        text: page.cfs && page.cfs.lastIncidentNumber !== ""
                              ? qsTr("Incident %1").arg(page.cfs.lastIncidentNumber)
                              : qsTr("Incident number: waiting for dispatch")
                        font.family: Theme.family; font.pixelSize: Theme.fontLarge; font.bold: true
                        color: page.cfs && page.cfs.lastIncidentNumber !== "" ? Theme.okText : Theme.textDim
                    }
                }
            }
            Item { Layout.fillHeight: true }
        }
    }
}
