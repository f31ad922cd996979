// The server side of the SASL mechanisms, for hostile scripts: computed here with OpenSSL
// directly (HMAC-MD5, MD5), not with the module's sasl/ code, so a shared mistake cannot pass.
#pragma once

#include <openssl/evp.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "support/base64_text.hpp"

namespace smtpn::hostile {

using test::b64;
using test::unb64;

inline std::string to_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

// RFC 2195: the CRAM-MD5 response a client with USER and PASSWORD owes CHALLENGE (decoded).
inline std::string cram_md5_answer(std::string_view user, std::string_view password,
                                   std::string_view challenge) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t size = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "MD5", nullptr, password.data(), password.size(),
                 reinterpret_cast<const unsigned char*>(challenge.data()), challenge.size(), mac, sizeof mac,
                 &size))
    return "<HMAC failed>";
  return std::string(user) + " " + to_hex(mac, size);
}

inline std::string md5_raw(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), md, &size, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<char*>(md), size);
}

inline std::string md5_hex(std::string_view data) {
  const std::string raw = md5_raw(data);
  return to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

// RFC 2831 directives: key=value or key="value" (with \-escapes), comma separated.
inline std::map<std::string, std::string> digest_directives(std::string_view text) {
  std::map<std::string, std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ',' || text[i] == ' ')) ++i;
    const std::size_t eq = text.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key(text.substr(i, eq - i));
    std::string value;
    i = eq + 1;
    if (i < text.size() && text[i] == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value += text[i];
      }
      ++i;
    } else {
      while (i < text.size() && text[i] != ',') value += text[i++];
    }
    out[key] = value;
  }
  return out;
}

// A DIGEST-MD5 server (RFC 2831, qop=auth, md5-sess) for one exchange.
struct DigestServer {
  std::string user, password, realm = "hostile.test", nonce = "OA6MG9tEQGm2hh";

  std::string challenge() const {
    return "realm=\"" + realm + "\",nonce=\"" + nonce + "\",qop=\"auth\",charset=utf-8,algorithm=md5-sess";
  }
  // The rspauth directive for the client's RESPONSE (decoded), or nullopt when its proof is wrong.
  std::optional<std::string> check(std::string_view response) const {
    auto d = digest_directives(response);
    if (d["username"] != user || d["nonce"] != nonce || d["qop"] != "auth") return std::nullopt;
    const std::string a1 =
        md5_raw(user + ":" + d["realm"] + ":" + password) + ":" + nonce + ":" + d["cnonce"];
    const std::string tail = ":" + nonce + ":" + d["nc"] + ":" + d["cnonce"] + ":auth:";
    auto kd = [&](const std::string& a2) { return md5_hex(md5_hex(a1) + tail + md5_hex(a2)); };
    if (d["response"] != kd("AUTHENTICATE:" + d["digest-uri"])) return std::nullopt;
    return "rspauth=" + kd(":" + d["digest-uri"]);
  }
};

}  // namespace smtpn::hostile
