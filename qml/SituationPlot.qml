import QtQuick
import Mdc

// A plot without map tiles: this vehicle at the centre (north up), the call,
// and the other units, each at its distance and bearing. Rings mark half and
// the whole of the plotted range.
Item {
    id: plot
    property SituationModel situation
    property bool callOnly: false          // only the call and the units on it
    readonly property real extent: situation ? (callOnly ? situation.callExtentM : situation.nearbyExtentM) : 1000
    readonly property real side: Math.min(width, height)
    readonly property real pxPerM: side / 2 / extent
    readonly property bool centredOnCall: situation ? !situation.hasFix && situation.hasCall : false

    function ringLabel(m) {
        return m >= 1000 ? (Math.round(m / 100) / 10).toFixed(1) + " km" : Math.round(m / 10) * 10 + " m"
    }

    Rectangle {
        id: face
        anchors.centerIn: parent
        width: plot.side; height: plot.side
        radius: Theme.radius
        color: Theme.surface
        border.color: Theme.border
        clip: true

        Repeater {
            model: [0.5, 1.0]
            delegate: Rectangle {
                required property real modelData
                anchors.centerIn: parent
                width: plot.side * modelData - 4; height: width; radius: width / 2
                color: "transparent"
                border.color: Theme.border
                border.width: 1
                Text {
                    anchors { horizontalCenter: parent.horizontalCenter; top: parent.top; topMargin: 2 }
                    text: plot.ringLabel(plot.extent * parent.modelData)
                    font.family: Theme.family; font.pixelSize: Theme.fontSmall - 2
                    color: Theme.textDim
                }
            }
        }
        Text {
            anchors { right: parent.right; top: parent.top; margins: 8 }
            text: "N ↑"
            font.family: Theme.family; font.pixelSize: Theme.fontBody; font.bold: true
            color: Theme.textDim
        }

        // This vehicle.
        Rectangle {
            objectName: "plotSelf"
            visible: plot.situation ? plot.situation.hasFix : false
            width: 22; height: 22; radius: 11
            x: face.width / 2 - width / 2; y: face.height / 2 - height / 2
            color: Theme.accent
            border.color: Theme.textOnAccent; border.width: 3
            Text {
                anchors { top: parent.bottom; horizontalCenter: parent.horizontalCenter }
                text: qsTr("You")
                font.family: Theme.family; font.pixelSize: Theme.fontSmall; font.bold: true
                color: Theme.accentText
            }
        }
        // The call.
        Rectangle {
            objectName: "plotCall"
            visible: plot.situation ? plot.situation.hasCall && (plot.situation.hasFix || plot.centredOnCall) : false
            width: 24; height: 24; rotation: 45
            x: face.width / 2 + (plot.situation ? plot.situation.callEastM : 0) * plot.pxPerM - width / 2
            y: face.height / 2 - (plot.situation ? plot.situation.callNorthM : 0) * plot.pxPerM - height / 2
            color: Theme.warn
            border.color: Theme.text; border.width: 2
        }
        Text {
            visible: plot.situation ? plot.situation.hasCall && (plot.situation.hasFix || plot.centredOnCall) : false
            x: face.width / 2 + (plot.situation ? plot.situation.callEastM : 0) * plot.pxPerM + 16
            y: face.height / 2 - (plot.situation ? plot.situation.callNorthM : 0) * plot.pxPerM - height / 2
            text: qsTr("Call")
            font.family: Theme.family; font.pixelSize: Theme.fontSmall; font.bold: true
            color: Theme.warnText
        }
        // The other units.
        Repeater {
            model: plot.situation
            delegate: Item {
                id: marker
                required property string unit
                required property real eastM
                required property real northM
                required property bool emergency
                required property bool onCall
                visible: !plot.callOnly || onCall
                width: 18; height: 18
                x: face.width / 2 + eastM * plot.pxPerM - width / 2
                y: face.height / 2 - northM * plot.pxPerM - height / 2
                Rectangle {
                    anchors.fill: parent
                    radius: width / 2
                    color: marker.emergency ? Theme.danger : marker.onCall ? Theme.warn : Theme.textDim
                    border.color: Theme.surface; border.width: 2
                    SequentialAnimation on opacity {
                        running: marker.emergency
                        loops: Animation.Infinite
                        NumberAnimation { to: 0.4; duration: 500 }
                        NumberAnimation { to: 1.0; duration: 500 }
                    }
                }
                Text {
                    anchors { left: parent.right; leftMargin: 4; verticalCenter: parent.verticalCenter }
                    text: marker.unit
                    font.family: Theme.family; font.pixelSize: Theme.fontSmall; font.bold: true
                    color: marker.emergency ? Theme.dangerText : Theme.text
                }
            }
        }
        Text {
            anchors { left: parent.left; bottom: parent.bottom; margins: 8 }
            visible: plot.situation ? !plot.situation.hasFix : true
            text: plot.centredOnCall ? qsTr("No GPS fix: centred on the call") : qsTr("No GPS fix")
            font.family: Theme.family; font.pixelSize: Theme.fontSmall; font.bold: true
            color: Theme.warnText
        }
    }
}
