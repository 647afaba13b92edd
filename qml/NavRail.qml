import QtQuick
import Mdc
import QtQuick.Layouts

// Page navigation (Alt+1..8), the theme switch and the emergency button.
Rectangle {
    id: rail
    property string page: "status"
    property AssignmentController assignment
    property MessageController messaging
    property SituationModel situation
    property SupervisorModel supervisor
    property QueryController query
    property EmergencyController emergency
    property ThemeController theme
    signal navigate(string page)

    implicitWidth: 176
    color: Theme.surface

    component NavButton: BigButton {
        id: nb
        property string target
        property bool attention: false
        Layout.fillWidth: true
        // On a short panel with banners the page buttons give way (down to 44
        // px); the emergency button never does.
        Layout.fillHeight: true
        Layout.preferredHeight: 70
        Layout.maximumHeight: 70
        Layout.minimumHeight: 44
        checkable: false
        checked: rail.page === target
        fontSize: Theme.fontBody
        onClicked: rail.navigate(target)
        Rectangle {
            visible: nb.attention
            width: 18; height: 18; radius: 9
            color: Theme.dangerText
            anchors { right: parent.right; top: parent.top; margins: 8 }
        }
    }

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: 10
        spacing: 8

        NavButton {
            objectName: "navStatus"
            target: "status"
            text: qsTr("Status")
        }
        NavButton {
            objectName: "navAssignment"
            target: "assignment"
            text: qsTr("Call")
            sublabel: rail.assignment && rail.assignment.hasAssignment ? rail.assignment.incidentNumber : qsTr("none")
            attention: rail.assignment ? (rail.assignment.hasAssignment && !rail.assignment.acknowledged) : false
        }
        NavButton {
            objectName: "navCfs"
            target: "cfs"
            text: qsTr("Self-init")
        }
        NavButton {
            objectName: "navMessages"
            target: "messages"
            text: qsTr("Messages")
            sublabel: rail.messaging ? String(rail.messaging.messages.total) : ""
        }
        NavButton {
            objectName: "navNearby"
            target: "nearby"
            text: qsTr("Nearby")
            sublabel: rail.situation && rail.situation.nearbyKnown ? String(rail.situation.count) : ""
            attention: rail.situation ? rail.situation.nearbyEmergency !== "" : false
        }
        NavButton {
            // Only on a supervisor's device: the board of the zones it oversees.
            objectName: "navBoard"
            target: "board"
            visible: rail.supervisor ? rail.supervisor.active : false
            text: qsTr("Supervisor")
            sublabel: rail.supervisor && rail.supervisor.active ? String(rail.supervisor.count) : ""
            attention: rail.supervisor ? rail.supervisor.emergencies > 0 : false
        }
        NavButton {
            objectName: "navQuery"
            target: "query"
            text: qsTr("Query")
            sublabel: rail.query && !rail.query.online ? qsTr("offline") : ""
            attention: rail.query ? rail.query.hitAlert.id !== undefined : false
        }
        NavButton {
            objectName: "navDiagnostics"
            target: "diagnostics"
            text: qsTr("Tech")
        }
        Item { Layout.fillHeight: true }
        BigButton {
            objectName: "themeButton"
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.preferredHeight: Theme.touch
            Layout.maximumHeight: Theme.touch
            Layout.minimumHeight: 44
            fontSize: Theme.fontSmall + 1
            text: !rail.theme ? "" : rail.theme.mode === ThemeController.Auto
                  ? (rail.theme.night ? qsTr("Auto · night") : qsTr("Auto · day"))
                  : rail.theme.mode === ThemeController.Day ? qsTr("Day") : qsTr("Night")
            caption: ""
            onClicked: if (rail.theme) rail.theme.cycle()
        }
        EmergencyButton {
            objectName: "emergencyButton"
            emergency: rail.emergency
            Layout.fillWidth: true
            Layout.preferredHeight: 120
            Layout.minimumHeight: 120
        }
    }
}
