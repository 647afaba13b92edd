#pragma once
// Logging: one line per event, "2026-11-24T03:04:05.678Z INFO  agent: text",
// to stderr. Thread-safe (one write(2) per line).
#include <string>
#include <string_view>

namespace mdc::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

/** Lines below this level are not written. Default Info; MDC_LOG_LEVEL=debug|info|warn|error overrides at start. */
void setLevel(Level level);
Level level();
/** Parses "debug", "info", "warn", "error". */
bool parseLevel(std::string_view text, Level& out);

/** Writes one line; newlines inside text are replaced so one event stays one line. */
void write(Level level, std::string_view component, std::string_view text);

inline void debug(std::string_view c, std::string_view t) { write(Level::Debug, c, t); }
inline void info(std::string_view c, std::string_view t) { write(Level::Info, c, t); }
inline void warn(std::string_view c, std::string_view t) { write(Level::Warn, c, t); }
inline void error(std::string_view c, std::string_view t) { write(Level::Error, c, t); }

}  // namespace mdc::log
