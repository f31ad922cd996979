// Channel binding over real TLS: an in-process OpenSSL SMTP server on 127.0.0.1 computes the
// binding on its own side of the connection (the exporter on TLS 1.3, the client's Finished
// on TLS 1.2), and SCRAM-SHA-256-PLUS through the real socket transport must satisfy it.
// A server bound to other data (a man in the middle's second leg) refuses; TLS 1.2 without
// the extended master secret gives no binding, so -PLUS is not used.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "crypto/base64.hpp"
#include "crypto/openssl_ptr.hpp"
#include "net/socket_transport.hpp"
#include "scram_server.hpp"
#include "smtp/session.hpp"
#include "support/loopback_listener.hpp"
#include "support/loopback_session.hpp"
#include "support/mail_options.hpp"

using namespace smtpn;

namespace {

using EvpPkeyPtr = crypto::OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;

// A throwaway self-signed certificate (the client runs with :verify nil: binding is the point).
struct SelfSigned {
  EvpPkeyPtr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  crypto::X509Ptr cert{X509_new()};
  SelfSigned() {
    REQUIRE(key);
    REQUIRE(cert);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"),
                               -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    X509_set_pubkey(cert.get(), key.get());
    REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);
  }
};

struct ServerConfig {
  int max_version = TLS1_3_VERSION;
  bool no_extended_master_secret = false;
  bool corrupt_binding = false;  // bind to other data, as a relaying man in the middle would
  std::string offered = "AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS SCRAM-SHA-256";
};

