// Lisp bindings of the SMTP engine: smtpmail-native-send and smtpmail-native-server-info.
#pragma once

#include "emacs/function_table.hpp"

namespace smtpn::emacs {

emacs_value lisp_send(Env& env, Args args);
emacs_value lisp_server_info(Env& env, Args args);
emacs_value lisp_send_batch(Env& env, Args args);

}  // namespace smtpn::emacs
