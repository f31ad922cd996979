#include "sasl/saslprep.hpp"

#include <openssl/crypto.h>
#include <unicode/ustring.h>
#include <unicode/usprep.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace smtpn::sasl {
namespace {

SaslError bad(std::string_view what, const std::string& why) {
  return SaslError{SaslError::Kind::kBadCredentials, "the " + std::string(what) + " " + why};
}

// ICU's RFC 4013 profile, opened once per process (ICU shares and reference-counts it, and
// usprep_prepare only reads it, so worker threads may use it at once).
struct ProfileCloser {
  void operator()(UStringPrepProfile* p) const noexcept { usprep_close(p); }
};
const UStringPrepProfile* saslprep_profile() {
  static const std::unique_ptr<UStringPrepProfile, ProfileCloser> profile = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<UStringPrepProfile, ProfileCloser> p(usprep_openByType(USPREP_RFC4013_SASLPREP, &status));
    if (U_FAILURE(status)) p.reset();
    return p;
  }();
  return profile.get();
}

// UTF-16 working copies of a credential: wiped before they are freed.
struct WipedUnits {
  std::vector<UChar> units;
  explicit WipedUnits(std::size_t n) : units(n) {}
  ~WipedUnits() {
    if (!units.empty()) OPENSSL_cleanse(units.data(), units.size() * sizeof(UChar));
  }
  WipedUnits(const WipedUnits&) = delete;
  WipedUnits& operator=(const WipedUnits&) = delete;
  int32_t capacity() const { return static_cast<int32_t>(units.size()); }
};

}  // namespace

Result<crypto::Secret, SaslError> saslprep(std::string_view text, std::string_view what, bool required) {
  // Validity of the UTF-8 and the control characters first, in our words.
  if (auto e = check_prepared(text, what, false)) return Unexpected{*e};
  bool ascii = true;
  for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    if (required && text.empty()) return Unexpected{bad(what, "is empty")};
    return crypto::Secret(text);
  }
  const UStringPrepProfile* profile = saslprep_profile();
  if (!profile) return Unexpected{bad(what, "cannot be prepared: ICU's SASLprep profile is unavailable")};
  if (text.size() > 64 * 1024) return Unexpected{bad(what, "is longer than 64 KiB")};

  // UTF-16 needs at most one unit per UTF-8 byte.
  WipedUnits source(text.size());
  int32_t source_length = 0;
  UErrorCode status = U_ZERO_ERROR;
  u_strFromUTF8(source.units.data(), source.capacity(), &source_length, text.data(),
                static_cast<int32_t>(text.size()), &status);
  if (U_FAILURE(status)) return Unexpected{bad(what, "is not valid UTF-8")};

  // NFKC may expand (U+FDFA becomes 18 characters); ask again with the size ICU reports.
  auto prepared = std::make_unique<WipedUnits>(static_cast<std::size_t>(source_length) * 4 + 16);
  int32_t length = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    status = U_ZERO_ERROR;
    UParseError where;
    length = usprep_prepare(profile, source.units.data(), source_length, prepared->units.data(),
                            prepared->capacity(), USPREP_ALLOW_UNASSIGNED, &where, &status);
    if (status != U_BUFFER_OVERFLOW_ERROR) break;
    prepared = std::make_unique<WipedUnits>(static_cast<std::size_t>(length) + 1);
  }
  switch (status) {
    case U_ZERO_ERROR:
    case U_STRING_NOT_TERMINATED_WARNING: break;
    case U_STRINGPREP_PROHIBITED_ERROR:
      return Unexpected{bad(what, "contains a character SASLprep prohibits (RFC 4013 section 2.3)")};
    case U_STRINGPREP_CHECK_BIDI_ERROR:
      return Unexpected{bad(what, "mixes right-to-left and left-to-right text as SASLprep forbids "
                                  "(RFC 4013 section 2.4)")};
    default: return Unexpected{bad(what, std::string("cannot be prepared: ") + u_errorName(status))};
  }
  if (required && length == 0) return Unexpected{bad(what, "is empty after SASLprep")};

  // Back to UTF-8: at most three bytes per unit; the string never grows, so never reallocates.
  std::string out(static_cast<std::size_t>(length) * 3, '\0');
  int32_t out_length = 0;
  status = U_ZERO_ERROR;
  u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &out_length, prepared->units.data(), length,
              &status);
  if (U_FAILURE(status)) {
    crypto::wipe(out);
    return Unexpected{bad(what, std::string("cannot be prepared: ") + u_errorName(status))};
  }
  OPENSSL_cleanse(out.data() + out_length, out.size() - static_cast<std::size_t>(out_length));
  out.resize(static_cast<std::size_t>(out_length));
  return crypto::Secret(std::move(out));
}

std::optional<SaslError> check_prepared(std::string_view text, std::string_view what, bool required) {
  auto fail = [&](const std::string& why) { return bad(what, why); };
  if (required && text.empty()) return fail("is empty");
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::uint32_t cp = 0;
    std::size_t len = 0;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1Fu;
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0Fu;
      len = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07u;
      len = 4;
    } else {
      return fail("is not valid UTF-8");
    }
    if (i + len > text.size()) return fail("is not valid UTF-8");
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return fail("is not valid UTF-8");
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Overlong forms, surrogates and values beyond Unicode are not UTF-8 either.
    static constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return fail("is not valid UTF-8");
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
      return fail("contains a control character, which SASLprep prohibits");
    i += len;
  }
  return std::nullopt;
}

std::string saslname(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '=')
      out += "=3D";
    else if (c == ',')
      out += "=2C";
    else
      out += c;
  }
  return out;
}

std::string printable_excerpt(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (text.size() > max) out += "...";
  return out;
}

}  // namespace smtpn::sasl
