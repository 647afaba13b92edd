#pragma once
// One line of a CSV file (RFC 4180 fields on one line): fields are separated
// by commas, trimmed, and may be double-quoted ("DOE, JOHN"; "" inside quotes
// is one quote). Used by the operator's imports (fleet, records).
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace cad::csv {

inline std::string trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

/** The fields of one line; nullopt-free: an unterminated quote runs to the end of the line. */
inline std::vector<std::string> fields(std::string_view line) {
  std::vector<std::string> out;
  std::string field;
  bool quoted = false, wasQuoted = false;
  for (size_t i = 0; i <= line.size(); ++i) {
    char c = i < line.size() ? line[i] : ',';
    if (quoted && i < line.size()) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') { field += '"'; ++i; }
      else if (c == '"') quoted = false;
      else field += c;
    } else if (c == '"' && trim(field).empty()) {
      field.clear();
      quoted = wasQuoted = true;
    } else if (c == ',') {
      out.push_back(wasQuoted ? field : trim(field));
      field.clear();
      wasQuoted = quoted = false;
    } else if (!(wasQuoted && std::isspace(static_cast<unsigned char>(c)))) {
      field += c;
    }
  }
  return out;
}

/** Calls f(lineNumber, line) for each line that is not blank or a # comment (a trailing \r is dropped). */
template <class F>
void forEachLine(std::string_view text, F f) {
  size_t pos = 0;
  int n = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++n;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    f(n, line);
  }
}

}  // namespace cad::csv
