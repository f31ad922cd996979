;;; demo.el --- What scripts/demo runs inside Emacs  -*- lexical-binding: t; -*-

;;; Commentary:
;; Sends one message through smtpmail-native to the Exim that scripts/demo started
;; (its address, port, CA and test account come in the environment), then shows the
;; redacted trace, the outcome and the message as delivered.

;;; Code:

(require 'smtpmail-native)

(defun demo-env (name)
  "The environment variable NAME, which scripts/demo must have set."
  (or (getenv name) (error "Run this through scripts/demo (%s is not set)" name)))

(let* ((message (concat "From: Demo Sender <sender@example.org>\n"
                        "To: Demo Recipient <recipient@example.org>\n"
                        "Subject: Hello from smtpmail-native\n"
                        "Message-ID: <demo." (format-time-string "%s") "@example.org>\n"
                        "\n"
                        "This message went from Emacs to Exim through a C++ module:\n"
                        "STARTTLS (verified against the demo CA), then AUTH CRAM-MD5.\n"
                        ".A line starting with a dot arrives intact.\n"))
       (trace nil)
       (result (smtpmail-native-send
                :host "localhost" :port (string-to-number (demo-env "SMTP_PORT"))
                :stream-type 'starttls :trust-file (demo-env "CA_FILE")
                :user (demo-env "AUTH_USER") :password (demo-env "AUTH_PASSWORD")
                :mechanisms '(cram-md5) :helo "demo.example.org"
                :from "sender@example.org" :recipients '("recipient@example.org")
                :data message :trace (lambda (line) (push line trace)))))
  (princ (format "smtpmail-native %s, module %s\n\n" (smtpmail-native-version)
                 (smtpmail-native-module-file-name)))
  (princ "Session trace (secrets redacted):\n")
  (dolist (line (nreverse trace)) (princ (format "  %s\n" line)))
  (princ (format "\nResult: %S\n" result))
  (let ((dir (demo-env "MAIL_DIR")) (deadline (+ (float-time) 10)) files)
    (while (and (null (setq files (directory-files dir t "\\.eml\\'"))) (< (float-time) deadline))
      (sleep-for 0.05))
    (unless files (error "Exim did not deliver the message"))
    (princ (format "\nDelivered to %s:\n" (car files)))
    (with-temp-buffer
      (insert-file-contents (car files))
      (princ (replace-regexp-in-string "\r" "" (buffer-string))))))

;;; demo.el ends here
