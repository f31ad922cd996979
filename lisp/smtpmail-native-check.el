;;; smtpmail-native-check.el --- M-x smtpmail-native-check-server: a report on a server  -*- lexical-binding: t; -*-

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

;; `smtpmail-native-check-server' connects to the configured server (or
;; one the user names) the way a send would, without sending mail, and
;; writes what it found into a report buffer: greeting, capabilities,
;; TLS, the certificate chain with the verdict in words (also, and above
;; all, when it is not trusted: the report is where the user decides to
;; pin it), the AUTH mechanisms and the one a send would use, where the
;; credentials come from, times, and each problem with what fixes it.
;; In the buffer, `g' checks again, `l' tests the login (AUTH, then
;; QUIT: no mail) and `p' pins an untrusted certificate.

;;; Code:

(require 'cl-lib)
(require 'subr-x)
(require 'smtpmail)
(require 'smtpmail-native-send)        ; and through it -trust and -config

(defvar-local smtpmail-native-check--server nil
  "The server this report describes.
nil is the configured one; else a list (HOST PORT STREAM-TYPE).")

(defvar-local smtpmail-native-check--report nil
  "The last report plist of `smtpmail-native-server-info' in this buffer, or nil.")

(defvar-local smtpmail-native-check--login nil
  "The last login test of this buffer: the report of a :login-only probe, or nil.")

(defvar smtpmail-native-check-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map "l" #'smtpmail-native-check-login)
    (define-key map "p" #'smtpmail-native-check-pin)
    map)
  "Keymap of `smtpmail-native-check-mode'.")

