;;; smtpmail-native-send.el --- The send core: module arguments, retries, error text  -*- lexical-binding: t; -*-

;; Copyright (C) 2026 The smtpmail-native developers

;; Author: The smtpmail-native developers

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

;; The one place that talks to the module's sending functions: it makes
;; their keyword arguments from a session (smtpmail-native-config.el)
;; and the user's TLS settings, calls them, retries as smtpmail does
;; (4xx up to `smtpmail-retries' times; a 530 from a server asking for
;; credentials, once with a password), turns an error into the text
;; after "Sending failed: ", and runs the outcome hooks.  Every decision
;; is made from the module's result and error plists, never from text.

;;; Code:

(require 'gnutls)
(require 'nsm)
(require 'smtpmail-native-loader)
(require 'smtpmail-native-trust)       ; and through it cl-lib and subr-x
(require 'smtpmail-native-config)      ; and through it smtpmail

(declare-function smtpmail-native-send "ext:smtpmail-native-module" (&rest args))
(declare-function smtpmail-native-server-info "ext:smtpmail-native-module" (&rest args))
(declare-function smtpmail-native--message-file "ext:smtpmail-native-module" (size))
(declare-function smtpmail-native--message-file-bytes "ext:smtpmail-native-module" (handle))
(declare-function smtpmail-native--message-file-release "ext:smtpmail-native-module" (handle))

(defvar smtpmail-native-trust-file)
(defvar smtpmail-native-allow-plaintext-auth)
(defvar smtpmail-native-timeout)
(defvar smtpmail-native-after-send-functions)
(defvar smtpmail-native-send-failure-functions)

(defvar smtpmail-native--warned-hosts nil
  "Hosts already warned about unverified certificates this session.")

;;;; The transcript

(defun smtpmail-native--trace-writer (host)
  "Return the :trace function for a session with HOST.
With `smtpmail-debug-info', it appends each list of lines it is given to the
buffer *trace of SMTP session to HOST*, emptied now; otherwise it
ignores them.  The buffer is held in the closure, so lines that
arrive later, from a background send, still find it."
  (if (not smtpmail-debug-info)
      #'ignore
    (let ((buffer (get-buffer-create (format "*trace of SMTP session to %s*" host))))
      (with-current-buffer buffer
        (setq buffer-undo-list t)
        (erase-buffer))
      (lambda (lines)
        (when (buffer-live-p buffer)
          (with-current-buffer buffer
            (goto-char (point-max))
            (dolist (line lines)
              (insert line "\n"))))))))

;;;; Module arguments

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


;;;; The message, handed to the module

