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

(require 'smtpmail)
(require 'gnutls)
(require 'nsm)
(require 'cl-lib)
(require 'subr-x)
(require 'smtpmail-native-loader)
(require 'smtpmail-native-config)

(declare-function smtpmail-native-send "ext:smtpmail-native-module" (&rest args))
(declare-function smtpmail-native-server-info "ext:smtpmail-native-module" (&rest args))

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
                           unless (memq key '(:host :port :stream-type :helo :ask :settle))
                           append (list key value))
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

;;;; One message, with smtpmail's retries

(defun smtpmail-native--offers-auth-p (session)
  "Return non-nil when the server of SESSION has a SASL mechanism to offer.
This asks over a connection of its own, without a message."
  (condition-case nil
      (plist-get (apply #'smtpmail-native-server-info
                        (cl-loop for (key value) on (car (smtpmail-native--module-arguments
                                                          session #'ignore nil))
                                 by #'cddr
                                 when (memq key '(:host :port :stream-type :helo :user
                                                  :allow-plaintext-auth :extra-trust-files
                                                  :verify :timeout :trace))
                                 append (list key value)))
                 :mechanisms)
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
         (data (with-current-buffer buffer (smtpmail-native--message-bytes)))
         (recipients (mapcar #'smtpmail-maybe-append-domain recipients))
         (message-args (list :from from :recipients recipients :data data))
         (session (smtpmail-native--session))
         (trace (smtpmail-native--trace-writer (plist-get session :host)))
         (attempt 1)
         (result nil))
    (while (not result)
      (condition-case err
          (setq result (smtpmail-native--call-module #'smtpmail-native-send session trace
                                                     message-args))
        (smtpmail-native-temporary-error
         (unless (and (< attempt smtpmail-retries)
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
    result))

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
