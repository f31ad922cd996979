#include "jobs/job.hpp"

#include "smtp/session.hpp"

namespace smtpn::jobs {

const char* state_name(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
  }
  return "unknown";
}

Job::Job(std::uint64_t id, smtp::SessionOptions options, smtp::MailOptions mail, ByteBuffer message)
    : id_(id), options_(std::move(options)), mail_(std::move(mail)), message_(std::move(message)) {}

void Job::run(const smtp::TraceFn& trace, const std::function<void()>& on_progress) {
  if (cancel_requested()) {
    auto& error = error_.emplace(smtp::SmtpError::Kind::kInterrupted, "cancelled before it started");
    error.phase = smtp::Phase::kConnect;
    error.delivery = smtp::Delivery::kNotSent;
    error.host = options_.host;
    error.port = options_.port;
    state_.store(JobState::kCancelled);
    return;
  }
  state_.store(JobState::kRunning);
  smtp::SessionOptions options = options_;
  options.trace = trace;
  options.interrupt = [this] { return cancel_requested(); };
  options.progress = [this, &on_progress](smtp::Phase phase, std::size_t sent, std::size_t total) {
    phase_.store(phase);
    if (phase == smtp::Phase::kData) {  // other phases carry no byte counts
      sent_.store(sent);
      total_.store(total);
    }
    if (on_progress) on_progress();
  };
  try {
    result_ = smtp::send_mail(options, mail_, message_);
    state_.store(JobState::kSucceeded);
  } catch (const smtp::SmtpError& e) {
    error_ = e;
    state_.store(e.kind() == smtp::SmtpError::Kind::kInterrupted ? JobState::kCancelled : JobState::kFailed);
  } catch (const std::exception& e) {
    // Where it failed is unknown, so whether the message went is too.
    auto& error = error_.emplace(smtp::SmtpError::Kind::kProtocol, std::string("internal error: ") + e.what());
    error.phase = phase_.load();
    error.delivery = smtp::Delivery::kUnknown;
    error.host = options_.host;
    error.port = options_.port;
    state_.store(JobState::kFailed);
  }
  // The password is in OPTIONS' provider: drop it. The message is freed here, on the worker,
  // not whenever Lisp's GC collects the job object (and not on Emacs's thread).
  options_.password = nullptr;
  message_ = ByteBuffer();
}

}  // namespace smtpn::jobs