(defvar smtpmail-native--message-files t
  "Non-nil means the message reaches the module through a message file.
Emacs writes it there itself (`write-region'), where the module maps
it: no Lisp string of the message is made, whose allocation and the
garbage collection it brings blocked Emacs for tens of milliseconds
per 10 MB.  nil, or a module without them, passes the bytes as a string.")

(defun smtpmail-native--write-piece (piece file offset)
  "Write PIECE into FILE at OFFSET, byte for byte.
PIECE is one of `smtpmail-native--message-pieces'."
  (with-current-buffer (if (stringp piece) (current-buffer) (car piece))
    (let ((coding-system-for-write 'no-conversion)
          (last-coding-system-used nil)
          (file-name-handler-alist nil)
          (create-lockfiles nil)
          (write-region-annotate-functions nil)
          (write-region-post-annotation-function nil)
          (buffer-file-format nil)
          (write-region-inhibit-fsync t))
      ;; APPEND an integer: written at OFFSET, the file not truncated (its pages stay).
      (if (stringp piece)
          (write-region piece nil file offset 0)
        (write-region (nth 1 piece) (nth 2 piece) file offset 0)))))

(defun smtpmail-native--message-data ()
  "Return this buffer's message as the :data of a module send.
A message file holding the bytes `smtpmail-native--message-bytes'
returns, written by Emacs without making a string of them (see
`smtpmail-native--message-files'), or where there is none those bytes."
  (let* ((pieces (smtpmail-native--message-pieces))
         (file (and smtpmail-native--message-files
                    (smtpmail-native--message-file
                     (apply #'+ (mapcar #'smtpmail-native--piece-size pieces))))))
    (or (and file
             (condition-case nil
                 (let ((offset 0))
                   (dolist (piece pieces)
                     (smtpmail-native--write-piece piece (car file) offset)
                     (setq offset (+ offset (smtpmail-native--piece-size piece))))
                   (cdr file))
               ;; No /proc to write through, say: the bytes, as a string, will do.
               (file-error (smtpmail-native--release-data (cdr file)) nil)))
        (smtpmail-native--message-bytes))))

(defun smtpmail-native--data-bytes (data)
  "Return the bytes of DATA, the :data of a send: a string, or a message file."
  (if (stringp data) data (smtpmail-native--message-file-bytes data)))

(defun smtpmail-native--release-data (data)
  "Let go of DATA, the :data of sends that ended.
A message file's memory then serves the next message at once, not
once garbage collection finds the file unused."
  (unless (or (null data) (stringp data))
    (smtpmail-native--message-file-release data)))

;;;; Outcomes as data

(defun smtpmail-native--outcome (outcome key)
  "Return KEY of OUTCOME: a result plist or an error.
An error is (ERROR-SYMBOL MESSAGE . PLIST).  Keys are the module's:
:phase, :delivery (`sent', `not-sent', `partial' or `unknown'), :code,
:enhanced, :reply, :rejected, :auth."
  (and (consp outcome)
       (plist-get (if (keywordp (car outcome)) outcome (cddr outcome)) key)))

(defun smtpmail-native--delivery-unknown-p (outcome)
  "Non-nil when the server may have OUTCOME's message.
That is, no verdict came after the final dot."
  (eq (smtpmail-native--outcome outcome :delivery) 'unknown))

;;;; Module arguments

(defun smtpmail-native--module-arguments (session trace message-args)
  "Return (ARGS . FINISH) for sending MESSAGE-ARGS over SESSION.
SESSION is a plist of `smtpmail-native--session'; TRACE is the
:trace function (called with lists of transcript lines);
MESSAGE-ARGS are the message keywords (:from, :recipients, :data, or
:messages for a batch).  ARGS are the keyword arguments of a module
sending function.  FINISH must be called once with the outcome -- the
result plist, the error (ERROR-SYMBOL MESSAGE . PLIST), or nil when
interrupted -- so that the credentials are remembered after a
successful AUTH (the outcome's :auth) and forgotten after a refused one."
  (let ((host (plist-get session :host)))
    (cons (append (list :host host :port (plist-get session :port)
                        :stream-type (plist-get session :stream-type)
                        :helo (plist-get session :helo)
                        :allow-plaintext-auth (smtpmail-native--plaintext-auth host)
                        :timeout smtpmail-native-timeout :trace trace)
                  (cl-loop for (key value) on session by #'cddr
                           unless (memq key '(:host :port :stream-type :helo :ask :settle
                                              :credential-source))
                           append (list key value))
                  ;; A pinned certificate is trusted by its fingerprint alone.
                  (unless (plist-get session :fingerprint)
                    (when-let ((pin (smtpmail-native-trust--pin host (plist-get session :port))))
                      (list :fingerprint pin)))
                  message-args (smtpmail-native--tls-arguments host))
          (lambda (outcome)
            (funcall (plist-get session :settle)
                     (cond ((and (consp outcome) (symbolp (car outcome))
                                 (memq 'smtpmail-native-auth-error
                                       (get (car outcome) 'error-conditions)))
                            'refused)
                           ((smtpmail-native--outcome outcome :auth) 'accepted)))))))

(defun smtpmail-native--call-module (send session trace message-args)
  "Call SEND, a module sending function, over SESSION with MESSAGE-ARGS.
Return its result.  TRACE is as for `smtpmail-native--module-arguments'."
  (smtpmail-native--ensure-module)
  (pcase-let ((`(,args . ,finish) (smtpmail-native--module-arguments session trace message-args))
              (outcome nil))
    (unwind-protect
        (condition-case err
            (setq outcome (apply send args))
          (smtpmail-native-error
           (setq outcome err)
           (signal (car err) (cdr err))))
      (funcall finish outcome))))

;;;; Describing a server

(defconst smtpmail-native--probe-keywords
  '(:host :port :stream-type :helo :user :password :mechanisms :allow-plaintext-auth
    :trust-file :extra-trust-files :client-cert :client-key :fingerprint :verify
    :timeout :trace)
  "The keywords of a send that `smtpmail-native-server-info' takes too.")

(defun smtpmail-native--probe (session &rest extra)
  "Describe the server of SESSION with `smtpmail-native-server-info'.
The connection is made as a send over SESSION would make it (same
TLS settings and pin); EXTRA are further keywords (:untrusted-ok,
:login-only).  Return the module's report plist."
  (smtpmail-native--ensure-module)
  (apply #'smtpmail-native-server-info
         (append (cl-loop for (key value) on (car (smtpmail-native--module-arguments
                                                   session #'ignore nil))
                          by #'cddr
                          when (memq key smtpmail-native--probe-keywords)
                          append (list key value))
                 extra)))

(defun smtpmail-native--error-with (err &rest facts)
  "Return ERR, an error (ERROR-SYMBOL MESSAGE . PLIST), with FACTS in its plist.
FACTS go last: a key the module already gave keeps the module's value."
  (append err facts))

;;;; One message, with smtpmail's retries

(defconst smtpmail-native--sync-attempts 2
  "At most this many attempts when a synchronous send gets a 4xx.
The one retry comes after a second; Emacs waits for a synchronous send,
so longer waits belong to the queue or to a background send.")

(defun smtpmail-native--offers-auth-p (session)
  "Return non-nil when the server of SESSION has a SASL mechanism to offer.
This asks over a connection of its own, without a message."
  (condition-case nil
      (plist-get (smtpmail-native--probe session) :mechanisms)
    (smtpmail-native-error nil)))

(defun smtpmail-native--auth-would-help (err session)
  "Non-nil when smtpmail would retry ERR, from SESSION, asking for a password.
That is, for a session that did not authenticate, a 530 (RFC 4954:
authentication required) that left the message unsent, at MAIL FROM
or at DATA (whose own refusal is in the data phase), or refused
recipients (550-554) from a server that offers AUTH."
  (let ((code (smtpmail-native--outcome err :code))
        (phase (smtpmail-native--outcome err :phase)))
    (and (integerp code)
         (not (smtpmail-native--outcome err :auth))
         (or (and (= code 530)
                  (memq phase '(envelope data))
                  (eq (smtpmail-native--outcome err :delivery) 'not-sent))
             (and (eq phase 'envelope)
                  (<= 550 code 554)
                  (smtpmail-native--outcome err :rejected)
                  (smtpmail-native--offers-auth-p session))))))

(defun smtpmail-native--deliver (recipients buffer)
  "Send the message in BUFFER to RECIPIENTS as `smtpmail-via-smtp' would.
Uses smtpmail's variables as they are bound now.  4xx failures are
retried up to `smtpmail-retries' times; a 530 (or a refused
recipient) from a server offering AUTH is retried once with a
password asked for, as smtpmail does.  Return the module's result;
signal a `smtpmail-native-error' when sending fails, a `user-error'
when the module is not built."
  (smtpmail-native--ensure-module)
  (let* ((from (with-current-buffer buffer (smtpmail-native--envelope-from)))
         (data (with-current-buffer buffer (smtpmail-native--message-data)))
         (recipients (mapcar #'smtpmail-maybe-append-domain recipients))
         (message-args (list :from from :recipients recipients :data data))
         (session (smtpmail-native--session))
         (trace (smtpmail-native--trace-writer (plist-get session :host)))
         (attempt 1)
         (asked-trust nil)
         (result nil))
    (unwind-protect
        (progn
          (while (not result)
            (condition-case err
                (setq result (smtpmail-native--call-module #'smtpmail-native-send session trace
                                                           message-args))
              (smtpmail-native-tls-error
               ;; A certificate that did not verify (:verify-error): ask once, as the NSM does.
               (unless (and (smtpmail-native--outcome err :verify-error) (not asked-trust)
                            (setq asked-trust t)
                            (smtpmail-native-trust--query (plist-get session :host)
                                                          (plist-get session :port) (cddr err)))
                 (signal (car err) (cdr err)))
               (funcall trace (list "* retrying with the certificate the user trusted")))
              (smtpmail-native-auth-error
               (let ((err (smtpmail-native--error-with
                           err :user (plist-get session :user)
                           :credential-source (plist-get session :credential-source)
                           :host (plist-get session :host) :port (plist-get session :port))))
                 (signal (car err) (cdr err))))
              (smtpmail-native-temporary-error
               (unless (and (< attempt (min smtpmail-retries smtpmail-native--sync-attempts))
                            (eq (smtpmail-native--outcome err :delivery) 'not-sent))
                 (signal (car err) (cdr err)))
               (message "Got transient error code %s when sending; retrying attempt %d..."
                        (smtpmail-native--outcome err :code) attempt)
               (funcall trace (list (format "* retrying after %s (attempt %d)"
                                            (smtpmail-native--outcome err :code) attempt)))
               (cl-incf attempt)
               (sleep-for 1))
              (smtpmail-native-permanent-error
               (unless (and (not (plist-get session :ask)) (smtpmail-native--auth-would-help err session))
                 (signal (car err) (cdr err)))
               (funcall trace (list "* retrying with credentials, as the server asks for them"))
               (setq session (smtpmail-native--session t)))))
          result)
      (smtpmail-native--release-data data))))

;;;; What the user reads, and the hooks

(defconst smtpmail-native--phase-words
  '((arguments . "refused before connecting") (connect . "while connecting")
    (tls . "during the TLS handshake") (greeting . "in the server's greeting")
    (hello . "at EHLO") (starttls . "at STARTTLS") (auth . "during authentication")
    (envelope . "at MAIL FROM") (data . "at the end of the message") (quit . "at QUIT"))
  "How an error's :phase reads after the server's reply.")

(defun smtpmail-native--error-text (err)
  "Return what follows \"Sending failed: \" for the error ERR.
ERR is (ERROR-SYMBOL MESSAGE . PLIST).  With a server reply: the reply
as smtpmail shows it (\"550 5.1.1 ...\", from :code and :reply) and, in
parentheses, where it came and what became of the message, from
:phase, :rejected and :delivery.  Without one: the module's MESSAGE."
  (let ((code (smtpmail-native--outcome err :code))
        (text (nth 1 err)))
    (if (not (integerp code))
        (if (stringp text) text (error-message-string err))
      (let* ((reply (car (split-string (or (smtpmail-native--outcome err :reply) "") "\n")))
             (rejected (length (smtpmail-native--outcome err :rejected)))
             ;; The reply's first line as the server sent it, enhanced status included.
             (summary (string-trim-right (format "%d %s" code reply)))
             (context
              (delq nil
                    (list (if (> rejected 0)
                              (format "%d recipient%s refused" rejected (if (= rejected 1) "" "s"))
                            (alist-get (smtpmail-native--outcome err :phase)
                                       smtpmail-native--phase-words))
                          (pcase (smtpmail-native--outcome err :delivery)
                            ('not-sent "nothing was sent")
                            ('unknown "delivery status unknown: the server may have it")
                            ('partial "sent to the other recipients"))))))
        (if context
            (format "%s (%s)" summary (string-join context "; "))
          summary)))))

(defun smtpmail-native--advice (err)
  "Return what the user can do about the error ERR, as a sentence, or nil.
From ERR's plist: a :hint about the stream type, an authentication
refused (which user, and where the credentials came from)."
  (let* ((plist (cddr err))
         (port (plist-get plist :port)))
    (cond
     ((eq (plist-get plist :hint) 'use-starttls)
      (format-message "Set `smtpmail-stream-type' (or the account's :stream-type) \
to `starttls' for port %s" port))
     ((eq (plist-get plist :hint) 'use-ssl)
      (format-message "Set `smtpmail-stream-type' (or the account's :stream-type) \
to `ssl' for port %s" port))
     ((memq 'smtpmail-native-auth-error (get (car err) 'error-conditions))
      (let ((user (plist-get plist :user)))
        (if (not user)
            (format-message "No user name is configured for %s: set `smtpmail-smtp-user' \
or add the login to auth-source (M-x smtpmail-native-setup does both)" (plist-get plist :host))
          (format-message "The server refused user %s, whose credentials came from %s; \
correct them there, and test the login with M-x smtpmail-native-check-server"
                          user (smtpmail-native--credential-source-text
                                (plist-get plist :credential-source)
                                (plist-get plist :host) port user))))))))

(defun smtpmail-native--failure-text (err)
  "Return what follows \"Sending failed: \" for ERR, and what to do about it.
A certificate that is not trusted is described with how to trust it;
otherwise `smtpmail-native--error-text' and `smtpmail-native--advice'."
  (let ((plist (cddr err)))
    (if (and (eq (car err) 'smtpmail-native-tls-error) (plist-get plist :verify-error))
        (smtpmail-native-trust--refusal (plist-get plist :host) (plist-get plist :port) plist)
      (let ((text (smtpmail-native--error-text err))
            (advice (smtpmail-native--advice err)))
        (if advice (format "%s.  %s" text advice) text)))))

(defun smtpmail-native--run-after-send (message-id result)
  "Run `smtpmail-native-after-send-functions' for MESSAGE-ID and RESULT.
Return RESULT."
  (with-demoted-errors "smtpmail-native-after-send-functions: %S"
    (run-hook-with-args 'smtpmail-native-after-send-functions message-id result))
  result)

(defun smtpmail-native--run-failure (message-id err queue-file)
  "Run `smtpmail-native-send-failure-functions' for MESSAGE-ID, ERR and QUEUE-FILE.
QUEUE-FILE is where the message is queued (or held), or nil."
  (with-demoted-errors "smtpmail-native-send-failure-functions: %S"
    (run-hook-with-args 'smtpmail-native-send-failure-functions message-id err queue-file)))

(provide 'smtpmail-native-send)

;;; smtpmail-native-send.el ends here
