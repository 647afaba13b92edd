import QtQuick
import QtQuick.Window
import QtQuick.Layouts
import Mdc

// The responder's screen. Every value comes from the controllers below
// (created and owned by the C++ side); the screen itself keeps no state
// except which page is open.
Window {
    id: root
    required property AgentConnection agent
    required property HeaderState header
    required property StatusController statusCtl
    required property EmergencyController emergency
    required property AssignmentController assignment
    required property CfsController cfs
    required property MessageController messaging
    required property ActionsModel actions
    required property SituationModel situation
    required property SupervisorModel supervisor
    required property QueryController query
    required property DiagnosticsController diagnostics
    required property ThemeController theme

    property string page: "status"
    readonly property var pages: ["status", "assignment", "cfs", "messages", "nearby", "query", "diagnostics", "board"]

    width: 1280
    height: 800
    minimumWidth: 1024
    minimumHeight: 700
    visible: true
    title: qsTr("MDC %1").arg(header.unitId)
    color: Theme.bg

    Binding { target: Theme; property: "night"; value: root.theme.night }

    // F1..F10: the status buttons, as on real MDCs.
    Repeater {
        model: 10
        Item {
            required property int index
            Shortcut {
                sequence: "F" + (index + 1)
                context: Qt.ApplicationShortcut
                onActivated: root.statusCtl.pressFunctionKey(index + 1)
            }
            Shortcut {
                enabled: index < root.pages.length
                sequence: "Alt+" + (index + 1)
                context: Qt.ApplicationShortcut
                onActivated: root.page = root.pages[index]
            }
        }
    }
    Shortcut {
        sequence: "Ctrl+A"
        context: Qt.ApplicationShortcut
        onActivated: if (root.assignment.hasAssignment && !root.assignment.acknowledged) root.assignment.acknowledge()
    }
    Shortcut {
        sequence: "Ctrl+T"
        context: Qt.ApplicationShortcut
        onActivated: root.theme.cycle()
    }

    ColumnLayout {
        anchors.fill: parent
        spacing: 0

        Header {
            id: headerBar
            objectName: "header"
            Layout.fillWidth: true
            header: root.header
            statusCtl: root.statusCtl
        }
        EmergencyBanner {
            objectName: "emergencyBanner"
            Layout.fillWidth: true
            Layout.preferredHeight: implicitHeight
            emergency: root.emergency
        }
        // Another unit's emergency near this vehicle, on every page.
        Rectangle {
            id: nearEmergency
            objectName: "nearbyEmergencyBanner"
            Layout.fillWidth: true
            Layout.preferredHeight: visible ? 56 : 0
            visible: root.situation.nearbyEmergency !== ""
            color: Theme.danger
            SequentialAnimation on opacity {
                running: nearEmergency.visible
                loops: Animation.Infinite
                NumberAnimation { to: 0.75; duration: 600 }
                NumberAnimation { to: 1.0; duration: 600 }
            }
            Text {
                objectName: "nearbyEmergencyText"
                anchors { verticalCenter: parent.verticalCenter; left: parent.left; leftMargin: 20 }
                text: qsTr("EMERGENCY NEAR YOU: %1").arg(root.situation.nearbyEmergency)
                font.family: Theme.family; font.pixelSize: Theme.fontLarge; font.bold: true
                color: Theme.textOnAccent
            }
            MouseArea { anchors.fill: parent; onClicked: root.page = "nearby" }
        }
        SafetyAlertBanner {
            objectName: "safetyAlertBanner"
            Layout.fillWidth: true
            Layout.preferredHeight: implicitHeight
            query: root.query
            onOpenCall: root.page = "assignment"
        }
        RowLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            spacing: 0
            NavRail {
                objectName: "navRail"
                Layout.fillHeight: true
                page: root.page
                assignment: root.assignment
                messaging: root.messaging
                situation: root.situation
                supervisor: root.supervisor
                query: root.query
                emergency: root.emergency
                theme: root.theme
                onNavigate: (target) => root.page = target
            }
            StackLayout {
                objectName: "pages"
                Layout.fillWidth: true
                Layout.fillHeight: true
                currentIndex: Math.max(0, root.pages.indexOf(root.page))
                StatusPage { objectName: "statusPage"; statusCtl: root.statusCtl; actions: root.actions }
                AssignmentPage { objectName: "assignmentPage"; assignment: root.assignment; situation: root.situation }
                CfsPage { objectName: "cfsPage"; cfs: root.cfs }
                MessagesPage { objectName: "messagesPage"; messaging: root.messaging }
                NearbyPage { objectName: "nearbyPage"; situation: root.situation }
                QueryPage { objectName: "queryPage"; query: root.query }
                DiagnosticsPage { objectName: "diagnosticsPage"; diagnostics: root.diagnostics }
                SupervisorPage { objectName: "boardPage"; supervisor: root.supervisor }
            }
        }
    }

    AssignmentAlert {
        anchors.fill: parent
        assignment: root.assignment
        onView: root.page = "assignment"
    }

    HitAlert {
        anchors.fill: parent
        query: root.query
        onView: root.page = "query"
    }

    AgentDownPage {
        objectName: "agentDown"
        anchors.fill: parent
        visible: !root.agent.hasSnapshot
        agent: root.agent
        MouseArea { anchors.fill: parent }  // nothing below works without the agent
    }
}
