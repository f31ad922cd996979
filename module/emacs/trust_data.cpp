#include "emacs/trust_data.hpp"

namespace smtpn::emacs {

Datum certificate_datum(const net::CertificateInfo& cert) {
  return DatumList{Symbol{":subject"},   cert.subject,   Symbol{":issuer"},    cert.issuer,
                   Symbol{":not-before"}, cert.not_before, Symbol{":not-after"}, cert.not_after,
                   Symbol{":sha256"},    cert.sha256};
}

Datum chain_datum(const std::vector<net::CertificateInfo>& chain) {
  DatumList out;
  for (const auto& cert : chain) out.push_back(certificate_datum(cert));
  return out;
}

Datum verify_error_datum(net::VerifyError reason) {
  if (reason == net::VerifyError::kNone) return {};
  return Symbol{net::verify_error_name(reason)};
}

void append_trust_facts(const smtp::SmtpError& error, DatumList& plist) {
  if (const auto& failure = error.certificate()) {
    plist.insert(plist.end(),
                 {Symbol{":certificate"}, failure->chain.empty() ? Datum{} : certificate_datum(failure->chain.front()),
                  Symbol{":chain"}, chain_datum(failure->chain), Symbol{":verify-error"},
                  verify_error_datum(failure->reason)});
  }
  if (error.hint() != smtp::Hint::kNone) plist.insert(plist.end(), {Symbol{":hint"}, Symbol{smtp::hint_name(error.hint())}});
}

}  // namespace smtpn::emacs
