// Lisp bindings of background sends: smtpmail-native-send-async, job status and cancel,
// and the doorbell filter that drains completions on the main thread.
#pragma once

#include "emacs/function_table.hpp"

namespace smtpn::emacs {

emacs_value lisp_send_async(Env& env, Args args);
emacs_value lisp_job_status(Env& env, Args args);
emacs_value lisp_cancel_job(Env& env, Args args);
emacs_value lisp_set_max_jobs(Env& env, Args args);
emacs_value lisp_warm_up(Env& env, Args args);
emacs_value lisp_jobs_drain(Env& env, Args args);

}  // namespace smtpn::emacs
