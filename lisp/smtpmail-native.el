;;; smtpmail-native.el --- Native SMTP (TLS, SASL) as a drop-in for smtpmail  -*- lexical-binding: t; -*-

;; Copyright (C) 2026 The smtpmail-native developers

;; Author: The smtpmail-native developers
;; Version: 0.2.0
;; Package-Requires: ((emacs "28.1"))
;; Keywords: mail, comm

;; This file is not part of GNU Emacs.

;; This program is free software; you can redistribute it and/or modify
;; it under the terms of the GNU General Public License as published by
;; the Free Software Foundation, either version 3 of the License, or
;; (at your option) any later version.

;; This program is distributed in the hope that it will be useful,
;; but WITHOUT ANY WARRANTY; without even the implied warranty of
;; MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
;; GNU General Public License for more details.

;; You should have received a copy of the GNU General Public License
;; along with this program.  If not, see <https://www.gnu.org/licenses/>.

;;; Commentary:

;; smtpmail-native sends mail from Emacs through a dynamic module
;; written in C++ with OpenSSL: the network, TLS, SASL and the SMTP
;; protocol run natively, while this file keeps everything users
;; already configured for Emacs's own smtpmail.
;;
;; Setup:
;;
;;   1. Build the module once (needs cmake, a C++20 compiler, OpenSSL 3
;;      headers and emacs-module.h): M-x smtpmail-native-module-compile,
;;      or from a shell in the source tree:
;;        cmake -S . -B build && cmake --build build
;;      The module, smtpmail-native-module.so, is written next to this
;;      file, where it is found without configuration.
;;
;;   2. (add-to-list 'load-path "/path/to/smtpmail-native/lisp")
;;      (require 'smtpmail-native)
;;
;;   3. (setq send-mail-function #'smtpmail-native-send-it
;;            message-send-mail-function #'smtpmail-native-send-it)
;;      Your smtpmail settings, `smtpmail-auth-credentials' and auth-source
;;      entries apply; see also `smtpmail-native-accounts',
;;      `smtpmail-native-trust-file' and M-x smtpmail-native-send-queued-mail.
;;      Or let M-x smtpmail-native-setup find the server, test the login
;;      and save the settings; M-x smtpmail-native-check-server reports
;;      on a server and trusts a certificate by its fingerprint
;;      (`smtpmail-native-pinned-certificates').
;;
;; The module also offers `smtpmail-native-send' (one whole SMTP session
;; from Lisp), `smtpmail-native-server-info', background sends
;; (`smtpmail-native-send-async') and its crypto primitives; errors are
;; signalled under `smtpmail-native-error'.  README.org has the details.

;;; Code:

;; The group and the options are defined when this file is compiled too: package.el
;; byte-compiles an installed package in the Emacs that installs it, which loads the parts
;; (the requires below) but not these forms, and the parts read these options.
(eval-and-compile
  (defgroup smtpmail-native nil
    "Send mail through a native SMTP module, compatible with smtpmail."
    :group 'mail
    :prefix "smtpmail-native-")

;;;; Options

  (defcustom smtpmail-native-module-file nil
    "File name of the smtpmail-native module, or nil to look next to this file.
Set it when the module was built elsewhere, for instance into a
separate build directory."
    :type '(choice (const :tag "Next to smtpmail-native.el" nil) file)
    :package-version '(smtpmail-native . "0.1.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-module-build-directory nil
    "Directory where `smtpmail-native-module-compile' configures CMake.
nil means \"build\" in the source tree that holds this file."
    :type '(choice (const :tag "build/ in the source tree" nil) directory)
    :package-version '(smtpmail-native . "0.1.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-trust-file nil
    "PEM file, or list of PEM files, of certificate authorities to trust.
SMTP servers' certificates are checked against the system's store,
the files in `gnutls-trustfiles' (which smtpmail users may already
have set up) and these files.  Use it for a private CA."
    :type '(choice (const :tag "None" nil) file (repeat file))
    :package-version '(smtpmail-native . "0.1.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-pinned-certificates nil
    "Certificates trusted by their SHA-256 fingerprint, per server.
An alist of (\"HOST:PORT\" . SHA256-HEX).  A server listed here is
accepted by that fingerprint alone (no certificate authority needs to
vouch for it, as for a self-signed certificate), and any other
certificate it presents is refused as changed.  Answering \"always\"
when a send or \\[smtpmail-native-check-server] finds an untrusted
certificate adds the entry and saves this option with Customize."
    :type '(alist :key-type (string :tag "HOST:PORT")
                  :value-type (string :tag "SHA-256 (hex)"))
    :package-version '(smtpmail-native . "0.2.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-allow-plaintext-auth 'loopback
    "When PLAIN and LOGIN may send the password without TLS.
nil means never, t always, `loopback' only to a server on this
machine.  A regexp allows it for the servers it matches (and on
loopback).  CRAM-MD5 never reveals the password and is not affected."
    :type '(choice (const :tag "Never" nil)
                   (const :tag "Only to this machine" loopback)
                   (const :tag "Always" t)
                   (regexp :tag "Servers matching"))
    :package-version '(smtpmail-native . "0.1.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-timeout 60
    "Seconds to wait for each reply of the SMTP server."
    :type 'number
    :package-version '(smtpmail-native . "0.1.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-accounts nil
    "SMTP accounts chosen by the sender's address.
Each element is (MATCH . PLIST).  MATCH is a regexp matched, ignoring
case, against the envelope sender (normally the From address), or a
function called with that address that returns non-nil to choose the
account.  PLIST may hold :server, :port, :stream-type, :user and
:mechanisms; each one given replaces `smtpmail-smtp-server',
`smtpmail-smtp-service', `smtpmail-stream-type', `smtpmail-smtp-user'
and `smtpmail-auth-supported' for that message (`tls' is taken as
`ssl').  :trust-file names a PEM file of the authorities trusted for
this server (instead of the system's store) and :fingerprint the
SHA-256 of the one certificate trusted (as a pin in
`smtpmail-native-pinned-certificates' does).  The first match wins;
no match leaves smtpmail's variables as they are.  Example:

  ((\"@work\\\\.example\\\\\\='\" :server \"smtp.work.example\" :port 587
    :stream-type starttls :user \"me@work.example\")
   (\"@home\\\\.example\\\\\\='\" :server \"mail.home.example\" :port 465
    :stream-type ssl :mechanisms (cram-md5)))"
    :type '(repeat (cons (choice (regexp :tag "Address regexp")
                                 (function :tag "Predicate"))
                         (plist :options ((:server string)
                                          (:port (choice integer string))
                                          (:stream-type (choice (const nil) (const starttls)
                                                                (const plain) (const ssl)
                                                                (const tls)))
                                          (:user string)
                                          (:mechanisms (repeat symbol))
                                          (:trust-file file)
                                          (:fingerprint string)))))
    :package-version '(smtpmail-native . "0.1.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-async nil
    "Non-nil means `smtpmail-native-send-it' sends in the background.
The message is prepared as usual, handed to a worker thread, and
`smtpmail-native-send-it' returns at once, so Emacs never waits for
the server.  A send that fails is not lost: the message goes into
smtpmail's queue with its error, a warning names the recipients and
the server's reply, and \\[smtpmail-native-send-queued-mail] retries.
\\[smtpmail-native-jobs] lists the background sends.  nil (the default)
keeps smtpmail's contract: `smtpmail-native-send-it' returns when the
server has accepted the message, or signals why it did not."
    :type 'boolean
    :package-version '(smtpmail-native . "0.1.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-oauth2-token-function nil
    "Function returning the OAuth 2 access token for an SMTP login, or nil.
It is called with HOST, PORT and USER and returns the token as a
string (or nil for none).  When set, the module tries OAUTHBEARER and
XOAUTH2 first, if the server offers them."
    :type '(choice (const :tag "None" nil) function)
    :package-version '(smtpmail-native . "0.1.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-scram-max-iterations nil
    "Highest SCRAM iteration count a server may demand, or nil for the default.
A SCRAM server chooses how many rounds of PBKDF2 the client runs;
a hostile one could ask for billions and freeze Emacs.  Counts above
this limit (default 600000, about a quarter of a second) or below
4096 end the login with an error."
    :type '(choice (const :tag "Default (600000)" nil) (integer :tag "Iterations"))
    :package-version '(smtpmail-native . "0.1.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-max-jobs 4
    "How many background sends may talk to servers at once.
Further sends wait for a free worker, in order."
    :type 'natnum
    :package-version '(smtpmail-native . "0.1.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-after-send-functions nil
    "Functions called after a message was sent, in the background or not.
Each is called with the message's Message-ID (a string, or nil when
it has none) and the result plist of `smtpmail-native-send'."
    :type 'hook
    :package-version '(smtpmail-native . "0.1.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-send-failure-functions nil
    "Functions called after sending a message failed.
Each is called with the message's Message-ID (or nil), the error
\(ERROR-SYMBOL . DATA), and the file the message was queued as (a
background send), or nil (a send that signalled the error itself)."
    :type 'hook
    :package-version '(smtpmail-native . "0.1.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-send-delay 0
    "Seconds a background send waits before it connects, so it can be taken back.
0 (the default) sends at once.  With a positive delay and
`smtpmail-native-async' set, the echo area says when the mail will
go, and \\[smtpmail-native-undo-send] takes back the most recent
waiting send: nothing is sent, and the message comes back in a
`message-mode' buffer as you wrote it.  If Emacs exits during the
delay, the message is queued."
    :type 'natnum
    :package-version '(smtpmail-native . "0.2.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-warm-up (* 16 1024 1024)
    "How the first background send is made ready while you write, or nil.
With `smtpmail-native-async' set, starting a message (`message-mode'
or `mail-mode') loads the module and starts its worker threads in
idle time, and a thread of the module's own prepares this many bytes
of memory for the message, kept for the next ones: a message file the
module reads the message from, and as much of Emacs's own heap, whose
pages the buffer of the message sent next reuses.  The first send of
a session then blocks Emacs no longer than the later ones.  0
prepares no memory (a first large send pays for its pages, 20 to 40
ms per 10 MB); nil does none of it."
    :type '(choice (const :tag "Nothing" nil) (natnum :tag "Bytes of memory"))
    :package-version '(smtpmail-native . "0.2.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-mode-line-indicator t
    "Non-nil means the mode line shows the background sends in progress.
For example \" Sending 2 mails… 45%\"; nil shows nothing there
\(\\[smtpmail-native-jobs] still lists them)."
    :type 'boolean
    :package-version '(smtpmail-native . "0.2.0")
    :group 'smtpmail-native)

  (defcustom smtpmail-native-jobs-history 100
    "How many finished background sends `smtpmail-native-jobs' keeps listing."
    :type 'natnum
    :package-version '(smtpmail-native . "0.1.0")
    :group 'smtpmail-native))

;;;; The parts, each owning one thing (lowest first)

(require 'smtpmail-native-loader)       ; finds, builds and loads the module, lazily
(require 'smtpmail-native-trust)        ; pinned certificates and the trust question
(require 'smtpmail-native-config)       ; accounts, headers, credentials -> one session
(require 'smtpmail-native-send)         ; module arguments, retries, error text
(require 'smtpmail-native-queue)        ; the queue's files
(require 'smtpmail-native-flush)        ; M-x smtpmail-native-send-queued-mail
(require 'smtpmail-native-async)        ; background sends: the job model
(require 'smtpmail-native-jobs)         ; M-x smtpmail-native-jobs
(require 'smtpmail-native-queue-ui)     ; M-x smtpmail-native-queue
(require 'smtpmail-native-dropin)       ; smtpmail-native-send-it
(require 'smtpmail-native-check)        ; M-x smtpmail-native-check-server
(require 'smtpmail-native-setup)        ; M-x smtpmail-native-setup

(defun smtpmail-native-unload-function ()
  "Remove the advice and the hook `smtpmail-native' put into message.el."
  (advice-remove 'message-smtpmail-send-it #'smtpmail-native--message-sending-method)
  (remove-hook 'message-send-hook #'smtpmail-native--remember-composition)
  nil)

(provide 'smtpmail-native)

;;; smtpmail-native.el ends here
