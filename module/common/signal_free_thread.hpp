// Threads started with every signal blocked. Emacs's handlers (SIGIO, SIGCHLD, SIGALRM, …)
// must run on its main thread, and a write to a closed socket or pipe from such a thread
// fails with EPIPE instead of killing Emacs with SIGPIPE.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace smtpn {

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

}  // namespace smtpn
