#include "emacs/outcome.hpp"

#include <algorithm>
#include <cctype>

#include "emacs/trust_data.hpp"

namespace smtpn::emacs {
namespace {

Datum keyword(const char* name) { return Symbol{name}; }

Datum text_or_nil(const std::string& s) { return s.empty() ? Datum{} : Datum{s}; }

Datum code_or_nil(int code) { return code ? Datum{code} : Datum{}; }

Datum delivery_datum(smtp::Delivery delivery) {
  const char* name = smtp::delivery_symbol(delivery);
  return name ? Datum{Symbol{name}} : Datum{};
}

// ((ADDRESS :code N :enhanced S :reply TEXT) ...)
Datum rejected_datum(const std::vector<smtp::Rejection>& rejected) {
  DatumList out;
  for (const auto& r : rejected)
    out.push_back(DatumList{r.recipient, keyword(":code"), code_or_nil(r.reply.code), keyword(":enhanced"),
                            text_or_nil(r.reply.enhanced), keyword(":reply"), r.reply.text()});
  return out;
}

Datum string_list(const std::vector<std::string>& items) {
  DatumList out(items.begin(), items.end());
  return out;
}

}  // namespace

Datum port_datum(const std::string& port) {
  const bool numeric = !port.empty() && port.size() <= 5 &&
                       std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); });
  return numeric ? Datum{std::stoi(port)} : text_or_nil(port);
}

ModuleError to_module_error(const smtp::SmtpError& error, ErrorKind interrupted_as) {
  using K = smtp::SmtpError::Kind;
  ErrorKind kind = ErrorKind::kGeneric;
  switch (error.kind()) {
    case K::kInvalidArgument: kind = ErrorKind::kGeneric; break;
    case K::kConnection: kind = ErrorKind::kConnection; break;
    case K::kTls: kind = ErrorKind::kTls; break;
    case K::kAuth: kind = ErrorKind::kAuth; break;
    case K::kProtocol: kind = ErrorKind::kProtocol; break;
    case K::kTimeout: kind = ErrorKind::kTimeout; break;
    case K::kTemporary: kind = ErrorKind::kTemporary; break;
    case K::kPermanent: kind = ErrorKind::kPermanent; break;
    case K::kInterrupted: kind = interrupted_as; break;
  }
  DatumList plist{keyword(":phase"),
                  error.phase ? Datum{Symbol{smtp::phase_symbol(*error.phase)}} : Datum{},
                  keyword(":delivery"),
                  delivery_datum(error.delivery),
                  keyword(":code"),
                  code_or_nil(error.code()),
                  keyword(":enhanced"),
                  text_or_nil(error.enhanced_status()),
                  keyword(":reply"),
                  error.code() ? Datum{error.reply_text()} : Datum{},
                  keyword(":rejected"),
                  rejected_datum(error.rejected),
                  keyword(":auth"),
                  text_or_nil(error.auth),
                  keyword(":host"),
                  text_or_nil(error.host),
                  keyword(":port"),
                  port_datum(error.port)};
  append_trust_facts(error, plist);
  return ModuleError(kind, error.what(), std::move(plist));
}

emacs_value send_result_plist(Env& env, const smtp::SendResult& result) {
  const smtp::Reply& final_reply = result.final_reply;
  const DatumList plist{keyword(":delivery"),
                        delivery_datum(result.delivery),
                        keyword(":code"),
                        code_or_nil(final_reply.code),
                        keyword(":enhanced"),
                        text_or_nil(final_reply.enhanced),
                        keyword(":reply"),
                        final_reply.text(),
                        keyword(":accepted"),
                        string_list(result.accepted),
                        keyword(":rejected"),
                        rejected_datum(result.rejected),
                        keyword(":auth"),
                        text_or_nil(result.mechanism),
                        keyword(":host"),
                        text_or_nil(result.host),
                        keyword(":port"),
                        port_datum(result.port),
                        keyword(":tls"),
                        result.tls ? Datum{result.tls->protocol + " " + result.tls->cipher} : Datum{},
                        keyword(":capabilities"),
                        string_list(result.capabilities)};
  return to_lisp(env, plist);
}

}  // namespace smtpn::emacs