// One SMTP session: greeting, EHLO, STARTTLS, EHLO, AUTH SCRAM-*, MAIL, RCPT, DATA, QUIT.
class TlsSmtpServer {
 public:
  explicit TlsSmtpServer(ServerConfig config) : config_(std::move(config)) {
    ctx_.reset(SSL_CTX_new(TLS_server_method()));
    REQUIRE(ctx_);
    SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx_.get(), config_.max_version);
    if (config_.no_extended_master_secret) SSL_CTX_set_options(ctx_.get(), SSL_OP_NO_EXTENDED_MASTER_SECRET);
    REQUIRE(SSL_CTX_use_certificate(ctx_.get(), cert_.cert.get()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey(ctx_.get(), cert_.key.get()) == 1);
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsSmtpServer() {
    if (thread_.joinable()) thread_.join();
  }
  void join() { thread_.join(); }

  const std::string& port() const { return listener_.port(); }
  // Filled by the server thread; read after join().
  std::string binding_type, binding_data;
  test::ScramServer scram;
  std::vector<std::string> lines;

 private:
  void serve() {
    const int fd = ::accept(listener_.fd(), nullptr, nullptr);
    if (fd < 0) return;
    timeval tv{10, 0};  // never hang the suite
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    auto plain_write = [&](const std::string& s) { (void)!::write(fd, s.data(), s.size()); };
    auto plain_line = [&] {
      std::string line;
      char c;
      while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(line);
      return line;
    };
    plain_write("220 cb.test ESMTP\r\n");
    plain_line();  // EHLO
    plain_write("250-cb.test\r\n250 STARTTLS\r\n");
    if (plain_line() != "STARTTLS") {
      ::close(fd);
      return;
    }
    plain_write("220 go ahead\r\n");
    crypto::SslPtr ssl{SSL_new(ctx_.get())};
    SSL_set_fd(ssl.get(), fd);
    if (SSL_accept(ssl.get()) != 1) {
      ERR_clear_error();
      ::close(fd);
      return;
    }
    compute_binding(ssl.get());
    auto tls_write = [&](const std::string& s) {
      SSL_write(ssl.get(), s.data(), static_cast<int>(s.size()));
    };
    auto tls_line = [&] {
      std::string line;
      char c;
      while (SSL_read(ssl.get(), &c, 1) == 1 && c != '\n') line += c;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(line);
      return line;
    };
    scram.binding_type = binding_type;
    scram.binding_data = config_.corrupt_binding ? binding_data + "!" : binding_data;
    scram.offers_plus = !binding_type.empty();
    bool in_data = false;
    for (;;) {
      const std::string line = tls_line();
      if (in_data) {
        if (line == ".") {
          in_data = false;
          tls_write("250 2.0.0 queued\r\n");
        }
        continue;
      }
      if (line.starts_with("EHLO")) {
        tls_write("250-cb.test\r\n250 " + config_.offered + "\r\n");
      } else if (line.starts_with("AUTH SCRAM-")) {
        scram.digest =
            line.starts_with("AUTH SCRAM-SHA-256") ? crypto::Digest::kSha256 : crypto::Digest::kSha1;
        auto first = scram.first(crypto::base64_decode(line.substr(line.find(' ', 5) + 1)).value());
        if (!first) {
          tls_write("535 5.7.8 " + scram.error + "\r\n");
          continue;
        }
        tls_write("334 " + crypto::base64_encode(*first) + "\r\n");
        auto client_final = crypto::base64_decode(tls_line());
        const std::string server_final = scram.final(client_final ? client_final.value() : std::string());
        if (!scram.authenticated) {
          tls_write("535 5.7.8 " + server_final + "\r\n");
          continue;
        }
        tls_write("334 " + crypto::base64_encode(server_final) + "\r\n");
        tls_write(tls_line().empty() ? "235 2.7.0 ok\r\n" : "501 5.7.0 cancelled\r\n");
      } else if (line.starts_with("MAIL") || line.starts_with("RCPT")) {
        tls_write("250 2.1.0 ok\r\n");
      } else if (line == "DATA") {
        in_data = true;
        tls_write("354 go\r\n");
      } else if (line == "QUIT") {
        tls_write("221 2.0.0 bye\r\n");
        break;
      } else if (line.empty() && !SSL_get_shutdown(ssl.get())) {
        tls_write("500 5.5.2 what\r\n");
        if (lines.size() > 64) break;
      } else {
        break;
      }
    }
    SSL_shutdown(ssl.get());
    ::close(fd);
  }

  // This side's view, computed with OpenSSL directly (not with the module's code).
  void compute_binding(SSL* ssl) {
    if (SSL_version(ssl) == TLS1_3_VERSION) {
      std::string data(32, '\0');
      static constexpr char kLabel[] = "EXPORTER-Channel-Binding";
      // use_context 0: in TLS 1.3 no context and an empty one are the same (RFC 8446 §7.5).
      if (SSL_export_keying_material(ssl, reinterpret_cast<unsigned char*>(data.data()), data.size(), kLabel,
                                     sizeof kLabel - 1, nullptr, 0, 0) == 1) {
        binding_type = "tls-exporter";
        binding_data = data;
      }
    } else if (SSL_get_extms_support(ssl) == 1) {
      // A full handshake: the client's Finished came first, the server has it as the peer's.
      char buf[64];
      const std::size_t n = SSL_get_peer_finished(ssl, buf, sizeof buf);
      binding_type = "tls-unique";
      binding_data.assign(buf, n);
    }
  }

  ServerConfig config_;
  SelfSigned cert_;
  test::LoopbackListener listener_{1};
  crypto::SslCtxPtr ctx_;
  std::thread thread_;
};

smtp::SessionOptions client_options(const std::string& port) {
  smtp::SessionOptions o = test::loopback_session(port, smtp::StreamType::kStartTls, 10);
  o.helo = "client.test";
  o.tls.verify = false;
  o.user = "user";
  o.password = [] { return crypto::Secret("pencil"); };
  return o;
}

}  // namespace

TEST_CASE("SCRAM-SHA-256-PLUS with tls-exporter satisfies a TLS 1.3 server's own binding", "[tls][plus]") {
  TlsSmtpServer server(ServerConfig{});
  std::vector<std::string> trace;
  auto options = client_options(server.port());
  options.trace = [&](std::string_view l) { trace.emplace_back(l); };
  const auto result = smtp::send_mail(options, test::mail_from_to("a@example.org", "b@example.org"),
                                      "Subject: cb\r\n\r\nbound\r\n");
  server.join();
  CHECK(result.mechanism == "SCRAM-SHA-256-PLUS");
  CHECK(server.binding_type == "tls-exporter");
  CHECK(server.binding_data.size() == 32);
  CHECK(server.scram.authenticated);
  CHECK(result.tls->protocol == "TLSv1.3");
}

