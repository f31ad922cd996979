// Certificate facts in Lisp terms: a certificate as (:subject :issuer :not-before :not-after
// :sha256), and the trust keys an SMTP error adds to its plist (:certificate :chain
// :verify-error :hint). Built here only, for errors and the server-info report alike.
#pragma once

#include "emacs/errors.hpp"
#include "net/certificate.hpp"
#include "smtp/error.hpp"

namespace smtpn::emacs {

Datum certificate_datum(const net::CertificateInfo& cert);
// (CERT-PLIST ...), leaf first.
Datum chain_datum(const std::vector<net::CertificateInfo>& chain);
// The :verify-error symbol, or nil for a verified certificate.
Datum verify_error_datum(net::VerifyError reason);

// Appends :certificate :chain :verify-error (a refused certificate) and :hint (a wrong stream
// type for the port) to PLIST when ERROR carries them.
void append_trust_facts(const smtp::SmtpError& error, DatumList& plist);

}  // namespace smtpn::emacs
