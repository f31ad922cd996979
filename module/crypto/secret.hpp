// Secret: bytes that must never be printed or outlive their use (passwords, tokens, keys).
// Held in one heap block that moves by pointer (no small-string copies left behind) and is
// wiped with OPENSSL_cleanse on destruction and reassignment. No stream operator on purpose.
#pragma once

#include <openssl/crypto.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smtpn::crypto {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string_view bytes) : bytes_(bytes.begin(), bytes.end()) {}
  explicit Secret(const char* text) : Secret(std::string_view(text)) {}
  // Takes over a temporary that held the secret and wipes it.
  explicit Secret(std::string&& bytes) : bytes_(bytes.begin(), bytes.end()) {
    if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
    bytes.clear();
  }
  Secret(const Secret&) = default;
  Secret(Secret&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }
  Secret& operator=(Secret other) noexcept {
    wipe();
    bytes_.swap(other.bytes_);
    return *this;
  }
  ~Secret() { wipe(); }

  // Deliberately named: every use of the secret's bytes is visible in review.
  std::string_view expose() const { return {bytes_.data(), bytes_.size()}; }
  bool empty() const { return bytes_.empty(); }
  std::size_t size() const { return bytes_.size(); }

  // Building a secret in place. A std::string grown by += reallocates and frees the old
  // block unwiped; here growth first moves into a fresh block and wipes the old one, and
  // reserve() up front avoids even that copy.
  void reserve(std::size_t n) {
    if (n <= bytes_.capacity()) return;
    std::vector<char> bigger;
    bigger.reserve(n);
    bigger.assign(bytes_.begin(), bytes_.end());
    wipe();
    bytes_.swap(bigger);
  }
  Secret& append(std::string_view more) {
    if (bytes_.size() + more.size() > bytes_.capacity()) reserve(2 * (bytes_.size() + more.size()));
    bytes_.insert(bytes_.end(), more.begin(), more.end());
    return *this;
  }
  Secret& append(const Secret& more) { return append(more.expose()); }
  // N uninitialised-then-zeroed bytes to fill through data(), for encoders writing in place.
  static Secret of_size(std::size_t n) {
    Secret s;
    s.bytes_.resize(n);
    return s;
  }
  char* data() { return bytes_.data(); }

  void wipe() noexcept {
    if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
    bytes_.clear();
  }

 private:
  std::vector<char> bytes_;
};

// Wipes a plain string that held secret material (a base64 blob, a computed response).
inline void wipe(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace smtpn::crypto
