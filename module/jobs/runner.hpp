// Runner: a bounded pool of worker threads running Jobs, and the completion queue the main
// thread drains. Workers never call Emacs: they queue an event and ring the doorbell (one
// byte on the pipe Emacs gave us with open_channel); the pipe process's filter drains.
// The doorbell may break (the pipe process deleted): ringing then fails quietly, the events
// wait, and the main thread hands over a new channel with replace_doorbell.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "jobs/job.hpp"

namespace smtpn::jobs {

struct Event {
  enum class Kind { kTrace, kProgress, kDone };
  Kind kind;
  std::shared_ptr<Job> job;
  std::string text;  // the trace line
};

class Runner {
 public:
  // Takes ownership of DOORBELL_FD.
  Runner(int doorbell_fd, std::size_t max_concurrent);
  ~Runner();  // cancels every job, joins the workers, closes the doorbell
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  void submit(std::shared_ptr<Job> job, bool want_trace);
  // Cancels JOB; a job still waiting for a worker finishes at once (its kDone is queued).
  void cancel(const std::shared_ptr<Job>& job);
  void set_max_concurrent(std::size_t n);
  std::size_t max_concurrent() const;

  // Main thread: every event queued since the last drain, in order.
  std::vector<Event> drain();

  // True once a ring found the reader gone (EPIPE): events are waiting for a new channel.
  bool doorbell_broken() const;
  // Main thread: closes the old doorbell, takes ownership of FD and rings it if events wait.
  void replace_doorbell(int fd);

 private:
  struct Pending {
    std::shared_ptr<Job> job;
    bool want_trace;
  };
  void worker_loop();
  void post(Event event);  // takes the lock
  void ring_locked();

  int doorbell_fd_;
  bool doorbell_broken_ = false;
  mutable std::mutex mu_;
  std::condition_variable work_ready_;
  std::deque<Pending> pending_;
  std::vector<std::shared_ptr<Job>> running_;
  std::vector<std::thread> workers_;
  std::vector<Event> events_;
  std::size_t max_concurrent_;
  std::size_t busy_ = 0;
  bool rung_ = false;
  bool stopping_ = false;
};

}  // namespace smtpn::jobs
