;;; smtpmail-native.el --- Native SMTP (TLS, SASL) as a drop-in for smtpmail  -*- lexical-binding: t; -*-

;; Copyright (C) 2026 The smtpmail-native developers

;; Author: The smtpmail-native developers
;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1"))
;; Keywords: mail, comm
;; URL: https://example.invalid/smtpmail-native

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
;;
;; The module also offers `smtpmail-native-send' (one whole SMTP session
;; from Lisp), `smtpmail-native-server-info', background sends
;; (`smtpmail-native-send-async') and its crypto primitives; errors are
;; signalled under `smtpmail-native-error'.  README.org has the details.

;;; Code:

(defgroup smtpmail-native nil
  "Send mail through a native SMTP module, compatible with smtpmail."
  :group 'mail
  :prefix "smtpmail-native-")

(defconst smtpmail-native--lisp-version "0.1.0"
  "Version of this Lisp file; the module must report the same.")

(defconst smtpmail-native--lisp-directory
  (file-name-directory (or load-file-name buffer-file-name default-directory))
  "Directory holding smtpmail-native.el (and by default the module).")

(defcustom smtpmail-native-module-file nil
  "File name of the smtpmail-native module, or nil to look next to this file.
Set it when the module was built elsewhere, for instance into a
separate build directory."
  :type '(choice (const :tag "Next to smtpmail-native.el" nil) file)
  :version "28.1"
  :group 'smtpmail-native)

(defcustom smtpmail-native-module-build-directory nil
  "Directory where `smtpmail-native-module-compile' configures CMake.
nil means \"build\" in the source tree that holds this file."
  :type '(choice (const :tag "build/ in the source tree" nil) directory)
  :version "28.1"
  :group 'smtpmail-native)

;;;; The module's functions (defined by smtpmail-native-module.so)

(declare-function smtpmail-native-version "ext:smtpmail-native-module" ())
(declare-function smtpmail-native-hmac-md5 "ext:smtpmail-native-module"
                  (key data &optional binary))
(declare-function smtpmail-native-base64-encode "ext:smtpmail-native-module" (string))
(declare-function smtpmail-native-base64-decode "ext:smtpmail-native-module" (string))
(declare-function smtpmail-native-cram-md5-response "ext:smtpmail-native-module"
                  (user password challenge))

;;;; Finding, checking and building the module

(defun smtpmail-native--source-root ()
  "Return the source tree's root (holding CMakeLists.txt), or nil."
  (let ((root (file-name-directory (directory-file-name smtpmail-native--lisp-directory))))
    (and (file-exists-p (expand-file-name "CMakeLists.txt" root)) root)))

(defun smtpmail-native-module-file-name ()
  "Return the module file that would be loaded, or nil when there is none."
  (let ((file (or smtpmail-native-module-file
                  (expand-file-name (concat "smtpmail-native-module" module-file-suffix)
                                    smtpmail-native--lisp-directory))))
    (and (file-exists-p file) file)))

(defun smtpmail-native--check-module-version ()
  "Signal an error unless the loaded module's version is this file's."
  (let ((module-version (smtpmail-native-version)))
    (unless (equal module-version smtpmail-native--lisp-version)
      (error "The smtpmail-native module is version %s but the Lisp layer is %s; \
rebuild it with M-x smtpmail-native-module-compile (or scripts/build), then restart Emacs"
             module-version smtpmail-native--lisp-version))))

(defun smtpmail-native-module-load ()
  "Load the smtpmail-native module and check that its version matches.
Return non-nil when the module is ready.  Signal an error saying how
to build it when it is missing, and how to rebuild it when it is stale."
  (unless module-file-suffix
    (error "This Emacs was built without dynamic module support; smtpmail-native needs it"))
  (unless (featurep 'smtpmail-native-module)
    (let ((file (smtpmail-native-module-file-name)))
      (unless file
        (error "The smtpmail-native module is not built; run M-x smtpmail-native-module-compile \
(or scripts/build in %s)"
               (or (smtpmail-native--source-root) "the source tree")))
      (module-load file)))
  (smtpmail-native--check-module-version)
  t)

(defun smtpmail-native--compile-command ()
  "Return the shell command that configures and builds the module."
  (let ((root (or (smtpmail-native--source-root)
                  (user-error "No CMakeLists.txt above %s: this copy of smtpmail-native \
has no sources to build" smtpmail-native--lisp-directory)))
        (build (or smtpmail-native-module-build-directory "build")))
    (format "cd %s && cmake -S . -B %s -DCMAKE_BUILD_TYPE=Release -DSMTPN_TESTS=OFF && cmake --build %s --target smtpmail-native-module"
            (shell-quote-argument (expand-file-name root))
            (shell-quote-argument build)
            (shell-quote-argument build))))

(defun smtpmail-native--after-compile (_buffer status)
  "Load the module once its build finished with STATUS \"finished\"."
  (remove-hook 'compilation-finish-functions #'smtpmail-native--after-compile)
  (if (not (string-prefix-p "finished" status))
      (message "smtpmail-native: module build failed; see the *compilation* buffer")
    (condition-case err
        (progn (smtpmail-native-module-load)
               (message "smtpmail-native: module %s built and loaded" (smtpmail-native-version)))
      (error (message "smtpmail-native: %s" (error-message-string err))))))

;;;###autoload
(defun smtpmail-native-module-compile ()
  "Build the smtpmail-native module with CMake in a compilation buffer.
When the build succeeds the module is loaded.  A module that was
already loaded cannot be replaced in a running Emacs: restart it."
  (interactive)
  (require 'compile)
  (add-hook 'compilation-finish-functions #'smtpmail-native--after-compile)
  (compilation-start (smtpmail-native--compile-command) nil
                     (lambda (_mode) "*smtpmail-native-module-compile*")))

(defun smtpmail-native--ensure-module ()
  "Load the module at `require' time, offering to build it when missing."
  (condition-case err
      (smtpmail-native-module-load)
    (error
     (if (or noninteractive (featurep 'smtpmail-native-module))
         (signal (car err) (cdr err))
       (if (and (smtpmail-native--source-root)
                (y-or-n-p (format "%s: the module is not built.  Build it now? "
                                  'smtpmail-native)))
           (smtpmail-native-module-compile)
         (display-warning 'smtpmail-native (error-message-string err) :error))))))

(smtpmail-native--ensure-module)

;;;; The smtpmail drop-in: `smtpmail-native-send-it'
;;
;; `smtpmail-native-send-it' runs Emacs's own `smtpmail-send-it', so the
;; message is prepared exactly as smtpmail prepares it (From, Message-Id,
;; Date, MIME, RFC 2047, aliases, Fcc, Bcc, Resent-*), with one change:
;; while it runs, `smtpmail-via-smtp' -- the function smtpmail calls to
;; talk SMTP -- is this package's `smtpmail-native--via-smtp', which sends
;; through the module or writes the queue.  Everything here works on the
;; variables smtpmail users already set.

(require 'smtpmail)
(require 'auth-source)
(require 'password-cache)
(require 'gnutls)
(require 'nsm)
(require 'cl-lib)
(require 'subr-x)

;; As smtpmail.el does for `message-narrow-to-headers': message.el loads on first use.
(autoload 'message-narrow-to-headers-or-head "message")
(declare-function smtpmail-native-send "ext:smtpmail-native-module" (&rest args))
(declare-function smtpmail-native-server-info "ext:smtpmail-native-module" (&rest args))
(declare-function smtpmail-native-send-batch "ext:smtpmail-native-module" (&rest args))
(declare-function smtpmail-native-queue--add "smtpmail-native-queue"
                  (data recipients variables))
(declare-function smtpmail-native-async--submit "smtpmail-native-async" (recipients))
(declare-function smtpmail-native-async--run-after-send "smtpmail-native-async"
                  (message-id result))
(declare-function smtpmail-native-async--run-failure "smtpmail-native-async"
                  (message-id err queue-file))

;; smtpmail removed this variable in Emacs 24; users of the original
;; CRAM-MD5 patch still set it, and this package reads it again.
(defvar smtpmail-auth-credentials)
(defvar message-send-mail-function)

(defcustom smtpmail-native-trust-file nil
  "PEM file, or list of PEM files, of certificate authorities to trust.
SMTP servers' certificates are checked against the system's store,
the files in `gnutls-trustfiles' (which smtpmail users may already
have set up) and these files.  Use it for a private CA."
  :type '(choice (const :tag "None" nil) file (repeat file))
  :version "28.1"
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
  :version "28.1"
  :group 'smtpmail-native)

(defcustom smtpmail-native-timeout 60
  "Seconds to wait for each reply of the SMTP server."
  :type 'number
  :version "28.1"
  :group 'smtpmail-native)

(defcustom smtpmail-native-accounts nil
  "SMTP accounts chosen by the sender's address.
Each element is (MATCH . PLIST).  MATCH is a regexp matched, ignoring
case, against the envelope sender (normally the From address), or a
function called with that address that returns non-nil to choose the
account.  PLIST may hold :server, :port, :stream-type, :user and
:mechanisms; each one given replaces `smtpmail-smtp-server',
`smtpmail-smtp-service', `smtpmail-stream-type', `smtpmail-smtp-user'
and `smtpmail-auth-supported' for that message.  The first match wins;
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
                                                              (const plain) (const ssl)))
                                        (:user string)
                                        (:mechanisms (repeat symbol))))))
  :version "28.1"
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
  :version "28.1"
  :group 'smtpmail-native)

(defvar smtpmail-native--queue-mail nil
  "The user's `smtpmail-queue-mail' while `smtpmail-native-send-it' runs.")

(defvar smtpmail-native--method-header nil
  "Non-nil when an X-Message-SMTP-Method header already chose the server.")

(defvar smtpmail-native--warned-hosts nil
  "Hosts already warned about unverified certificates this session.")

;;;###autoload
(defun smtpmail-native-send-it ()
  "Send the current mail buffer like `smtpmail-send-it', natively.
The message is prepared by `smtpmail-send-it' itself, then sent
through the smtpmail-native module (or queued, with
`smtpmail-queue-mail').  smtpmail's variables apply, and so do
`smtpmail-auth-credentials', auth-source and `smtpmail-native-accounts'.
A failure signals an error \"Sending failed: ...\" as smtpmail does;
the mail buffer is left as it was.
Use it as `send-mail-function' and `message-send-mail-function'."
  (let ((smtpmail-native--queue-mail smtpmail-queue-mail)
        (smtpmail-queue-mail nil))
    (cl-letf (((symbol-function 'smtpmail-via-smtp) #'smtpmail-native--via-smtp))
      (smtpmail-send-it))))

(defun smtpmail-native--via-smtp (recipients buffer &rest _)
  "Send or queue BUFFER for RECIPIENTS; stands in for `smtpmail-via-smtp'.
`smtpmail-send-it' calls it with the prepared message.  Return nil
on success; signal \"Sending failed: ...\" otherwise, without the
AUTH truncation smtpmail applies (no secret reaches the message)."
  (with-current-buffer buffer
    (let ((settings (smtpmail-native--settings)))
      (cl-progv (mapcar #'car settings) (mapcar #'cdr settings)
        (cond
         (smtpmail-native--queue-mail
          (smtpmail-native-queue--add (smtpmail-native--message-bytes) recipients
                                      (smtpmail-native--queue-variables)))
         (smtpmail-native-async (smtpmail-native-async--submit recipients))
         (t
          (let ((message-id (smtpmail-native--message-id)))
            (condition-case err
                (smtpmail-native-async--run-after-send
                 message-id (smtpmail-native--deliver recipients buffer))
              (smtpmail-native-error
               (smtpmail-native--quit-if-interrupted err)
               (smtpmail-native-async--run-failure message-id err nil)
               (error "Sending failed: %s" (smtpmail-native--error-text err))))))))))
  nil)

(defun smtpmail-native--message-id ()
  "Return the Message-ID of the message in this buffer, or nil."
  (save-restriction
    (message-narrow-to-headers-or-head)
    (mail-fetch-field "message-id")))

(defun smtpmail-native--queue-variables ()
  "Return the (VARIABLE . VALUE) pairs to store with a queued message.
Like `smtpmail-send-it': the recipients always, the server settings
with `smtpmail-store-queue-variables'.  The envelope sender is stored
too; `smtpmail-send-queued-mail' ignores what it does not know."
  (append (and smtpmail-store-queue-variables
               (mapcar (lambda (var) (cons var (symbol-value var)))
                       (append smtpmail--stored-queue-variables '(smtpmail-auth-supported))))
          (list (cons 'smtpmail-mail-address (smtpmail-native--envelope-from)))))

;;;; Which server: X-Message-SMTP-Method, then `smtpmail-native-accounts'

(defun smtpmail-native--settings ()
  "Return the variable bindings that choose the server for this buffer.
An X-Message-SMTP-Method header (removed here) comes first, then the
first of `smtpmail-native-accounts' matching the envelope sender."
  (let ((method (save-restriction
                  (message-narrow-to-headers-or-head)
                  (mail-fetch-field "X-Message-SMTP-Method"))))
    (cond (method
           (smtpmail-native--remove-header "X-Message-SMTP-Method")
           (smtpmail-native--method-settings method))
          (smtpmail-native--method-header nil)
          (t (smtpmail-native--account-settings (smtpmail-native--envelope-from))))))

(defun smtpmail-native--remove-header (name)
  "Delete the header NAME, with its continuation lines, from this buffer."
  (save-excursion
    (save-restriction
      (message-narrow-to-headers-or-head)
      (goto-char (point-min))
      (let ((case-fold-search t))
        (while (re-search-forward (concat "^" (regexp-quote name) ":.*\n\\([ \t].*\n\\)*") nil t)
          (replace-match ""))))))

(defun smtpmail-native--method-settings (method)
  "Return the bindings for an X-Message-SMTP-Method header value METHOD.
This is `message-multi-smtp-send-mail''s reading of \"smtp HOST PORT
USER\", which message.el keeps inline and so cannot be called."
  (let ((parts (split-string method)))
    (unless (and (equal (car parts) "smtp") (nth 1 parts))
      (error "X-Message-SMTP-Method %s: smtpmail-native-send-it sends only \"smtp HOST PORT [USER]\""
             method))
    (let* ((service (or (nth 2 parts) (format "%s" smtpmail-smtp-service)))
           (port (string-to-number service)))
      `((smtpmail-store-queue-variables . t)
        (smtpmail-smtp-server . ,(nth 1 parts))
        (smtpmail-stream-type . ,(if (= port 465) 'tls smtpmail-stream-type))
        (smtpmail-smtp-service . ,(if (> port 0) port service))
        (smtpmail-smtp-user . ,(or (nth 3 parts) smtpmail-smtp-user))))))

(defun smtpmail-native--account (address)
  "Return the first element of `smtpmail-native-accounts' matching ADDRESS."
  (and address
       (cl-find-if (lambda (account)
                     (let ((match (car account)))
                       (if (functionp match)
                           (funcall match address)
                         (let ((case-fold-search t))
                           (string-match-p match address)))))
                   smtpmail-native-accounts)))

(defun smtpmail-native--account-settings (address)
  "Return the bindings of the account for ADDRESS, or nil."
  (when-let ((plist (cdr (smtpmail-native--account address))))
    (cons '(smtpmail-store-queue-variables . t)
          (cl-loop for (key var) in '((:server smtpmail-smtp-server)
                                      (:port smtpmail-smtp-service)
                                      (:stream-type smtpmail-stream-type)
                                      (:user smtpmail-smtp-user)
                                      (:mechanisms smtpmail-auth-supported))
                   when (plist-member plist key)
                   collect (cons var (plist-get plist key))))))

(defun smtpmail-native--message-sending-method (orig &rest args)
  "Around `message-smtpmail-send-it' (ORIG, with ARGS): send natively.
`message-multi-smtp-send-mail' calls `message-smtpmail-send-it' for an
X-Message-SMTP-Method \"smtp\" header, having bound smtpmail's server
variables.  When message.el sends with `smtpmail-native-send-it' (set
as `message-send-mail-function', or as `send-mail-function' which
message.el's default uses), send with it too."
  (if (not (eq (if (memq message-send-mail-function
                         '(message--default-send-mail-function message-use-send-mail-function))
                   send-mail-function
                 message-send-mail-function)
               #'smtpmail-native-send-it))
      (apply orig args)
    (run-hooks 'message-send-mail-hook)
    (let ((smtpmail-native--method-header t))
      (smtpmail-native-send-it))))

(advice-add 'message-smtpmail-send-it :around #'smtpmail-native--message-sending-method)

(defun smtpmail-native-unload-function ()
  "Remove the advice `smtpmail-native' put on `message-smtpmail-send-it'."
  (advice-remove 'message-smtpmail-send-it #'smtpmail-native--message-sending-method)
  nil)

;;;; The message, the envelope, the connection

(defun smtpmail-native--envelope-from ()
  "Return the envelope sender for the message in this buffer.
The order of `smtpmail-via-smtp': `smtpmail-mail-address', the
address `mail-specify-envelope-from' asks for, the From address,
`user-mail-address' when it looks like an address."
  (save-restriction
    (message-narrow-to-headers-or-head)
    (or smtpmail-mail-address
        (and mail-specify-envelope-from (mail-envelope-from))
        (let ((from (mail-fetch-field "from")))
          (and from (cadr (mail-extract-address-components from))))
        (smtpmail-user-mail-address))))

(defun smtpmail-native--message-bytes ()
  "Return this buffer as the bytes `smtpmail-send-data' would send.
Text is encoded with `smtpmail-code-conv-from' when set (the coding
system `smtpmail-send-it' selected), else as raw text.  ASCII-only
text, which no such encoding changes, is returned as it is."
  (let ((text (buffer-substring-no-properties (point-min) (point-max))))
    (cond ((not (multibyte-string-p text)) text)
          ;; Only ASCII (a MIME message usually is): every ASCII-compatible
          ;; coding system leaves it as it is, and encoding 10 MB costs 50 ms.
          ((and (= (length text) (string-bytes text))
                (or (null smtpmail-code-conv-from)
                    (coding-system-get smtpmail-code-conv-from :ascii-compatible-p)))
           text)
          (smtpmail-code-conv-from
           (encode-coding-string
            text (coding-system-change-eol-conversion smtpmail-code-conv-from 'unix)))
          (t (encode-coding-string text 'raw-text-unix)))))

(defun smtpmail-native--tls-arguments (host)
  "Return the module's TLS keywords for HOST from the user's settings."
  (append
   (list :extra-trust-files
         (append (gnutls-trustfiles)
                 (mapcar #'expand-file-name (ensure-list smtpmail-native-trust-file))))
   (when (eq network-security-level 'low)
     (unless (member host smtpmail-native--warned-hosts)
       (push host smtpmail-native--warned-hosts)
       (display-warning 'smtpmail-native
                        (format-message "`network-security-level' is `low': the certificate \
of %s is not verified" host)))
     (list :verify nil))))

(defun smtpmail-native--plaintext-auth (host)
  "Return the module's :allow-plaintext-auth for HOST."
  (let ((allow smtpmail-native-allow-plaintext-auth))
    (if (stringp allow)
        (if (string-match-p allow host) t 'loopback)
      allow)))

;;;; Credentials: `smtpmail-auth-credentials', then auth-source

(defun smtpmail-native--secret (secret)
  "Return SECRET, calling it first when it is a function."
  (if (functionp secret) (funcall secret) secret))

(defun smtpmail-native--prompted-password (user host port)
  "Return a function asking for USER's password on HOST and PORT once.
The answer is kept in the password cache after a successful AUTH,
as smtpmail did when `smtpmail-auth-credentials' had no password."
  (let ((key (format "smtp:%s:%s:%s" host port user)))
    (list :password (lambda ()
                      (password-read (format "SMTP password for %s@%s: " user host) key))
          :remember (lambda (password) (password-cache-add key password))
          :forget (lambda () (password-cache-remove key)))))

(defun smtpmail-native--list-credentials (entries host port)
  "Return credentials for HOST and PORT from ENTRIES, or nil.
ENTRIES is the list form of `smtpmail-auth-credentials': elements
\(SERVER PORT USER PASSWORD), PORT a number or a string, PASSWORD a
string, a function returning one, or nil to ask."
  (when-let ((entry (cl-find-if (lambda (cred)
                                  (and (equal (smtpmail-cred-server cred) host)
                                       (equal (format "%s" (smtpmail-cred-port cred))
                                              (format "%s" port))))
                                entries)))
    (let ((user (smtpmail-cred-user entry))
          (password (smtpmail-cred-passwd entry)))
      (if password
          (list :user user :password (lambda () (smtpmail-native--secret password)))
        (cons :user (cons user (smtpmail-native--prompted-password user host port)))))))

(defun smtpmail-native--auth-source-credentials (host port ask &optional file)
  "Search auth-source for HOST and PORT the way `smtpmail-try-auth-methods' does.
ASK non-nil requires a user and secret and may create them (prompting).
With FILE, search only that netrc/authinfo file (.gpg included)."
  (let* ((auth-sources (if file (list file) auth-sources))
         (auth-source-creation-prompts '((user . "SMTP user name for %h: ")
                                         (secret . "SMTP password for %u@%h: ")))
         (ask (and ask (not file)))
         ;; :source keeps a file's answers apart in auth-source's cache.
         (spec (append (list :host host :port port :user smtpmail-smtp-user :max 1)
                       (and file (list :source file))))
         (info (car (apply #'auth-source-search
                           (append spec (and ask (list :require '(:user :secret) :create t))))))
         (user (plist-get info :user))
         (secret (plist-get info :secret))
         (save (and ask (plist-get info :save-function)))
         (credentials (list :user user
                            :mechanism (plist-get info :smtp-auth)
                            :forget (lambda () (auth-source-forget+ :host host :port port)))))
    (cond ((not user) nil)
          (secret
           (append (list :password (lambda () (smtpmail-native--secret secret))
                         :remember (and save (lambda (_) (funcall save))))
                   credentials))
          (file (append (cdr (smtpmail-native--prompted-password user host port)) credentials))
          (t
           ;; A user without a secret: ask for the secret, as smtpmail does,
           ;; but only once a mechanism needs it.
           (append
            (list :password
                  (lambda ()
                    (let ((info (car (auth-source-search :max 1 :host host :port port
                                                         :user smtpmail-smtp-user
                                                         :require '(:user :secret)
                                                         :create t))))
                      (setq save (plist-get info :save-function))
                      (smtpmail-native--secret (plist-get info :secret))))
                  :remember (lambda (_) (when save (funcall save))))
            credentials)))))

(defun smtpmail-native--credentials (host port ask)
  "Return the credentials for HOST and PORT as a plist, or nil.
`smtpmail-auth-credentials' wins when it matches the server; else
auth-source is searched as smtpmail does (ASK as in smtpmail).  Keys:
:user, :password (a function, called only when a mechanism needs the
secret), :mechanism (auth-source's smtp-auth), :remember (called with
the password after a successful AUTH) and :forget (after a failed one)."
  (let ((creds (bound-and-true-p smtpmail-auth-credentials))
        (port (if port (format "%s" port) "smtp")))
    (or (and (consp creds) (smtpmail-native--list-credentials creds host port))
        (and (stringp creds)
             (smtpmail-native--auth-source-credentials host port nil (expand-file-name creds)))
        (smtpmail-native--auth-source-credentials host port ask))))

;;;; Sending

(defun smtpmail-native--trace-writer (host)
  "Return a function of one transcript line for a session with HOST.
With `smtpmail-debug-info', it appends each line to the buffer
*trace of SMTP session to HOST*, emptied now; otherwise it ignores them.
The buffer is held in the closure, so lines that arrive later, from a
background send, still find it."
  (if (not smtpmail-debug-info)
      #'ignore
    (let ((buffer (get-buffer-create (format "*trace of SMTP session to %s*" host))))
      (with-current-buffer buffer
        (setq buffer-undo-list t)
        (erase-buffer))
      (lambda (line)
        (when (buffer-live-p buffer)
          (with-current-buffer buffer
            (goto-char (point-max))
            (insert line "\n")))))))

(defun smtpmail-native--session (host from recipients data ask trace)
  "Send DATA from FROM to RECIPIENTS over one session with HOST.
ASK is smtpmail's ask-for-password; TRACE receives each transcript
line.  Return the module's result plist."
  (smtpmail-native--call-module #'smtpmail-native-send host ask trace
                                (list :from from :recipients recipients :data data)))

(defun smtpmail-native--module-arguments (host ask trace message-args)
  "Return (ARGS . FINISH) for sending MESSAGE-ARGS to HOST through the module.
ARGS are the keyword arguments of a module sending function: the
connection, credentials and TLS settings come from smtpmail's
variables as bound now; ASK is smtpmail's ask-for-password; TRACE
receives each transcript line.  FINISH must be called once with the
outcome -- the result, the error (ERROR-SYMBOL . DATA), or nil when
interrupted -- so that credentials are remembered after a successful
AUTH and forgotten after a refused one."
  (let* ((credentials (smtpmail-native--credentials host smtpmail-smtp-service ask))
         (mechanism (plist-get credentials :mechanism))
         (asked nil)
         (password (and credentials
                        (lambda ()
                          (setq asked (funcall (plist-get credentials :password)))
                          (unless (stringp asked)
                            (error "No SMTP password for %s@%s" (plist-get credentials :user) host))
                          asked)))
         (authenticated nil)
         (trace-fn (lambda (line)
                     (when (string-prefix-p "* authenticated with " line)
                       (setq authenticated t))
                     (funcall trace line))))
    (cons (append (list :host host :port smtpmail-smtp-service
                        :stream-type smtpmail-stream-type :helo (smtpmail-fqdn)
                        :allow-plaintext-auth (smtpmail-native--plaintext-auth host)
                        :timeout smtpmail-native-timeout :trace trace-fn)
                  (smtpmail-native-sasl-arguments
                   host smtpmail-smtp-service (plist-get credentials :user) password
                   mechanism smtpmail-auth-supported)
                  message-args (smtpmail-native--tls-arguments host))
          (lambda (outcome)
            (if (and (consp outcome) (symbolp (car outcome))
                     (memq 'smtpmail-native-auth-error (get (car outcome) 'error-conditions)))
                (when-let ((forget (plist-get credentials :forget))) (funcall forget))
              ;; smtpmail saves after a successful AUTH, even if the mail then fails.
              (when (and authenticated (plist-get credentials :remember))
                (funcall (plist-get credentials :remember) asked)))
            (setq asked nil)))))

(defun smtpmail-native--call-module (send host ask trace message-args)
  "Call SEND, a module sending function, for HOST with MESSAGE-ARGS.
Return its result.  ASK and TRACE are as for
`smtpmail-native--module-arguments'."
  (pcase-let ((`(,args . ,finish) (smtpmail-native--module-arguments host ask trace message-args))
              (outcome nil))
    (unwind-protect
        (condition-case err
            (setq outcome (apply send args))
          (smtpmail-native-error
           (setq outcome err)
           (signal (car err) (cdr err))))
      (funcall finish outcome))))

(defun smtpmail-native--auth-would-help (err lines)
  "Non-nil when smtpmail would retry ERR asking for a password.
That is a 530, or a 550-554 for a recipient, from a server that
offered AUTH (seen in the transcript LINES) to a session that did
not authenticate."
  (let ((code (nth 2 err)))
    (and (integerp code)
         (or (= code 530)
             (and (<= 550 code 554)
                  ;; The module's wording when recipients were refused.
                  (string-match-p "\\`the server rejected [0-9]+ of" (nth 1 err))))
         (cl-some (lambda (l) (string-match-p "\\`S: 250[- ]AUTH[ =]" l)) lines)
         (not (cl-some (lambda (l) (string-prefix-p "* authenticated with " l)) lines)))))

(defun smtpmail-native--deliver (recipients buffer)
  "Send the message in BUFFER to RECIPIENTS as `smtpmail-via-smtp' would.
Uses smtpmail's variables as they are bound now.  4xx failures are
retried up to `smtpmail-retries' times; a 530 (or a refused
recipient) from a server offering AUTH is retried once with a
password asked for, as smtpmail does.  Return the module's result;
signal a `smtpmail-native-error' when sending fails."
  (unless smtpmail-smtp-server
    (smtpmail-query-smtp-server))
  (let* ((host (or smtpmail-smtp-server (error "`smtpmail-smtp-server' not defined")))
         (from (with-current-buffer buffer (smtpmail-native--envelope-from)))
         (data (with-current-buffer buffer (smtpmail-native--message-bytes)))
         (recipients (mapcar #'smtpmail-maybe-append-domain recipients))
         (ask (and smtpmail-servers-requiring-authorization
                   (string-match-p smtpmail-servers-requiring-authorization host)))
         (write-trace (smtpmail-native--trace-writer host))
         (lines nil)
         (trace (lambda (line)
                  (push line lines)
                  (funcall write-trace line)))
         (attempt 1)
         (result nil))
    (while (not result)
      (setq lines nil)
      (condition-case err
          (setq result (smtpmail-native--session host from recipients data ask trace))
        (smtpmail-native-temporary-error
         (unless (< attempt smtpmail-retries)
           (signal (car err) (cdr err)))
         (message "Got transient error code %s when sending; retrying attempt %d..."
                  (nth 2 err) attempt)
         (funcall trace (format "* retrying after %s (attempt %d)" (nth 2 err) attempt))
         (cl-incf attempt)
         (sleep-for 1))
        (smtpmail-native-permanent-error
         (unless (and (not ask) (smtpmail-native--auth-would-help err lines))
           (signal (car err) (cdr err)))
         (funcall trace "* retrying with credentials, as the server asks for them")
         (setq ask t))))
    result))

(defun smtpmail-native--quit-if-interrupted (err)
  "Signal `quit' if ERR is the module's report of \\[keyboard-quit]."
  (when (and (eq (car err) 'smtpmail-native-error)
             (stringp (nth 1 err))
             (string-prefix-p "interrupted" (nth 1 err)))
    (signal 'quit nil)))

(defun smtpmail-native--error-text (err)
  "Return what follows \"Sending failed: \" for the error ERR.
With a server reply that is smtpmail's text, the reply (\"550 5.1.1
...\"), followed by what the module says about where it happened."
  (pcase-let ((`(,text ,code ,_enhanced ,reply) (cdr err)))
    (cond ((not (stringp text)) (error-message-string err))
          ((not (integerp code)) text)
          (t (let* ((summary (string-trim-right
                              (format "%d %s" code (car (split-string (or reply "") "\n")))))
                    (at (string-search summary text))
                    (context (string-trim-right (if at (substring text 0 at) text) "[: ]+")))
               (if (string-empty-p context)
                   summary
                 (format "%s (%s)" summary context)))))))

(require 'smtpmail-native-queue)
(require 'smtpmail-native-async)
(require 'smtpmail-native-sasl)

(provide 'smtpmail-native)

;;; smtpmail-native.el ends here
