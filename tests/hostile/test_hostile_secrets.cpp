// For every mechanism the module speaks, at full trace, whether the server accepts (235) or
// refuses (535): the password, the token and every secret-bearing line the client actually
// sent (the PLAIN blob, the OAuth blobs, the responses) appear neither in the session trace
// nor in the error. Each server checks the credentials itself, so the secret did cross the
// (TLS) wire: the trace is clean because it redacts, not because nothing was sent.
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "catch.hpp"
#include "crypto/digest.hpp"
#include "hostile_client.hpp"
#include "hostile_sasl.hpp"
#include "hostile_server.hpp"
#include "scram_server.hpp"

using namespace smtpn;
using namespace smtpn::hostile;
using Kind = smtp::SmtpError::Kind;

namespace {

constexpr const char* kToken = "ya29.secret-bearer-token-for-hostile";
const std::string kOAuthError = R"({"status":"invalid_token","schemes":"bearer"})";

// One exchange's server side: returns whether the client's credentials checked out. ACCEPT:
// end with 235 (after any server-final the mechanism owes), else with 535.
using Exchange = std::function<bool(Connection& c, bool accept)>;

bool scram_exchange(Connection& c, bool accept, crypto::Digest digest, const std::string& name) {
  test::ScramServer scram;
  scram.digest = digest;
  scram.user = kUser;
  scram.password = kPassword;
  const std::string line = c.expect("AUTH " + name + " ");
  auto first = scram.first(unb64(line.substr(line.find(' ', 5) + 1)));
  if (!first) return false;
  c.reply("334 " + b64(*first));
  const std::string final = scram.final(unb64(c.expect("")));
  if (accept && scram.authenticated) {
    c.reply("334 " + b64(final));
    c.expect("");
    c.reply("235 2.7.0 ok");
  } else {
    c.reply("535 5.7.8 authentication failed");
  }
  return scram.authenticated;
}

// How an OAuth exchange ends: 235 when ACCEPT and the token was OK, else the JSON error
// challenge (RFC 7628 section 3.2.2), the client's reply to it (starting with
// REPLY_PREFIX) and 535. Returns OK.
bool end_oauth_exchange(Connection& c, bool accept, bool ok, std::string_view reply_prefix) {
  if (accept && ok) {
    c.reply("235 2.7.0 ok");
  } else {
    c.reply("334 " + b64(kOAuthError));
    c.expect(reply_prefix);
    c.reply("535 5.7.8 token refused");
  }
  return ok;
}

const std::map<std::string, Exchange>& exchanges() {
  static const std::map<std::string, Exchange> table = {
      {"PLAIN",
       [](Connection& c, bool accept) {
         const std::string line = c.expect("AUTH PLAIN ");
         const bool ok = unb64(line.substr(11)) == std::string("\0alice\0", 7) + kPassword;
         c.reply(accept && ok ? "235 2.7.0 ok" : "535 5.7.8 authentication failed");
         return ok;
       }},
      {"LOGIN",
       [](Connection& c, bool accept) {
         c.expect("AUTH LOGIN");
         c.reply("334 VXNlcm5hbWU6");
         const bool user_ok = unb64(c.expect("")) == kUser;
         c.reply("334 UGFzc3dvcmQ6");
         const bool ok = user_ok && unb64(c.expect("")) == kPassword;
         c.reply(accept && ok ? "235 2.7.0 ok" : "535 5.7.8 authentication failed");
         return ok;
       }},
      {"CRAM-MD5",
       [](Connection& c, bool accept) {
         const std::string challenge = "<31337.1700000000@hostile.test>";
         c.expect("AUTH CRAM-MD5");
         c.reply("334 " + b64(challenge));
         const bool ok = unb64(c.expect("")) == cram_md5_answer(kUser, kPassword, challenge);
         c.reply(accept && ok ? "235 2.7.0 ok" : "535 5.7.8 authentication failed");
         return ok;
       }},
      {"SCRAM-SHA-1",
       [](Connection& c, bool accept) {
         return scram_exchange(c, accept, crypto::Digest::kSha1, "SCRAM-SHA-1");
       }},
      {"SCRAM-SHA-256",
       [](Connection& c, bool accept) {
         return scram_exchange(c, accept, crypto::Digest::kSha256, "SCRAM-SHA-256");
       }},
      {"DIGEST-MD5",
       [](Connection& c, bool accept) {
         DigestServer digest{kUser, kPassword};
         c.expect("AUTH DIGEST-MD5");
         c.reply("334 " + b64(digest.challenge()));
         const auto rspauth = digest.check(unb64(c.expect("")));
         if (accept && rspauth) {
           c.reply("334 " + b64(*rspauth));
           c.expect("");
           c.reply("235 2.7.0 ok");
         } else {
           c.reply("535 5.7.8 authentication failed");
         }
         return rspauth.has_value();
       }},
      {"XOAUTH2",
       [](Connection& c, bool accept) {
         const std::string line = c.expect("AUTH XOAUTH2 ");
         const bool ok = unb64(line.substr(13)) == std::string(
                                                       "user=alice\x01"
                                                       "auth=Bearer ") +
                                                       kToken + "\x01\x01";
         return end_oauth_exchange(c, accept, ok, "");  // XOAUTH2 answers with an empty line
       }},
      {"OAUTHBEARER",
       [](Connection& c, bool accept) {
         const std::string line = c.expect("AUTH OAUTHBEARER ");
         const std::string blob = unb64(line.substr(17));
         const bool ok =
             blob.rfind("n,a=alice,\x01", 0) == 0 && blob.find(std::string("\x01"
                                                                           "auth=Bearer ") +
                                                               kToken + "\x01\x01") != std::string::npos;
         return end_oauth_exchange(c, accept, ok, "AQ==");  // OAUTHBEARER with a lone ^A
       }},
  };
  return table;
}

// The secret-bearing text the client put on the wire: the AUTH line's initial response and
// every line of the exchange after it (up to the next command).
std::vector<std::string> sent_secrets(const Record& rec) {
  std::vector<std::string> out;
  bool in_auth = false;
  for (const auto& line : rec.lines) {
    if (line.rfind("AUTH ", 0) == 0) {
      in_auth = true;
      const std::size_t space = line.find(' ', 5);
      if (space != std::string::npos) out.push_back(line.substr(space + 1));
    } else if (line.rfind("MAIL ", 0) == 0 || line == "QUIT" || line == "RSET") {
      in_auth = false;
    } else if (in_auth && line.size() > 4) {  // "", "*" and "AQ==" carry nothing
      out.push_back(line);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("no secret reaches the trace or the error, for every mechanism, on success and failure",
          "[hostile][auth][secrets]") {
  for (const auto& [name, exchange] : exchanges()) {
    for (const bool accept : {true, false}) {
      DYNAMIC_SECTION(name << (accept ? " accepted" : " refused (535)")) {
        bool credentials_ok = false;
        HostileServer server([&, name = name, exchange = exchange](Connection& c) {
          if (!open_starttls(c, {"PIPELINING"})) return;
          answer_ehlo(c, {"PIPELINING", "AUTH " + name});
          credentials_ok = exchange(c, accept);
          if (accept) serve_transaction(c);
        });
        smtp::SessionOptions options = hostile_auth_options(server.port());
        options.mechanisms = {name};
        if (sasl::uses_token(name)) options.oauth_token = [] { return crypto::Secret(kToken); };
        const auto [out, rec] = send_to(server, options);
        INFO(out.error_text() << rec.script_error);
        CHECK(credentials_ok);
        if (accept) {
          REQUIRE(out.result);
          CHECK(out.result->mechanism == name);
        } else {
          REQUIRE(out.error);
          CHECK(out.error->kind() == Kind::kAuth);
          CHECK(out.error->code() == 535);
        }

        std::vector<std::string> secrets = sent_secrets(rec);
        REQUIRE_FALSE(secrets.empty());
        for (const std::string& fixed :
             {std::string(kPassword), b64(kPassword), std::string(kToken), b64(kToken)})
          secrets.push_back(fixed);
        std::string error_text;
        if (out.error) error_text = out.error_text() + "\n" + out.error->reply_text();
        for (const auto& secret : secrets) {
          INFO("secret: " << secret);
          CHECK_FALSE(out.traced(secret));
          CHECK(error_text.find(secret) == std::string::npos);
        }
        CHECK(out.traced("AUTH " + name));  // the trace did show the exchange, redacted
      }
    }
  }
}
