// Lisp bindings of background sends: smtpmail-native-send-async, job status and cancel,
// and the doorbell filter that drains completions on the main thread.
#pragma once

#include "emacs/function_table.hpp"

namespace smtpn::emacs {

LispFunction lisp_send_async, lisp_job_status, lisp_cancel_job, lisp_set_max_jobs, lisp_warm_up,
    lisp_jobs_drain;

}  // namespace smtpn::emacs
