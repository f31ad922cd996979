;;; demo.el --- What scripts/demo runs inside Emacs  -*- lexical-binding: t; -*-

;;; Commentary:
;; Sends one message the way a user's Emacs would: smtpmail's variables and the old
;; `smtpmail-auth-credentials' say where and how, `smtpmail-native-send-it' sends it, to
;; the Exim that scripts/demo started (address, port, CA and account come in the
;; environment).  Then shows the redacted trace buffer and the message as delivered.

;;; Code:

(require 'smtpmail-native)
(require 'sendmail)

;; smtpmail dropped this variable in Emacs 24; smtpmail-native reads it again.  Declared
;; special here so that the `let*' below binds it dynamically.
(defvar smtpmail-auth-credentials)

(defun demo-env (name)
  "The environment variable NAME, which scripts/demo must have set."
  (or (getenv name) (error "Run this through scripts/demo (%s is not set)" name)))

(let* ((port (string-to-number (demo-env "SMTP_PORT")))
       (smtpmail-smtp-server "localhost")
       (smtpmail-smtp-service port)
       (smtpmail-stream-type 'starttls)
       (smtpmail-native-trust-file (demo-env "CA_FILE"))
       (smtpmail-auth-supported '(cram-md5))
       (smtpmail-auth-credentials
        (list (list "localhost" port (demo-env "AUTH_USER") (demo-env "AUTH_PASSWORD"))))
       (smtpmail-debug-info t)
       (smtpmail-local-domain "demo.example.org")
       (user-mail-address "sender@example.org")
       (user-full-name "Demo Sender"))
  (princ (format "smtpmail-native %s, module %s\n\n" (smtpmail-native-version)
                 (smtpmail-native-module-file-name)))
  (with-temp-buffer
    (insert "To: Demo Recipient <recipient@example.org>\n"
            "Subject: Hello from smtpmail-native\n"
            mail-header-separator "\n"
            "This message went from Emacs to Exim through smtpmail-native-send-it:\n"
            "smtpmail's own preparation, then STARTTLS (verified against the demo CA)\n"
            "and AUTH CRAM-MD5 with credentials from smtpmail-auth-credentials.\n"
            ".A line starting with a dot arrives intact.\n")
    (smtpmail-native-send-it))
  (princ "*trace of SMTP session to localhost* (secrets redacted):\n")
  (with-current-buffer "*trace of SMTP session to localhost*"
    (princ (buffer-string))
    (goto-char (point-min))
    (unless (search-forward "* authenticated with CRAM-MD5" nil t)
      (error "The demo did not authenticate with CRAM-MD5; see the trace above")))
  (let ((dir (demo-env "MAIL_DIR")) (deadline (+ (float-time) 10)) files)
    (while (and (null (setq files (directory-files dir t "\\.eml\\'"))) (< (float-time) deadline))
      (sleep-for 0.05))
    (unless files (error "Exim did not deliver the message"))
    (princ (format "\nDelivered to %s:\n" (car files)))
    (with-temp-buffer
      (insert-file-contents (car files))
      (princ (replace-regexp-in-string "\r" "" (buffer-string))))))

;;; demo.el ends here
