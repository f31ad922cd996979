// The one table of every Lisp function the module defines, with its user-facing docstring.
#include <array>

#include "emacs/crypto_bindings.hpp"
#include "emacs/function_table.hpp"
#include "emacs/jobs_bindings.hpp"
#include "emacs/message_file_bindings.hpp"
#include "emacs/send_bindings.hpp"
#ifdef SMTPN_LEAK_PROBE
#include "emacs/leak_probe.hpp"
#endif

namespace smtpn::emacs {
namespace {

constexpr std::array kFunctions = {
    FunctionSpec{"smtpmail-native-version", 0, 0,
                 "Return the version string of the loaded smtpmail-native module.\n"
                 "The Lisp layer refuses a module whose version differs from its own.\n\n"
                 "(fn)",
                 lisp_version},
    FunctionSpec{"smtpmail-native-hmac-md5", 2, 3,
                 "Return the HMAC-MD5 (RFC 2104) of DATA under KEY, computed by OpenSSL.\n"
                 "KEY and DATA are strings: a unibyte string is used byte for byte, a\n"
                 "multibyte one as its UTF-8 encoding.  A multibyte string holding raw\n"
                 "8-bit bytes signals `wrong-type-argument'.\n"
                 "The result is 32 lowercase hex digits, or with BINARY non-nil the 16\n"
                 "raw bytes as a unibyte string (like `secure-hash').\n\n"
                 "(fn KEY DATA &optional BINARY)",
                 lisp_hmac_md5},
    FunctionSpec{"smtpmail-native-base64-encode", 1, 1,
                 "Return STRING encoded as base64 (RFC 4648 standard alphabet).\n"
                 "The result is padded with `=' and has no line breaks.  STRING is taken\n"
                 "byte for byte when unibyte and as UTF-8 when multibyte.\n\n"
                 "(fn STRING)",
                 lisp_base64_encode},
    FunctionSpec{"smtpmail-native-base64-decode", 1, 1,
                 "Return the bytes that base64 STRING encodes, as a unibyte string.\n"
                 "Decoding is strict: whitespace, characters outside the RFC 4648\n"
                 "standard alphabet, missing or misplaced padding, unused bits set and\n"
                 "data after the padding all signal `smtpmail-native-decode-error',\n"
                 "whose data is (MESSAGE :offset OFFSET) with OFFSET the position at fault.\n\n"
                 "(fn STRING)",
                 lisp_base64_decode},
    FunctionSpec{"smtpmail-native-cram-md5-response", 3, 3,
                 "Return the CRAM-MD5 (RFC 2195) answer to a server challenge.\n"
                 "USER and PASSWORD are strings; CHALLENGE is the base64 text the\n"
                 "server sent after \"334 \".  The result is the base64 line to send\n"
                 "back: USER, a space and the hex HMAC-MD5 of the challenge keyed with\n"
                 "PASSWORD.  A CHALLENGE that is not valid base64 signals\n"
                 "`smtpmail-native-decode-error' with data (MESSAGE :offset OFFSET); one\n"
                 "longer than 4096 characters signals\n"
                 "`smtpmail-native-protocol-error'.\n\n"
                 "(fn USER PASSWORD CHALLENGE)",
                 lisp_cram_md5_response},
    FunctionSpec{"smtpmail-native-send", 0, emacs_variadic_function,
                 "Send one message over a complete SMTP session and return the outcome.\n"
                 "ARGS are keyword arguments:\n"
                 ":host, :port (number or service name; default 25, or 465 for TLS)\n"
                 ":stream-type  nil = STARTTLS when offered, `starttls' = required,\n"
                 "              `ssl' or `tls' = implicit TLS, `plain' = never TLS\n"
                 ":helo (default `system-name', asked at most once a minute), :user,\n"
                 "  :password (a string, or a\n"
                 "  function returning one, called at most once, only when a mechanism\n"
                 "  needs it; if it signals or throws, the session is closed with QUIT\n"
                 "  and that signal or throw is raised again as it was);\n"
                 "  user and password are prepared with SASLprep (RFC 4013) here\n"
                 ":mechanisms   allowed SASL mechanisms in order, e.g. (scram-sha-256\n"
                 "  plain): restricts and orders, never enables; nil: the module's own\n"
                 "  order, strongest first (see the manual)\n"
                 ":oauth2-token  OAuth 2 access token for XOAUTH2/OAUTHBEARER (a string,\n"
                 "  or a function returning one); when given, those mechanisms lead\n"
                 ":scram-max-iterations  highest SCRAM iteration count a server may\n"
                 "  demand (default 600000; the floor is 4096)\n"
                 ":allow-plaintext-auth  nil (never), t, or `loopback' (the default):\n"
                 "  when AUTH may run without TLS (every mechanism but EXTERNAL: even\n"
                 "  CRAM-MD5, DIGEST-MD5 and SCRAM give away a crackable response)\n"
                 ":trust-file   PEM file of CAs trusted instead of the system store\n"
                 ":extra-trust-files  PEM files trusted in addition to the system store\n"
                 ":client-cert, :client-key  PEM files for TLS client authentication\n"
                 ":fingerprint  SHA-256 of the server certificate (hex, colons allowed);\n"
                 "  a matching certificate is trusted, a mismatch aborts\n"
                 ":verify       nil to skip certificate verification (default t)\n"
                 ":from, :recipients (list of strings), :data (the message; unibyte, or\n"
                 "  multibyte = UTF-8), :timeout (seconds per command, default 60)\n"
                 ":dsn-notify (list of success, failure, delay, or never), :dsn-ret\n"
                 "  (full or hdrs), :envid, :allow-partial (deliver to the accepted\n"
                 "  recipients when others are rejected), :trace (a function called\n"
                 "  with a list of transcript lines after each phase and at the end,\n"
                 "  also on failure; secrets are redacted; a signal from it stops the\n"
                 "  session unless the message was already accepted).\n"
                 "Strings made from the server's bytes are multibyte when they are\n"
                 "valid UTF-8 and unibyte otherwise.\n"
                 "Return a plist (:delivery DELIVERY :code CODE :enhanced STATUS\n"
                 ":reply TEXT :accepted RECIPIENTS :rejected REJECTED :auth MECHANISM\n"
                 ":host HOST :port PORT :tls PROTOCOL-AND-CIPHER :capabilities\n"
                 "EHLO-KEYWORDS): DELIVERY is `sent', or `partial' when :allow-partial\n"
                 "let some recipients be refused; CODE, STATUS (\"2.0.0\") and TEXT\n"
                 "\\(lines joined by newlines, without the code) are the final reply's;\n"
                 "REJECTED is a list of (ADDRESS :code N :enhanced S :reply TEXT);\n"
                 "MECHANISM the SASL mechanism name (\"PLAIN\") or nil.\n"
                 "Failures signal a child of `smtpmail-native-error' with data\n"
                 "\\(MESSAGE . PLIST): MESSAGE for people, PLIST for programs, with\n"
                 ":phase (arguments, connect, tls, greeting, hello, starttls, auth,\n"
                 "envelope, data or quit), :delivery (not-sent, or unknown once the\n"
                 "message's end was written and the server's verdict was not read),\n"
                 ":code, :enhanced, :reply (the refusing reply, if any), :rejected,\n"
                 ":auth, :host and :port.  A refused server certificate adds\n"
                 ":verify-error (self-signed, unknown-issuer, expired, not-yet-valid,\n"
                 "hostname-mismatch, revoked, pin-mismatch or other), :certificate (a\n"
                 "plist of :subject :issuer :not-before :not-after :sha256) and :chain\n"
                 "\\(such plists, the server's first); a stream type wrong for the port\n"
                 "adds :hint (`use-starttls' or `use-ssl').  \\[keyboard-quit] stops\n"
                 "the session and signals `smtpmail-native-interrupted' (with that\n"
                 "PLIST); once the server has accepted the message, the result is\n"
                 "returned instead.\n\n"
                 "(fn &rest ARGS)",
                 lisp_send},
    FunctionSpec{"smtpmail-native-send-batch", 0, emacs_variadic_function,
                 "Send several messages over one SMTP session, with RSET between them.\n"
                 "ARGS are the connection keywords of `smtpmail-native-send' and\n"
                 ":messages, a list of plists with that function's message keywords\n"
                 "\\=(:from, :recipients, :data, :dsn-notify, :dsn-ret, :envid,\n"
                 ":allow-partial).  Return one outcome per message, in order: the plist\n"
                 "`smtpmail-native-send' returns, or (ERROR-SYMBOL MESSAGE . PLIST) for\n"
                 "the error it would have signalled (same PLIST keys).  A refused message\n"
                 "does not stop the others; once the connection is lost, every later\n"
                 "message gets a `smtpmail-native-connection-error' with :delivery\n"
                 "`not-sent'.  A signal or throw from a callback stops the session\n"
                 "\\(closed with QUIT when possible) and is raised again as it was.\n"
                 "With :on-outcome, a function called with (INDEX OUTCOME) as soon as\n"
                 "each message's outcome is known (a queue can drop a sent message\n"
                 "before the next one goes); OUTCOME is the very object (`eq') the\n"
                 "returned list holds.\n\n"
                 "(fn &rest ARGS)",
                 lisp_send_batch},
    FunctionSpec{"smtpmail-native-server-info", 0, emacs_variadic_function,
                 "Connect to an SMTP server and describe it, without sending mail.\n"
                 "ARGS are the connection keywords of `smtpmail-native-send' (:host,\n"
                 ":port, :stream-type, :helo, :user, :password, :mechanisms,\n"
                 ":allow-plaintext-auth, :trust-file, :extra-trust-files, :client-cert,\n"
                 ":client-key, :fingerprint, :verify, :timeout, :trace) and:\n"
                 ":untrusted-ok  non-nil: a certificate that fails verification (or a\n"
                 "  :fingerprint pin) does not signal; the report says so, and nothing\n"
                 "  is authenticated over that connection\n"
                 ":login-only  non-nil: also log in with :user and :password, then QUIT\n"
                 "  (no mail); the outcome is in :auth or :auth-error, never signalled.\n"
                 "Return a plist with :greeting, :capabilities-before-tls,\n"
                 ":capabilities-after-tls, :tls (version and cipher), :tls-version,\n"
                 ":cipher, :verified, :verify-error (nil, or a symbol: self-signed,\n"
                 "unknown-issuer, expired, not-yet-valid, hostname-mismatch, revoked,\n"
                 "pin-mismatch, other), :verify-result (OpenSSL's words), :pinned,\n"
                 ":certificate (the server's own certificate: a plist of :subject\n"
                 ":issuer :not-before :not-after :sha256), :chain (such plists, the\n"
                 "server's first; also as :certificates), :fingerprint (its SHA-256,\n"
                 "lowercase hex with colons), :mechanisms (offered), :chosen-mechanism\n"
                 "\\=(what a send would use), :connect-ms, :tls-ms and :round-trip-ms\n"
                 "\\=(the first EHLO) as floats; with :login-only, :auth (the name of\n"
                 "the mechanism that logged in, e.g. \"PLAIN\", or nil) and :auth-error\n"
                 "\\=(nil, or (ERROR-SYMBOL MESSAGE . PLIST)); :host and :port.\n"
                 "Failures signal as for `smtpmail-native-send', with :delivery nil;\n"
                 "without :untrusted-ok, that includes a refused certificate.\n\n"
                 "(fn &rest ARGS)",
                 lisp_server_info},
    FunctionSpec{"smtpmail-native-send-async", 1, emacs_variadic_function,
                 "Start sending one message in the background and return its job.\n"
                 "ARGS are the keyword arguments of `smtpmail-native-send'.  The session\n"
                 "runs on a worker thread; Emacs keeps running.  When it ends, CALLBACK\n"
                 "is called on the main thread with the plist `smtpmail-native-send'\n"
                 "returns, or with (ERROR-SYMBOL MESSAGE . PLIST) for the error it would\n"
                 "signal, same PLIST keys (`smtpmail-native-cancelled' after\n"
                 "`smtpmail-native-cancel-job', with :delivery `unknown' if the\n"
                 "message's end was already written).\n"
                 "A :password or :oauth2-token function is called now, before the job\n"
                 "starts (its signal or throw is raised here); a :trace function is\n"
                 "called on the main thread with lists of lines.  At most\n"
                 "`smtpmail-native-set-max-jobs' jobs run at once; the rest wait.\n\n"
                 "(fn CALLBACK &rest ARGS)",
                 lisp_send_async},
    FunctionSpec{"smtpmail-native-job-status", 1, 1,
                 "Return the state of background send JOB as a plist.\n"
                 "Keys: :id, :state (queued, running, succeeded, failed or cancelled),\n"
                 ":phase (the session's phase, a symbol as in errors' :phase),\n"
                 ":activity (the phase described for people), :sent and :total\n"
                 "\\(message bytes written so far, and in all).\n\n"
                 "(fn JOB)",
                 lisp_job_status},
    FunctionSpec{"smtpmail-native-cancel-job", 1, 1,
                 "Cancel background send JOB: close its connection within ~50 ms.\n"
                 "Its callback receives a `smtpmail-native-cancelled' error, unless the\n"
                 "server had already accepted the message: then the send succeeded and\n"
                 "the callback gets its result.  Return t when the job was still queued\n"
                 "or running, nil when it had ended.\n\n"
                 "(fn JOB)",
                 lisp_cancel_job},
    FunctionSpec{"smtpmail-native-set-max-jobs", 1, 1,
                 "Allow at most N background sends to run at once (default 4).\n"
                 "Further jobs wait in order.  Return N.\n\n"
                 "(fn N)",
                 lisp_set_max_jobs},
    FunctionSpec{"smtpmail-native--warm-up", 1, 1,
                 "Get background sends ready before the first one, in idle time.\n"
                 "Start the worker threads and the doorbell, and allocate, on a thread\n"
                 "of its own, a message file of SIZE bytes (0: none) kept for the next\n"
                 "message; and have Emacs's heap keep SIZE bytes of memory ready, whose\n"
                 "pages the next message buffer of up to that size reuses.  Return t.\n"
                 "Not for direct use.\n\n"
                 "(fn SIZE)",
                 lisp_warm_up},
    FunctionSpec{"smtpmail-native--message-file", 1, 1,
                 "Return (FILE . HANDLE) for a message of SIZE bytes, or nil.\n"
                 "FILE is a memory file's name: write the message's SIZE bytes into it\n"
                 "from offset 0 (`write-region' with APPEND 0, `no-conversion'), then\n"
                 "pass HANDLE as :data of a send, which maps them without a copy.\n"
                 "nil where memory files are not available.  Not for direct use.\n\n"
                 "(fn SIZE)",
                 lisp_message_file},
    FunctionSpec{"smtpmail-native--message-file-bytes", 1, 1,
                 "Return the message in the message file HANDLE as a unibyte string.\n"
                 "Not for direct use.\n\n"
                 "(fn HANDLE)",
                 lisp_message_file_bytes},
    FunctionSpec{"smtpmail-native--message-file-release", 1, 1,
                 "Let go of the message file HANDLE, which cannot be used again.\n"
                 "Its memory serves the next message once no send uses it.  Not for\n"
                 "direct use.\n\n"
                 "(fn HANDLE)",
                 lisp_message_file_release},
    FunctionSpec{"smtpmail-native--jobs-drain", 0, 2,
                 "Deliver finished background sends to their callbacks.\n"
                 "The filter of the module's doorbell pipe: PROCESS and OUTPUT (the\n"
                 "doorbell's bytes) are ignored.  Not for direct use.\n\n"
                 "(fn &optional PROCESS OUTPUT)",
                 lisp_jobs_drain},
#ifdef SMTPN_LEAK_PROBE
    // Sanitizer builds only (CMake adds leak_probe.cpp and the macro there): no shipped
    // module can leak through it.
    FunctionSpec{"smtpmail-native--leak-probe", 0, 0,
                 "Leak two allocations on purpose, for the leak check's self-test.\n"
                 "One block of 4242 bytes from the module and one OpenSSL digest\n"
                 "context; both become unreachable at once.  Exists only in sanitizer\n"
                 "builds.  Return nil.\n\n"
                 "(fn)",
                 lisp_leak_probe},
#endif
};

}  // namespace

std::span<const FunctionSpec> module_functions() { return kFunctions; }

}  // namespace smtpn::emacs
