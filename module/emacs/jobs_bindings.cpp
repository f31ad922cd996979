#include "emacs/jobs_bindings.hpp"

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>

#include "common/heap_warm_up.hpp"
#include "common/message_file.hpp"
#include "emacs/errors.hpp"
#include "emacs/global_ref.hpp"
#include "emacs/outcome.hpp"
#include "emacs/session_args.hpp"
#include "jobs/runner.hpp"
#include "net/tls_context.hpp"
#include "smtp/commands.hpp"

namespace smtpn::emacs {
namespace {

constexpr std::size_t kDefaultMaxJobs = 4;

// What the main thread keeps per job: the Lisp functions to call, as global references
// (freed when the job's entry goes).
struct LispSide {
  GlobalRef callback;
  GlobalRef trace;
};

// Main-thread state. Workers only ever see the Runner. Never destroyed: at exit no env
// exists to free the references of jobs still running.
struct JobsState {
  std::unique_ptr<jobs::Runner> runner;
  GlobalRef doorbell_process;
  std::map<std::uint64_t, LispSide> lisp;
  std::uint64_t next_id = 1;
};
JobsState& state() {
  static JobsState& s = *new JobsState;
  return s;
}

// A job's user-ptr holds a shared_ptr: the runner may still own the job after Lisp lets go.
void job_finalizer(void* p) noexcept { delete static_cast<std::shared_ptr<jobs::Job>*>(p); }

std::shared_ptr<jobs::Job> job_arg(Env& env, emacs_value v) {
  if (!env.satisfies("user-ptrp", v)) env.wrong_type("smtpmail-native-job-p", v);
  if (env.user_finalizer(v) != job_finalizer) env.wrong_type("smtpmail-native-job-p", v);
  return *static_cast<std::shared_ptr<jobs::Job>*>(env.user_ptr(v));
}

// The doorbell: a pipe process whose filter is the drain function below, and the write end
// of its pipe for the runner.
int open_doorbell(Env& env) {
  auto& s = state();
  emacs_value process = env.call(
      "make-pipe-process", {env.intern(":name"), env.text(" *smtpmail-native-jobs*"), env.intern(":noquery"),
                            env.t(), env.intern(":coding"), env.intern("binary"), env.intern(":filter"),
                            env.intern("smtpmail-native--jobs-drain")});
  const int fd = env.open_channel(process);
  if (fd < 0) throw ModuleError(ErrorKind::kGeneric, "cannot open the channel for background sends");
  s.doorbell_process.rebind(env);
  s.doorbell_process = GlobalRef(env, process);
  return fd;
}

// The hidden process can be deleted from Lisp (list-processes, a cleanup of all processes);
// ringing it then fails (EPIPE, never SIGPIPE) and events wait. Every entry into the jobs
// API checks and gives the runner a new channel, which rings for whatever waited.
void ensure_doorbell(Env& env) {
  auto& s = state();
  if (!s.runner) return;
  if (!s.runner->doorbell_broken() && !env.is_nil(env.call("process-live-p", {s.doorbell_process.get()}))) return;
  s.runner->replace_doorbell(open_doorbell(env));
}

jobs::Runner& runner(Env& env) {
  auto& s = state();
  ensure_doorbell(env);
  if (!s.runner) {
    const int fd = open_doorbell(env);
    // The workers use OpenSSL until they are joined, and OpenSSL frees its global state from
    // an atexit handler registered when it initialises. Left to the static destructor, the
    // workers outlived that cleanup: their per-thread OpenSSL state (error queue, DRBGs and
    // what those hold) leaked, and a send still running at exit would use freed state.
    // atexit handlers run last-registered first: with OpenSSL initialised before ours is
    // registered, the workers are stopped and joined (each ending thread releasing its
    // OpenSSL state) before OpenSSL cleans up.
    net::initialise_openssl();
    s.runner = std::make_unique<jobs::Runner>(fd, kDefaultMaxJobs);
    std::atexit([] { state().runner.reset(); });
  }
  return *s.runner;
}

emacs_value outcome_value(Env& env, const jobs::Job& job) {
  if (job.result()) return send_result_plist(env, *job.result());
  if (job.error()) return error_value(env, to_module_error(*job.error(), ErrorKind::kCancelled));
  return error_value(env, ModuleError(ErrorKind::kGeneric, "the job ended without an outcome"));
}

// Calls FN with ARG; a signal from it is reported, not propagated, so one failing
// callback cannot strand the other jobs' events.
void call_reporting(Env& env, emacs_value fn, emacs_value arg) {
  try {
    env.call(fn, {arg});
  } catch (const PendingExit&) {
    const Env::Exit exit = env.take_exit();
    env.call("display-warning", {env.intern("smtpmail-native"),
                                 env.call("format", {env.text("Callback of a background send failed: %S"),
                                                     env.call("cons", {exit.symbol, exit.data})}),
                                 env.intern(":error")});
  }
}

}  // namespace

emacs_value lisp_send_async(Env& env, Args args) {
  emacs_value callback = args[0];
  if (!env.satisfies("functionp", callback)) env.wrong_type("functionp", callback);
  const KeywordArgs kw(env, args.subspan(1), send_keywords());
  ByteBuffer message = kw.required_message(":data");

  LispBoundary boundary(env);
  smtp::SessionOptions options = session_options(env, kw, boundary);
  // No Lisp may run on the worker: a password function is called now, here; its non-local
  // exit is raised again as it was (nothing has been started).
  try {
    if (options.password) {
      auto secret = std::make_shared<crypto::Secret>(options.password());
      options.password = [secret] { return *secret; };
    }
    if (options.oauth_token) {
      auto token = std::make_shared<crypto::Secret>(options.oauth_token());
      options.oauth_token = [token] { return *token; };
    }
  } catch (const smtp::CallbackAbort&) {
    boundary.end_with_error(smtp::SmtpError(smtp::SmtpError::Kind::kInterrupted, "stopped by the caller"));
  }
  options.trace = nullptr;
  options.interrupt = nullptr;
  options.progress = nullptr;
  smtp::MailOptions mail = mail_options(env, kw);
  try {
    smtp::validate_session(options);
    smtp::validate_mail(mail);
  } catch (const smtp::SmtpError& e) {
    smtp::SmtpError error = e;  // a bad argument is the caller's error, raised now
    error.phase = smtp::Phase::kArguments;
    error.delivery = smtp::Delivery::kNotSent;
    error.host = options.host;
    error.port = options.port;
    throw to_module_error(error, ErrorKind::kCancelled);
  }

  auto& s = state();
  auto job =
      std::make_shared<jobs::Job>(s.next_id++, std::move(options), std::move(mail), std::move(message));
  LispSide side;
  side.callback = GlobalRef(env, callback);
  if (const auto trace = kw.get(":trace"); trace && !env.is_nil(*trace)) side.trace = GlobalRef(env, *trace);
  const bool want_trace = static_cast<bool>(side.trace);
  jobs::Runner& r = runner(env);
  s.lisp[job->id()] = std::move(side);

  emacs_value handle = env.make_user_ptr(job_finalizer, new std::shared_ptr<jobs::Job>(job));
  r.submit(job, want_trace);
  return handle;
}

emacs_value lisp_job_status(Env& env, Args args) {
  const auto job = job_arg(env, args[0]);
  std::vector<emacs_value> plist{
      env.intern(":id"),    env.integer(static_cast<std::intmax_t>(job->id())),
      env.intern(":state"), env.intern(jobs::state_name(job->state())),
      env.intern(":phase"), env.intern(smtp::phase_symbol(job->phase())),
      env.intern(":activity"), env.text(smtp::phase_name(job->phase())),
      env.intern(":sent"),  env.integer(static_cast<std::intmax_t>(job->bytes_sent())),
      env.intern(":total"), env.integer(static_cast<std::intmax_t>(job->bytes_total()))};
  return env.list(plist);
}

emacs_value lisp_cancel_job(Env& env, Args args) {
  const auto job = job_arg(env, args[0]);
  const auto st = job->state();
  if (st != jobs::JobState::kQueued && st != jobs::JobState::kRunning) return env.nil();
  runner(env).cancel(job);
  return env.t();
}

emacs_value lisp_set_max_jobs(Env& env, Args args) {
  if (!env.satisfies("natnump", args[0])) env.wrong_type("natnump", args[0]);
  const auto n = env.to_integer(args[0]);
  if (n < 1) throw argument_error("at least one background send must be allowed");
  runner(env).set_max_concurrent(static_cast<std::size_t>(n));
  return args[0];
}

emacs_value lisp_warm_up(Env& env, Args args) {
  if (!env.satisfies("natnump", args[0])) env.wrong_type("natnump", args[0]);
  runner(env);  // the worker threads, the doorbell and OpenSSL, started now
  const auto size = static_cast<std::size_t>(env.to_integer(args[0]));
  MessageFile::warm_up(size);
  prepare_heap(size);  // here: it must run on Emacs's thread
  return env.t();
}

emacs_value lisp_jobs_drain(Env& env, Args) {
  auto& s = state();
  if (!s.runner) return env.nil();
  ensure_doorbell(env);
  // Trace lines go to each job's :trace function as one list per drain (and before its
  // callback), never one call per line.
  std::map<std::uint64_t, std::vector<std::string>> lines;
  auto hand_over = [&env](LispSide& side, std::vector<std::string>& pending) {
    if (!side.trace || pending.empty()) return;
    std::vector<emacs_value> values;
    for (const auto& line : pending) values.push_back(env.text(line));
    pending.clear();
    call_reporting(env, side.trace.get(), env.list(values));
  };
  for (const auto& event : s.runner->drain()) {
    auto it = s.lisp.find(event.job->id());
    if (it == s.lisp.end()) continue;
    LispSide& side = it->second;
    side.callback.rebind(env);
    side.trace.rebind(env);
    switch (event.kind) {
      case jobs::Event::Kind::kTrace:
        if (side.trace) lines[event.job->id()].push_back(event.text);
        break;
      case jobs::Event::Kind::kProgress: break;  // read with smtpmail-native-job-status
      case jobs::Event::Kind::kDone: {
        LispSide done = std::move(side);
        s.lisp.erase(it);
        hand_over(done, lines[event.job->id()]);
        call_reporting(env, done.callback.get(), outcome_value(env, *event.job));
        break;  // DONE's references are freed here
      }
    }
  }
  for (auto& [id, pending] : lines)
    if (auto it = s.lisp.find(id); it != s.lisp.end()) hand_over(it->second, pending);
  return env.nil();
}

}  // namespace smtpn::emacs
