// Lisp bindings of the crypto and SASL primitives: HMAC-MD5, base64, CRAM-MD5, version.
#pragma once

#include "emacs/function_table.hpp"

namespace smtpn::emacs {

LispFunction lisp_version, lisp_hmac_md5, lisp_base64_encode, lisp_base64_decode, lisp_cram_md5_response;

}  // namespace smtpn::emacs
