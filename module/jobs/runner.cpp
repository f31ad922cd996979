#include "jobs/runner.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "common/signal_free_thread.hpp"

namespace smtpn::jobs {
namespace {

// Writes BYTE to FD without ever raising SIGPIPE in this thread. The main thread rings too
// (cancelling a queued job), and there SIGPIPE is not blocked: Emacs would die (exit 141)
// if the pipe process had been deleted. A pipe is not a socket, so send(MSG_NOSIGNAL) is
// not available: SIGPIPE is blocked around the write, and one the write raised is consumed
// (it is thread-directed, so it is pending here) before the mask is restored.
// Returns false when the reader is gone.
bool write_without_sigpipe(int fd, char byte) {
  sigset_t pipe_only, saved, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &saved);
  sigemptyset(&pending);
  sigpending(&pending);
  const bool already_pending = sigismember(&pending, SIGPIPE) == 1;
  ssize_t n;
  do {
    n = ::write(fd, &byte, 1);
  } while (n < 0 && errno == EINTR);
  const bool reader_gone = n < 0 && errno == EPIPE;
  if (reader_gone && !already_pending) {
    const timespec now{0, 0};
    while (sigtimedwait(&pipe_only, nullptr, &now) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  return !reader_gone;
}

}  // namespace

Runner::Runner(int doorbell_fd, std::size_t max_concurrent)
    : doorbell_fd_(doorbell_fd), max_concurrent_(std::max<std::size_t>(1, max_concurrent)) {}

Runner::~Runner() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& p : pending_) p.job->request_cancel();
    for (auto& job : running_) job->request_cancel();
  }
  work_ready_.notify_all();
  for (auto& t : workers_) t.join();
  if (doorbell_fd_ >= 0) ::close(doorbell_fd_);
}

void Runner::ring_locked() {
  // One byte per batch: the filter drains everything queued, so later events ride along.
  if (rung_ || doorbell_broken_) return;
  rung_ = true;
  if (!write_without_sigpipe(doorbell_fd_, 'j')) doorbell_broken_ = true;
}

bool Runner::doorbell_broken() const {
  std::lock_guard lock(mu_);
  return doorbell_broken_;
}

void Runner::replace_doorbell(int fd) {
  std::lock_guard lock(mu_);
  if (doorbell_fd_ >= 0) ::close(doorbell_fd_);
  doorbell_fd_ = fd;
  doorbell_broken_ = false;
  rung_ = false;
  if (!events_.empty()) ring_locked();  // what waited while the bell was broken
}

void Runner::post(Event event) {
  std::lock_guard lock(mu_);
  if (event.kind == Event::Kind::kProgress) {
    // Progress is a level, not a stream: one pending notice per job is enough.
    const bool queued = std::any_of(events_.begin(), events_.end(), [&](const Event& e) {
      return e.kind == Event::Kind::kProgress && e.job == event.job;
    });
    if (queued) return;
  }
  events_.push_back(std::move(event));
  ring_locked();
}

void Runner::submit(std::shared_ptr<Job> job, bool want_trace) {
  {
    std::lock_guard lock(mu_);
    pending_.push_back({std::move(job), want_trace});
    // A thread per concurrent slot, started on demand and kept for later jobs.
    if (workers_.size() < max_concurrent_ && busy_ + pending_.size() > workers_.size())
      workers_.push_back(start_signal_free_thread([this] { worker_loop(); }));
  }
  work_ready_.notify_one();
}

void Runner::cancel(const std::shared_ptr<Job>& job) {
  job->request_cancel();
  std::lock_guard lock(mu_);
  const auto it =
      std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) { return p.job == job; });
  if (it == pending_.end()) return;  // running: the session sees the flag within ~50 ms
  pending_.erase(it);
  job->run(nullptr, nullptr);  // records the cancellation without connecting
  events_.push_back({Event::Kind::kDone, job, {}});
  ring_locked();
}

void Runner::set_max_concurrent(std::size_t n) {
  std::lock_guard lock(mu_);
  max_concurrent_ = std::max<std::size_t>(1, n);
  while (workers_.size() < max_concurrent_ && busy_ + pending_.size() > workers_.size())
    workers_.push_back(start_signal_free_thread([this] { worker_loop(); }));
}

std::size_t Runner::max_concurrent() const {
  std::lock_guard lock(mu_);
  return max_concurrent_;
}

std::vector<Event> Runner::drain() {
  std::lock_guard lock(mu_);
  std::vector<Event> out;
  out.swap(events_);
  rung_ = false;
  return out;
}

void Runner::worker_loop() {
  for (;;) {
    Pending next;
    {
      std::unique_lock lock(mu_);
      work_ready_.wait(lock, [&] { return stopping_ || (!pending_.empty() && busy_ < max_concurrent_); });
      if (stopping_ && pending_.empty()) return;
      if (pending_.empty() || busy_ >= max_concurrent_) continue;
      next = std::move(pending_.front());
      pending_.pop_front();
      ++busy_;
      running_.push_back(next.job);
    }
    const auto job = next.job;
    smtp::TraceFn trace;
    if (next.want_trace)
      trace = [this, job](std::string_view line) { post({Event::Kind::kTrace, job, std::string(line)}); };
    job->run(trace, [this, job] { post({Event::Kind::kProgress, job, {}}); });
    {
      std::lock_guard lock(mu_);
      --busy_;
      running_.erase(std::find(running_.begin(), running_.end(), job));
      events_.push_back({Event::Kind::kDone, job, {}});
      ring_locked();
    }
    work_ready_.notify_one();
  }
}

}  // namespace smtpn::jobs
