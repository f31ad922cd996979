// Lisp bindings of message files: a memory file Emacs writes a message into with
// write-region, then names as a send's :data, so no Lisp string of the message is made.
#pragma once

#include <optional>

#include "common/byte_buffer.hpp"
#include "emacs/function_table.hpp"

namespace smtpn::emacs {

LispFunction lisp_message_file, lisp_message_file_bytes, lisp_message_file_release;

// The bytes of the message file V names, or nullopt when V is not a message file.
std::optional<ByteBuffer> message_file_bytes(Env& env, emacs_value v);

}  // namespace smtpn::emacs
