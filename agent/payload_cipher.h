#pragma once
// At-rest encryption of the store's payloads: AES-256-GCM (OpenSSL EVP) under a
// 32-byte device key kept in a 0600 file beside the store. Each sealed payload
// is 0x01 | 12-byte random nonce | ciphertext | 16-byte tag; the caller's
// additional data (the row's identity) binds a payload to its row, so rows can
// neither be edited nor swapped without failing authentication.
// Thread-safety: const methods may be called from any thread.
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "shared/wire/error.h"

namespace mdc::agent {

class PayloadCipher {
 public:
  /** Reads the key file, or creates it (32 random bytes, mode 0600, written
   *  atomically) when it does not exist and create is true. */
  static Result<PayloadCipher> loadOrCreate(const std::string& keyPath, bool create = true);
  /** A random key held in memory only (for an in-memory store). */
  static PayloadCipher ephemeral();

  /** Encrypts and authenticates plain, bound to aad. */
  std::string seal(std::string_view plain, std::string_view aad) const;
  /** The plaintext, or nullopt when sealed was altered, belongs to another row
   *  (aad differs), or was made under another key. */
  std::optional<std::string> open(std::string_view sealed, std::string_view aad) const;

  static constexpr size_t kOverhead = 1 + 12 + 16;

 private:
  std::array<unsigned char, 32> key_{};
};

}  // namespace mdc::agent