TEST_CASE("SCRAM-SHA-1-PLUS with tls-unique satisfies a TLS 1.2 server's own binding", "[tls][plus]") {
  ServerConfig config;
  config.max_version = TLS1_2_VERSION;
  config.offered = "AUTH SCRAM-SHA-1-PLUS SCRAM-SHA-1";
  TlsSmtpServer server(config);
  const auto result = smtp::send_mail(client_options(server.port()),
                                      test::mail_from_to("a@example.org", "b@example.org"), "x\r\n");
  server.join();
  CHECK(result.mechanism == "SCRAM-SHA-1-PLUS");
  CHECK(server.binding_type == "tls-unique");
  CHECK(server.binding_data.size() == 12);  // the Finished verify_data of TLS 1.2
  CHECK(server.scram.authenticated);
}

TEST_CASE("a server bound to other data refuses the proof; no mail goes", "[tls][plus]") {
  ServerConfig config;
  config.corrupt_binding = true;
  TlsSmtpServer server(config);
  try {
    smtp::send_mail(client_options(server.port()), test::mail_from_to("a@example.org", "b@example.org"),
                    "x\r\n");
    FAIL("the session succeeded against a server bound to another channel");
  } catch (const smtp::SmtpError& e) {
    CHECK(e.kind() == smtp::SmtpError::Kind::kAuth);
    CHECK(e.code() == 535);
  }
  server.join();
  CHECK_FALSE(server.scram.authenticated);
  CHECK(server.scram.error == "channel-bindings-dont-match");
  for (const auto& l : server.lines) CHECK_FALSE(l.starts_with("MAIL"));
}

TEST_CASE("TLS 1.2 without extended master secret: no binding, so no -PLUS", "[tls][plus]") {
  ServerConfig config;
  config.max_version = TLS1_2_VERSION;
  config.no_extended_master_secret = true;
  TlsSmtpServer server(config);
  const auto result = smtp::send_mail(client_options(server.port()),
                                      test::mail_from_to("a@example.org", "b@example.org"), "x\r\n");
  server.join();
  CHECK(result.mechanism == "SCRAM-SHA-256");
  CHECK(server.binding_type.empty());
  CHECK(server.scram.authenticated);
}

TEST_CASE("the transport's binding data equals what the server computed", "[tls][plus]") {
  for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    ServerConfig config;
    config.max_version = version;
    TlsSmtpServer server(config);
    auto transport =
        net::SocketTransport::connect("127.0.0.1", server.port(), net::Deadline::after_seconds(10), nullptr);
    CHECK_FALSE(transport->channel_binding());  // no TLS yet
    char buf[256];
    // Whole replies only: the last line ends in CRLF and has a space after its code.
    auto complete = [](const std::string& got) {
      if (!got.ends_with("\r\n")) return false;
      const std::size_t end = got.rfind("\r\n", got.size() - 3);
      const std::size_t start = end == std::string::npos ? 0 : end + 2;
      return got.size() - start > 4 && got[start + 3] == ' ';
    };
    auto read_reply = [&] {
      std::string got;
      while (!complete(got))
        got.append(buf, transport->read_some(buf, sizeof buf, net::Deadline::after_seconds(10)));
      return got;
    };
    read_reply();
    transport->write_all("EHLO x\r\n", net::Deadline::after_seconds(10));
    read_reply();
    transport->write_all("STARTTLS\r\n", net::Deadline::after_seconds(10));
    read_reply();
    net::TlsOptions tls;
    tls.verify = false;
    tls.server_name = "localhost";
    transport->start_tls(tls, net::Deadline::after_seconds(10));
    const auto binding = transport->channel_binding();
    transport->write_all("QUIT\r\n", net::Deadline::after_seconds(10));
    read_reply();
    transport->close();
    server.join();
    REQUIRE(binding);
    CHECK(binding->type == server.binding_type);
    CHECK(binding->data == server.binding_data);
  }
}
