#include "shared/infra/enrol.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace mdc::enrol {

namespace {
constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";  // Crockford base32

std::string hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += d[p[i] >> 4];
    out += d[p[i] & 15];
  }
  return out;
}
}  // namespace

std::string newToken() {
  unsigned char raw[10];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("enrol: no random bytes from OpenSSL");
  std::string out;
  // 80 bits, 5 at a time.
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char b : raw) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      if (!out.empty() && (out.size() + 1) % 5 == 0) out += '-';
      out += kAlphabet[(buffer >> bits) & 31];
    }
  }
  return out;
}

std::optional<std::string> normalizeToken(const std::string& typed) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    bool known = false;
    for (const char* a = kAlphabet; *a; ++a) known |= *a == c;
    if (!known) return std::nullopt;
    out += c;
  }
  if (out.size() != 16) return std::nullopt;
  return out;
}

std::string tokenHash(const std::string& normalized) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(normalized.data(), normalized.size(), md, &n, EVP_sha256(), nullptr);
  return hex(md, n);
}

std::string caProof(const std::string& tokenHashHex, const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  size_t n = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, tokenHashHex.data(), tokenHashHex.size(),
                 reinterpret_cast<const unsigned char*>(body.data()), body.size(), md, sizeof md, &n))
    throw std::runtime_error("enrol: HMAC-SHA256 failed");
  return hex(md, n);
}

bool sameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace mdc::enrol
