// What a SCRAM login costs the client: the whole client side of one exchange (first message,
// PBKDF2 + proof, server signature check) at the iteration counts servers use (4096 is
// RFC 7677's floor and Dovecot's and Cyrus's default, 100000 a hardened server) and at the
// ceiling a server may demand (sasl::kDefaultScramMaxIterations), i.e. the longest a hostile
// server can keep a login hashing.
//   bench_scram [RUNS]  ->  one line per mechanism and count: median and min milliseconds
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "crypto/base64.hpp"
#include "sasl/mechanism.hpp"
#include "scram_server.hpp"

using namespace smtpn;

namespace {

std::string unb64(std::string_view s) { return crypto::base64_decode(s).value(); }

// One timed client exchange; the server's two messages were computed beforehand (the client
// nonce is fixed, so they are the same every time).
double login_ms(const std::string& mechanism, const sasl::Credentials& credentials,
                const sasl::MechanismOptions& options, const std::string& first_b64,
                const std::string& final_b64) {
  const auto start = std::chrono::steady_clock::now();
  auto m = sasl::make_mechanism(mechanism, credentials, options);
  auto first = m->initial_response();
  auto proof = m->respond(first_b64);
  auto done = m->respond(final_b64);
  if (!first.ok() || !proof.ok() || !done.ok() || m->finish()) {
    std::fprintf(stderr, "bench_scram: the exchange failed\n");
    std::exit(1);
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void measure(const std::string& mechanism, std::uint32_t iterations, int runs, const char* note) {
  const sasl::Credentials credentials{"user", crypto::Secret("pencil")};
  sasl::MechanismOptions options;
  options.client_nonce = "rOprNGfwEbeRWgbNEkqO";
  test::ScramServer server;
  server.digest = mechanism == "SCRAM-SHA-1" ? crypto::Digest::kSha1 : crypto::Digest::kSha256;
  server.iterations = iterations;
  auto m = sasl::make_mechanism(mechanism, credentials, options);
  const auto first = server.first(unb64(m->initial_response().value()->expose()));
  const std::string first_b64 = crypto::base64_encode(*first);
  const std::string final_b64 =
      crypto::base64_encode(server.final(unb64(m->respond(first_b64).value().expose())));
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i)
    ms.push_back(login_ms(mechanism, credentials, options, first_b64, final_b64));
  std::sort(ms.begin(), ms.end());
  std::printf("%-14s %8u iterations  median %8.2f ms  min %8.2f ms  (%d runs)%s\n", mechanism.c_str(),
              iterations, ms[ms.size() / 2], ms.front(), runs, note);
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 21;
  std::printf("SCRAM client cost per login (PBKDF2 dominates; server work excluded)\n");
  for (const char* mech : {"SCRAM-SHA-256", "SCRAM-SHA-1"}) {
    measure(mech, sasl::kScramMinIterations, runs, "  floor, common default");
    measure(mech, 100000, runs, "");
    measure(mech, sasl::kDefaultScramMaxIterations, std::max(3, runs / 3),
            "  the ceiling: worst a server may demand");
  }
  return 0;
}
