// Lisp bindings of the SMTP engine: smtpmail-native-send and smtpmail-native-server-info.
#pragma once

#include "emacs/function_table.hpp"

namespace smtpn::emacs {

LispFunction lisp_send, lisp_server_info, lisp_send_batch;

}  // namespace smtpn::emacs
