#include "jobs/runner.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

namespace smtpn::jobs {
namespace {

// A worker thread with every signal blocked: Emacs's handlers (SIGIO, SIGCHLD, SIGALRM, …)
// must run on the main thread, and a write to a closed socket or to the doorbell after Emacs
// closed it at exit must fail with EPIPE rather than kill Emacs with SIGPIPE.
class AllSignalsBlocked {
 public:
  AllSignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved_);
  }
  ~AllSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  AllSignalsBlocked(const AllSignalsBlocked&) = delete;
  AllSignalsBlocked& operator=(const AllSignalsBlocked&) = delete;

 private:
  sigset_t saved_;
};

template <typename F>
std::thread start_signal_free_thread(F&& body) {
  const AllSignalsBlocked blocked;  // the new thread inherits the calling thread's mask
  return std::thread(std::forward<F>(body));
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
}

void Runner::ring_locked() {
  // One byte per batch: the filter drains everything queued, so later events ride along.
  if (rung_) return;
  rung_ = true;
  const char byte = 'j';
  [[maybe_unused]] const ssize_t n = ::write(doorbell_fd_, &byte, 1);
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
