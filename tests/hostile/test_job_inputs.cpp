// A background job (jobs::Job) lets go of the password provider, the OAuth token provider
// and the message as soon as it ends — delivered, failed, or cancelled before or during the
// session — so a finished job that Lisp keeps (the jobs list, a history) holds no secret.
#include <memory>

#include "catch.hpp"
#include "common/byte_buffer.hpp"
#include "crypto/secret.hpp"
#include "hostile_client.hpp"
#include "hostile_server.hpp"
#include "jobs/job.hpp"

using namespace smtpn;
using namespace smtpn::hostile;

namespace {

// The inputs of one job, and weak references that show when the job let go of them.
struct Inputs {
  std::weak_ptr<crypto::Secret> password;
  std::weak_ptr<crypto::Secret> token;
};

std::shared_ptr<jobs::Job> make_job(const std::string& port, Inputs& seen) {
  smtp::SessionOptions options = hostile_auth_options(port);
  auto password = std::make_shared<crypto::Secret>(kPassword);
  auto token = std::make_shared<crypto::Secret>("ya29.job-token");
  seen.password = password;
  seen.token = token;
  // As lisp_send_async builds them: the providers own the only copies.
  options.password = [password] { return *password; };
  options.oauth_token = [token] { return *token; };
  options.mechanisms = {"PLAIN"};
  ByteBuffer message(kMessage.size());
  std::copy(kMessage.begin(), kMessage.end(), message.data());
  return std::make_shared<jobs::Job>(1, std::move(options), hostile_mail(), std::move(message));
}

void check_released(const jobs::Job& job, const Inputs& seen) {
  CHECK_FALSE(job.holds_inputs());
  CHECK(seen.password.expired());
  CHECK(seen.token.expired());
}

}  // namespace

TEST_CASE("a job drops its credentials and message when it is delivered", "[hostile][jobs]") {
  HostileServer server([](Connection& c) {
    if (!open_starttls(c, {"AUTH PLAIN"})) return;
    answer_ehlo(c, {"AUTH PLAIN"});
    c.expect("AUTH PLAIN ");
    c.reply("235 2.7.0 accepted");
    serve_transaction(c);
  });
  Inputs seen;
  const auto job = make_job(server.port(), seen);
  CHECK(job->holds_inputs());
  CHECK_FALSE(seen.password.expired());
  job->run(nullptr, nullptr);
  server.finish();
  INFO((job->error() ? job->error()->what() : ""));
  REQUIRE(job->state() == jobs::JobState::kSucceeded);
  check_released(*job, seen);
}

TEST_CASE("a job drops its credentials and message when it fails", "[hostile][jobs]") {
  HostileServer server([](Connection& c) {
    c.reply("554 5.3.2 not today");
    c.wait_for_close();
  });
  Inputs seen;
  const auto job = make_job(server.port(), seen);
  job->run(nullptr, nullptr);
  server.finish();
  REQUIRE(job->state() == jobs::JobState::kFailed);
  check_released(*job, seen);
}

TEST_CASE("a job drops its credentials and message when it is cancelled", "[hostile][jobs]") {
  std::shared_ptr<jobs::Job> job;
  Inputs seen;
  SECTION("before it started") {
    job = make_job("1", seen);
    job->request_cancel();
    job->run(nullptr, nullptr);
  }
  SECTION("during the session") {
    HostileServer server([&job](Connection& c) {
      greet(c);
      c.expect("EHLO");
      job->request_cancel();  // and say nothing more: the client must notice the flag
      c.wait_for_close();
    });
    job = make_job(server.port(), seen);
    job->run(nullptr, nullptr);
    server.finish();
  }
  REQUIRE(job->state() == jobs::JobState::kCancelled);
  check_released(*job, seen);
}
