import QtQuick
import Mdc

// A small caption above a value.
Text {
    font.family: Theme.family
    font.pixelSize: Theme.fontSmall
    font.capitalization: Font.AllUppercase
    font.letterSpacing: 1
    color: Theme.textDim
}
