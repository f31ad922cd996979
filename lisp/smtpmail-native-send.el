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
With `smtpmail-debug-info', it appends the lines it is given to the
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
            (dolist (line (ensure-list lines))
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

(defun smtpmail-native--module-arguments (session trace message-args)
  "Return (ARGS . FINISH) for sending MESSAGE-ARGS over SESSION.
SESSION is a plist of `smtpmail-native--session'; TRACE is the
:trace function; MESSAGE-ARGS are the message keywords (:from,
:recipients, :data, or :messages for a batch).  ARGS are the keyword
arguments of a module sending function.  FINISH must be called once
with the outcome -- the result plist, the error (ERROR-SYMBOL . DATA),
or nil when interrupted -- so that the credentials are remembered
after a successful AUTH and forgotten after a refused one."
  (let ((host (plist-get session :host))
        (authenticated nil))
    (cons (append (list :host host :port (plist-get session :port)
                        :stream-type (plist-get session :stream-type)
                        :helo (plist-get session :helo)
                        :allow-plaintext-auth (smtpmail-native--plaintext-auth host)
                        :timeout smtpmail-native-timeout
                        :trace (lambda (lines)
                                 (dolist (line (ensure-list lines))
                                   (when (string-prefix-p "* authenticated with " line)
                                     (setq authenticated t)))
                                 (funcall trace lines)))
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
                           (authenticated 'accepted)))))))

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
signal a `smtpmail-native-error' when sending fails, a `user-error'
when the module is not built."
  (smtpmail-native--ensure-module)
  (let* ((from (with-current-buffer buffer (smtpmail-native--envelope-from)))
         (data (with-current-buffer buffer (smtpmail-native--message-bytes)))
         (recipients (mapcar #'smtpmail-maybe-append-domain recipients))
         (message-args (list :from from :recipients recipients :data data))
         (session (smtpmail-native--session))
         (write-trace (smtpmail-native--trace-writer (plist-get session :host)))
         (lines nil)
         (trace (lambda (new)
                  (setq lines (append lines (ensure-list new)))
                  (funcall write-trace new)))
         (attempt 1)
         (result nil))
    (while (not result)
      (setq lines nil)
      (condition-case err
          (setq result (smtpmail-native--call-module #'smtpmail-native-send session trace
                                                     message-args))
        (smtpmail-native-temporary-error
         (unless (< attempt smtpmail-retries)
           (signal (car err) (cdr err)))
         (message "Got transient error code %s when sending; retrying attempt %d..."
                  (nth 2 err) attempt)
         (funcall trace (format "* retrying after %s (attempt %d)" (nth 2 err) attempt))
         (cl-incf attempt)
         (sleep-for 1))
        (smtpmail-native-permanent-error
         (unless (and (not (plist-get session :ask)) (smtpmail-native--auth-would-help err lines))
           (signal (car err) (cdr err)))
         (funcall trace "* retrying with credentials, as the server asks for them")
         (setq session (smtpmail-native--session t)))))
    result))

;;;; Outcomes

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

(defun smtpmail-native--run-after-send (message-id result)
  "Run `smtpmail-native-after-send-functions' for MESSAGE-ID and RESULT.
Return RESULT."
  (with-demoted-errors "smtpmail-native-after-send-functions: %S"
    (run-hook-with-args 'smtpmail-native-after-send-functions message-id result))
  result)

(defun smtpmail-native--run-failure (message-id err queue-file)
  "Run `smtpmail-native-send-failure-functions' for MESSAGE-ID, ERR and QUEUE-FILE."
  (with-demoted-errors "smtpmail-native-send-failure-functions: %S"
    (run-hook-with-args 'smtpmail-native-send-failure-functions message-id err queue-file)))

(provide 'smtpmail-native-send)

;;; smtpmail-native-send.el ends here
