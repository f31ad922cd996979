// Turning smtpmail-native-send's keyword arguments into SessionOptions and MailOptions.
// Shared by the synchronous and async entries.
#pragma once

#include "emacs/boundary.hpp"
#include "emacs/errors.hpp"
#include "emacs/keyword_args.hpp"
#include "smtp/error.hpp"
#include "smtp/options.hpp"

namespace smtpn::emacs {

// Every keyword smtpmail-native-send accepts; server-info takes the connection subset.
std::span<const char* const> send_keywords();
std::span<const char* const> connection_keywords();
// The connection keywords plus :messages, for smtpmail-native-send-batch.
std::span<const char* const> batch_keywords();
// The connection keywords plus :untrusted-ok and :login-only, for smtpmail-native-server-info.
std::span<const char* const> probe_keywords();
// The keywords of one message plist in :messages.
std::span<const char* const> message_keywords();

// The connection part (:host … :trace). Function-valued :password and :trace reach Lisp
// through BOUNDARY, so the options are only valid during this call on the main thread.
smtp::SessionOptions session_options(Env& env, const KeywordArgs& args, LispBoundary& boundary);
smtp::MailOptions mail_options(Env& env, const KeywordArgs& args);

}  // namespace smtpn::emacs