(define-derived-mode smtpmail-native-check-mode special-mode "SMTP-Check"
  "Major mode of the report of \\[smtpmail-native-check-server].
\\<smtpmail-native-check-mode-map>\\[revert-buffer] checks again,
\\[smtpmail-native-check-login] tests the login without sending mail,
\\[smtpmail-native-check-pin] trusts an untrusted certificate by its
fingerprint.

\\{smtpmail-native-check-mode-map}"
  (setq-local revert-buffer-function #'smtpmail-native-check--revert))

;;;; The session to check

(defun smtpmail-native-check--session (server)
  "Return the session plist for SERVER, as `smtpmail-native-check--server'.
nil means the configured server: the account of `smtpmail-native-accounts'
for `user-mail-address', else smtpmail's variables."
  (let ((settings (if server
                      `((smtpmail-smtp-server . ,(nth 0 server))
                        (smtpmail-smtp-service . ,(nth 1 server))
                        (smtpmail-stream-type . ,(nth 2 server)))
                    (smtpmail-native--account-settings user-mail-address))))
    (cl-progv (mapcar #'car settings) (mapcar #'cdr settings)
      (smtpmail-native--session))))

(defun smtpmail-native-check--read-server ()
  "Ask for a host, a port and a stream type; return (HOST PORT STREAM-TYPE)."
  (let* ((host (read-string "SMTP server: " smtpmail-smtp-server))
         (port (read-number "Port: " (if (numberp smtpmail-smtp-service) smtpmail-smtp-service 587)))
         (type (completing-read "Stream type: " '("starttls" "ssl" "plain") nil t nil nil
                                (if (= port 465) "ssl" "starttls"))))
    (list host port (intern type))))

;;;; The report

(defun smtpmail-native-check--words (list)
  "Return the strings of LIST joined by spaces, or \"(none)\"."
  (if list (mapconcat (lambda (x) (format "%s" x)) list " ") "(none)"))

(defun smtpmail-native-check--verdict (info)
  "Return the certificate verdict of report INFO in words."
  (cond ((plist-get info :pinned)
         "trusted by its pin in `smtpmail-native-pinned-certificates' (or the account's :fingerprint)")
        ((plist-get info :verified) "trusted: verified by a certificate authority")
        (t (concat "NOT trusted.  " (smtpmail-native-trust--reason (plist-get info :verify-error))))))

(defun smtpmail-native-check--problems (session info)
  "Return the problems of report INFO for SESSION: a list of sentences."
  (let ((host (plist-get session :host))
        (port (plist-get session :port))
        (problems nil))
    (when (and (plist-get info :tls-version) (not (plist-get info :verified)))
      (push (if (eq (plist-get info :verify-error) 'pin-mismatch)
                (smtpmail-native-trust--refusal host port info)
              (format-message "The certificate is not trusted, so no mail is sent: press `p' \
to pin it (after checking the fingerprint with the server's administrator), or, for a \
private certificate authority, add its certificate to `smtpmail-native-trust-file'"))
            problems))
    (unless (plist-get info :tls-version)
      (push (format-message "The connection is not encrypted: set `smtpmail-stream-type' to \
`starttls'%s or `ssl'" (if (member "STARTTLS" (plist-get info :capabilities-before-tls))
                           " (the server offers STARTTLS)" ""))
            problems))
    (cond ((not (plist-get session :user))
           (push (format-message "No user name is configured for %s: set `smtpmail-smtp-user' \
and add the password to auth-source (M-x smtpmail-native-setup does both), unless the \
server takes mail without a login" host)
                 problems))
          ((not (plist-get info :mechanisms))
           (push (format-message "A user name is configured but the server offers no AUTH here%s"
                                 (if (plist-get info :tls-version) ""
                                     ": servers usually offer it only after STARTTLS"))
                 problems))
          ((and (plist-get info :mechanisms) (not (plist-get info :chosen-mechanism)))
           (push (format-message "None of the offered mechanisms is allowed: check \
`smtpmail-auth-supported' and `smtpmail-native-allow-plaintext-auth'")
                 problems)))
    (nreverse problems)))

(defun smtpmail-native-check--insert-row (label value)
  "Insert a report row LABEL: VALUE."
  (insert (format "%-26s %s\n" (concat label ":") value)))

(defun smtpmail-native-check--insert-report (session info)
  "Insert the report INFO of a probe of SESSION."
  (let ((host (plist-get session :host))
        (port (plist-get session :port))
        (user (plist-get session :user)))
    (smtpmail-native-check--insert-row "Greeting" (plist-get info :greeting))
    (smtpmail-native-check--insert-row "Capabilities before TLS"
                                       (if (plist-get info :capabilities-before-tls)
                                           (string-join (plist-get info :capabilities-before-tls) ", ")
                                         "(none: TLS from the start)"))
    (when (plist-get info :tls-version)
      (smtpmail-native-check--insert-row "Capabilities after TLS"
                                         (string-join (plist-get info :capabilities-after-tls) ", "))
      (smtpmail-native-check--insert-row "TLS" (format "%s, cipher %s" (plist-get info :tls-version)
                                                       (plist-get info :cipher)))
      (smtpmail-native-check--insert-row "Certificate" (smtpmail-native-check--verdict info))
      (smtpmail-native-check--insert-row "SHA-256 fingerprint" (plist-get info :fingerprint))
      (insert "Certificate chain (the server's first):\n")
      (cl-loop for cert in (plist-get info :chain) for i from 0
               do (insert (format "  [%d]\n" i)
                          (smtpmail-native-trust--describe-certificate cert 4))))
    (smtpmail-native-check--insert-row "AUTH offered"
                                       (smtpmail-native-check--words (plist-get info :mechanisms)))
    (smtpmail-native-check--insert-row "A send would use"
                                       (if (plist-get info :chosen-mechanism)
                                           (upcase (format "%s" (plist-get info :chosen-mechanism)))
                                         "no AUTH"))
    (smtpmail-native-check--insert-row
     "Credentials"
     (if user
         (format "user %s, from %s (the secret is not shown)" user
                 (smtpmail-native--credential-source-text (plist-get session :credential-source)
                                                          host port user))
       "none configured"))
    (smtpmail-native-check--insert-row
     "Times" (format "connect %.1f ms, TLS %s, round trip %.1f ms"
                     (plist-get info :connect-ms)
                     (if (plist-get info :tls-version) (format "%.1f ms" (plist-get info :tls-ms)) "-")
                     (plist-get info :round-trip-ms)))))

(defun smtpmail-native-check--insert-login (session)
  "Insert the result of the last login test of this buffer, over SESSION."
  (when-let ((login smtpmail-native-check--login))
    (let ((err (plist-get login :auth-error)))
      (smtpmail-native-check--insert-row
       "Login test"
       (cond ((plist-get login :auth)
              (format "OK: user %s logged in with %s (no mail sent)" (plist-get session :user)
                      (upcase (format "%s" (plist-get login :auth)))))
             (err (concat "FAILED: "
                          (smtpmail-native--failure-text
                           (smtpmail-native--error-with
                            err :user (plist-get session :user)
                            :credential-source (plist-get session :credential-source)
                            :host (plist-get session :host) :port (plist-get session :port)))))
             (t "not tried"))))))

(defun smtpmail-native-check--render (session info failure)
  "Fill this buffer with the report of SESSION: INFO, or the error FAILURE."
  (let ((inhibit-read-only t)
        (host (plist-get session :host))
        (port (plist-get session :port)))
    (erase-buffer)
    (insert (format "SMTP server %s:%s (%s)\n\n" host port (or (plist-get session :stream-type)
                                                                "default stream type")))
    (if failure
        (progn
          (smtpmail-native-check--insert-row "Connection" "FAILED")
          (insert "\nProblems:\n"
                  "  - " (smtpmail-native--failure-text
                          (smtpmail-native--error-with failure :host host :port port))
                  "\n"))
      (smtpmail-native-check--insert-report session info)
      (smtpmail-native-check--insert-login session)
      (let ((problems (smtpmail-native-check--problems session info)))
        (insert "\nProblems:\n")
        (if problems
            (dolist (p problems) (insert "  - " p "\n"))
          (insert "  none\n"))))
    (insert "\n")
    (insert-text-button "[Check again]" 'action (lambda (_) (revert-buffer)) 'follow-link t)
    (insert " ")
    (unless failure
      (insert-text-button "[Test the login]" 'action (lambda (_) (smtpmail-native-check-login))
                          'follow-link t)
      (when (and (plist-get info :tls-version) (not (plist-get info :verified))
                 (not (eq (plist-get info :verify-error) 'pin-mismatch)))
        (insert " ")
        (insert-text-button "[Trust this certificate]"
                            'action (lambda (_) (smtpmail-native-check-pin)) 'follow-link t)))
    (insert "\n")
    (goto-char (point-min))))

(defun smtpmail-native-check--run ()
  "Probe this buffer's server and render the report."
  (let* ((session (smtpmail-native-check--session smtpmail-native-check--server))
         (failure nil)
         (info (condition-case err
                   (smtpmail-native--probe session :untrusted-ok t)
                 (smtpmail-native-error (setq failure err) nil))))
    (setq smtpmail-native-check--report info)
    (smtpmail-native-check--render session info failure)))

(defun smtpmail-native-check--revert (&rest _)
  "Check this buffer's server again, forgetting the last login test."
  (setq smtpmail-native-check--login nil)
  (smtpmail-native-check--run))

;;;; Commands

;;;###autoload (autoload 'smtpmail-native-check-server "smtpmail-native" nil t)
(defun smtpmail-native-check-server (&optional server)
  "Connect to the SMTP server as a send would, and report what it found.
No mail is sent and nothing is signalled for an untrusted certificate:
the report shows it, with its fingerprint, so that you can decide to
trust it.  The server is the configured one (the account of
`smtpmail-native-accounts' for `user-mail-address', else smtpmail's
variables); with a prefix argument, ask for host, port and stream
type.  From Lisp, SERVER is nil or (HOST PORT STREAM-TYPE).  Return the
report buffer."
  (interactive (list (and current-prefix-arg (smtpmail-native-check--read-server))))
  (let* ((session (smtpmail-native-check--session server))
         (buffer (get-buffer-create (format "*SMTP check %s:%s*" (plist-get session :host)
                                            (plist-get session :port)))))
    (with-current-buffer buffer
      (smtpmail-native-check-mode)
      (setq smtpmail-native-check--server server)
      (smtpmail-native-check--run))
    (when (called-interactively-p 'any) (pop-to-buffer buffer))
    buffer))

(defun smtpmail-native-check-login ()
  "Test the login on this report's server: AUTH, then QUIT, no mail."
  (interactive nil smtpmail-native-check-mode)
  (let ((session (smtpmail-native-check--session smtpmail-native-check--server)))
    (unless (plist-get session :user)
      (user-error "No user name is configured for %s" (plist-get session :host)))
    (setq smtpmail-native-check--login
          (condition-case err
              (smtpmail-native--probe session :login-only t)
            (smtpmail-native-error (list :auth-error err))))
    (funcall (plist-get session :settle)
             (cond ((plist-get smtpmail-native-check--login :auth) 'accepted)
                   ((memq 'smtpmail-native-auth-error
                          (get (car (plist-get smtpmail-native-check--login :auth-error))
                               'error-conditions))
                    'refused)))
    (if smtpmail-native-check--report
        (smtpmail-native-check--render session smtpmail-native-check--report nil)
      (smtpmail-native-check--run))
    (message "Login %s" (if (plist-get smtpmail-native-check--login :auth) "OK" "failed"))))

(defun smtpmail-native-check-pin ()
  "Trust the certificate of this report, after asking once/always/no."
  (interactive nil smtpmail-native-check-mode)
  (let* ((session (smtpmail-native-check--session smtpmail-native-check--server))
         (info smtpmail-native-check--report))
    (unless (and (plist-get info :tls-version) (not (plist-get info :verified)))
      (user-error "There is no untrusted certificate to trust here"))
    (when (smtpmail-native-trust--query (plist-get session :host) (plist-get session :port) info)
      (revert-buffer))))

(provide 'smtpmail-native-check)

;;; smtpmail-native-check.el ends here
