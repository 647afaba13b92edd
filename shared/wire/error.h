#pragma once
// Results for operations that can fail in normal operation. Exceptions are for
// bugs and start-up failures; everything a peer or a user can cause returns a
// Result whose Error names the thing and the value.
#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace mdc {

/** A failure a person will read: names the thing, the value and what to do. */
struct Error {
  int code = 0;          ///< domain-specific code (e.g. a CodecError reason)
  std::string message;   ///< "envelope.seq: 0 must be >= 1"

  static Error make(std::string msg, int code = 0) { return Error{code, std::move(msg)}; }
};

/** Either a value or an Error. Thread-safety: a value type, like std::variant. */
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT(implicit)
  Result(Error error) : v_(std::move(error)) {}        // NOLINT(implicit)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

/** Success or an Error, for operations without a value. */
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT(implicit)
  static Status success() { return {}; }

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { assert(!ok()); return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace mdc
