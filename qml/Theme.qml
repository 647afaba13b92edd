pragma Singleton
import QtQuick

// Colours, sizes and fonts for the screen. Night: dark surfaces, dimmed text,
// no white anywhere (a white flash at night blinds a driver). Sizes: a 10-inch
// 1280x800 panel is about 150 px per inch, so 9 mm is about 54 px; every
// touch target here is at least `touch` (64 px, 11 mm).
QtObject {
    property bool night: false

    readonly property color bg: night ? "#07090c" : "#dfe4ea"
    readonly property color surface: night ? "#11151b" : "#f7f9fb"
    readonly property color surfaceAlt: night ? "#181d25" : "#e9edf2"
    readonly property color raised: night ? "#1e242d" : "#ffffff"
    readonly property color border: night ? "#2a313c" : "#b7c0cc"
    readonly property color text: night ? "#aeb5bf" : "#0b1016"
    readonly property color textDim: night ? "#6c7480" : "#4a5563"
    readonly property color textOnAccent: night ? "#d4d9e0" : "#ffffff"
    readonly property color header: night ? "#0c0f13" : "#17202b"
    readonly property color headerText: night ? "#aeb5bf" : "#f2f5f8"
    readonly property color headerDim: night ? "#6c7480" : "#9aa7b6"
    readonly property color accent: night ? "#284f86" : "#1b5fc1"
    readonly property color accentText: night ? "#8fb4ea" : "#1b5fc1"
    readonly property color ok: night ? "#2f7d4a" : "#1d7a3a"
    readonly property color okText: night ? "#6cc08a" : "#1d7a3a"
    readonly property color warn: night ? "#8a6415" : "#b86e00"
    readonly property color warnText: night ? "#d9a441" : "#9a5b00"
    readonly property color danger: night ? "#8e1b22" : "#c8102e"
    readonly property color dangerText: night ? "#ff6b70" : "#c8102e"
    readonly property color focus: night ? "#5f8fd6" : "#0a58ff"

    readonly property int touch: 64
    readonly property int radius: 10
    readonly property int gap: 12
    readonly property int fontSmall: 17
    readonly property int fontBody: 20
    readonly property int fontLarge: 26
    readonly property int fontXL: 34
    readonly property int fontHuge: 44
    readonly property string family: "DejaVu Sans"

    function deliveryColor(d) {
        return d === "delivered" ? ok : d === "rejected" || d === "held" ? danger : d === "queued" ? warn : border
    }
    function deliveryTextColor(d) {
        return d === "delivered" ? okText : d === "rejected" || d === "held" ? dangerText : d === "queued" ? warnText : textDim
    }
}
