#include "emacs/crypto_bindings.hpp"

#include "crypto/base64.hpp"
#include "crypto/hex.hpp"
#include "crypto/hmac.hpp"
#include "crypto/secret.hpp"
#include "emacs/errors.hpp"
#include "sasl/cram_md5.hpp"
#include "smtpn_version.hpp"

namespace smtpn::emacs {
namespace {

crypto::Secret secret_arg(Env& env, emacs_value v) { return crypto::Secret{env.bytes(v)}; }

// A decode error's plist: (:offset N), the position at fault.
DatumList offset_detail(std::optional<std::size_t> offset) {
  if (!offset) return {};
  return {Symbol{":offset"}, Datum{static_cast<std::intmax_t>(*offset)}};
}

}  // namespace

emacs_value lisp_version(Env& env, Args) { return env.text(kVersion); }

emacs_value lisp_hmac_md5(Env& env, Args args) {
  const crypto::Secret key = secret_arg(env, args[0]);
  const std::string data = env.bytes(args[1]);
  std::string mac = crypto::hmac_md5(key.expose(), data);
  const bool binary = !env.is_nil(optional_arg(env, args, 2));
  // ASCII results are made unibyte, as Emacs's own base64/secure-hash do: no UTF-8 decoding.
  emacs_value result = env.unibyte(binary ? mac : crypto::hex_encode(mac));
  crypto::wipe(mac);
  return result;
}

// base64 copies in and out through ByteBuffers: one copy_string_contents (Env::bytes scans
// twice), no zero-fill, and large buffers come back already faulted in, which on 10 MiB was
// most of the time (page faults and memset, not the encoding).
emacs_value lisp_base64_encode(Env& env, Args args) {
  return env.unibyte(crypto::base64_encode_buffer(env.message_bytes(args[0])));
}

emacs_value lisp_base64_decode(Env& env, Args args) {
  auto decoded = crypto::base64_decode_buffer(env.message_bytes(args[0]));
  if (!decoded)
    throw ModuleError(ErrorKind::kDecode, "Invalid base64: " + decoded.error().message(),
                      offset_detail(decoded.error().offset));
  return env.unibyte(decoded.value().view());
}

emacs_value lisp_cram_md5_response(Env& env, Args args) {
  const std::string user = env.bytes(args[0]);
  const crypto::Secret password = secret_arg(env, args[1]);
  const std::string challenge = env.bytes(args[2]);
  auto response = sasl::cram_md5_response(user, password, challenge);
  if (!response) {
    const auto& error = response.error();
    throw ModuleError(
        error.kind == sasl::SaslError::Kind::kTooLarge ? ErrorKind::kProtocol : ErrorKind::kDecode,
        error.message, offset_detail(error.offset));
  }
  return env.unibyte(response.value().expose());
}

}  // namespace smtpn::emacs
