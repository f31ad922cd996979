// RFC 4648 base64 (standard alphabet, padded): a fast encoder and a strict decoder that
// rejects anything but the canonical encoding and says at which offset the input went wrong.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/byte_buffer.hpp"
#include "common/result.hpp"
#include "crypto/secret.hpp"

namespace smtpn::crypto {

struct Base64Error {
  enum class Kind {
    kInvalidCharacter,  // outside the alphabet, whitespace included
    kBadLength,         // not a whole number of 4-character groups
    kBadPadding,        // '=' where it cannot be, or too much of it
    kTrailingData,      // anything after the padded final group
    kNonZeroPadBits,    // the last character carries bits the padding says are unused
  };
  Kind kind;
  std::size_t offset;  // byte offset in the input where decoding failed

  std::string message() const;
};

std::string base64_encode(std::string_view bytes);
// The same, written straight into a Secret (no intermediate string to free unwiped).
Secret base64_encode_secret(std::string_view bytes);
// The same, into a buffer that is neither zero-filled first nor, when large, faulted in again
// (ByteBuffer keeps its last large mappings): what the Lisp binding returns from.
ByteBuffer base64_encode_buffer(std::string_view bytes);
std::size_t base64_encoded_size(std::size_t byte_count);

Result<std::string, Base64Error> base64_decode(std::string_view text);
Result<ByteBuffer, Base64Error> base64_decode_buffer(std::string_view text);

}  // namespace smtpn::crypto
