#pragma once
// Files other than SQLite: written atomically (x.new, fsync, rename, fsync dir).
#include <string>

#include "shared/wire/error.h"

namespace mdc::files {

/** Replaces path with content atomically and durably, with the given mode. */
Status writeAtomic(const std::string& path, const std::string& content, unsigned mode = 0644);
/** Reads a whole file; the error names the path. */
Result<std::string> read(const std::string& path);

}  // namespace mdc::files
