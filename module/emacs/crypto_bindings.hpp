// Lisp bindings of the crypto and SASL primitives: HMAC-MD5, base64, CRAM-MD5, version.
#pragma once

#include "emacs/function_table.hpp"

namespace smtpn::emacs {

emacs_value lisp_version(Env& env, Args args);
emacs_value lisp_hmac_md5(Env& env, Args args);
emacs_value lisp_base64_encode(Env& env, Args args);
emacs_value lisp_base64_decode(Env& env, Args args);
emacs_value lisp_cram_md5_response(Env& env, Args args);

}  // namespace smtpn::emacs
