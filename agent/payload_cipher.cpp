#include "agent/payload_cipher.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <memory>
#include <stdexcept>

#include "shared/infra/files.h"

namespace mdc::agent {

namespace {
constexpr unsigned char kFormat = 0x01;
constexpr size_t kNonce = 12, kTag = 16;
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
}  // namespace

Result<PayloadCipher> PayloadCipher::loadOrCreate(const std::string& keyPath, bool create) {
  PayloadCipher c;
  struct stat st {};
  if (::stat(keyPath.c_str(), &st) != 0) {
    if (!create) return Error::make("store key \"" + keyPath + "\" does not exist");
    if (RAND_bytes(c.key_.data(), int(c.key_.size())) != 1)
      return Error::make("store key \"" + keyPath + "\": no random bytes from OpenSSL");
    std::string raw(reinterpret_cast<const char*>(c.key_.data()), c.key_.size());
    if (Status s = files::writeAtomic(keyPath, raw, 0600); !s) return s.error();
    return c;
  }
  auto raw = files::read(keyPath);
  if (!raw) return raw.error();
  if (raw->size() != c.key_.size())
    return Error::make("store key \"" + keyPath + "\": " + std::to_string(raw->size()) +
                       " bytes, expected 32 (damaged? the stored payloads cannot be read without it)");
  if (st.st_mode & 077) ::chmod(keyPath.c_str(), 0600);
  std::copy(raw->begin(), raw->end(), c.key_.begin());
  return c;
}

PayloadCipher PayloadCipher::ephemeral() {
  PayloadCipher c;
  if (RAND_bytes(c.key_.data(), int(c.key_.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  return c;
}

std::string PayloadCipher::seal(std::string_view plain, std::string_view aad) const {
  std::string out(kOverhead + plain.size(), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  o[0] = kFormat;
  if (RAND_bytes(o + 1, kNonce) != 1) throw std::runtime_error("RAND_bytes failed");
  CtxPtr ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0, fin = 0;
  // A failure here is a bug or an exhausted machine, not a stored-data problem.
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), o + 1) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()), int(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o + 1 + kNonce, &len, reinterpret_cast<const unsigned char*>(plain.data()),
                        int(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + 1 + kNonce + len, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, int(kTag), o + 1 + kNonce + plain.size()) != 1)
    throw std::runtime_error("AES-256-GCM encryption failed");
  return out;
}

std::optional<std::string> PayloadCipher::open(std::string_view sealed, std::string_view aad) const {
  if (sealed.size() < kOverhead || static_cast<unsigned char>(sealed[0]) != kFormat) return std::nullopt;
  const auto* s = reinterpret_cast<const unsigned char*>(sealed.data());
  size_t n = sealed.size() - kOverhead;
  std::string plain(n, '\0');
  unsigned char tag[kTag];
  std::copy(s + 1 + kNonce + n, s + sealed.size(), tag);
  CtxPtr ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0, fin = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), s + 1) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()), int(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len, s + 1 + kNonce, int(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, int(kTag), tag) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len, &fin) != 1)
    return std::nullopt;
  return plain;
}

}  // namespace mdc::agent
