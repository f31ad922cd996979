;;; smtpmail-native-secrets-tests.el --- No secret reaches a trace, a message, an error or the queue  -*- lexical-binding: t; -*-

;;; Commentary:
;; Every mechanism the module supports -- PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256,
;; DIGEST-MD5, XOAUTH2, OAUTHBEARER -- logs in through the drop-in `smtpmail-native-send-it'
;; at full trace (`smtpmail-debug-info', `smtpmail-debug-verb') against the private Dovecots
;; of smtpmail-native-sasl-fixture.el, once with the right secret and once with a wrong
;; password or a refused token.  Each time, no secret in any form (itself, base64, the PLAIN
;; and OAuth blobs, or any base64 run that decodes to bytes holding it) may be found in
;; the trace buffer, *Messages*, *Warnings*, the signalled error or the module's own error
;; data (printed with %S), any other buffer left behind, or any file of the queue: a
;; failing flush (two messages, so one batch session) records its error in the queue, and so
;; does a failing background send (`smtpmail-native-async').
;;
;; The secrets are unique to the run, so that an absence cannot come from a mismatch, and
;; `smtpmail-native-secrets-scanner' proves the scanner finds each of them when planted.

;;; Code:

(require 'smtpmail-native-sasl-fixture)  ; and the compat fixture with all it requires

;; smtpmail-native.el reads this removed smtpmail variable; let-bind it dynamically.
(defvar smtpmail-auth-credentials)

(defconst smtpmail-native-secrets-tests--wrong-password
  (smtpmail-native-sasl-fixture-unique "Wr0ng-Pa55-")
  "A password the servers refuse.")

(defconst smtpmail-native-secrets-tests--refused-token
  (smtpmail-native-sasl-fixture-unique "R3fus3d-T0k3n-")
  "A token the introspection endpoint calls inactive.")

(defconst smtpmail-native-secrets-tests--oauth-password
  (smtpmail-native-sasl-fixture-unique "0auth-Pa55-")
  "The password of the OAuth logins' credentials, which only the token may replace.")

(defconst smtpmail-native-secrets-tests--secrets
  (list smtpmail-native-sasl-fixture-secret-password smtpmail-native-secrets-tests--wrong-password
        smtpmail-native-sasl-fixture-token smtpmail-native-secrets-tests--refused-token
        smtpmail-native-secrets-tests--oauth-password)
  "Every secret a login of this suite may hold.")

(defconst smtpmail-native-secrets-tests--mechanisms
  '(plain login cram-md5 scram-sha-1 scram-sha-256 digest-md5 xoauth2 oauthbearer)
  "Every mechanism the module supports that sends a secret.")

(defvar smtpmail-native-secrets-tests--oauth-port nil
  "Port of the oauth2 Dovecot, for the OAUTHBEARER blob (which names it).")

(defvar smtpmail-native-secrets-tests--errors nil
  "The module's errors, as `smtpmail-native-send-failure-functions' heard them.")

(defvar smtpmail-native-secrets-tests--log-start nil
  "Alist (BUFFER-NAME . SIZE): where this test's part of a log buffer starts.
ERT itself writes a failed test's report, secrets included, to *Messages*.")

;;;; Scanning

(defun smtpmail-native-secrets-tests--leak (text &optional secrets)
  "The form of SECRETS (default: all of this suite's) found in TEXT, or nil."
  (cl-loop for user in (list smtpmail-native-sasl-fixture-secret-user "alice")
           thereis (smtpmail-native-sasl-fixture-find-secret
                    text user (or secrets smtpmail-native-secrets-tests--secrets)
                    "localhost" smtpmail-native-secrets-tests--oauth-port)))

(defun smtpmail-native-secrets-tests--buffer-text (name)
  "The text of the buffer NAME, or \"\" when there is none.
For *Messages* and *Warnings*, only what this test added."
  (if (get-buffer name)
      (with-current-buffer name
        (buffer-substring-no-properties
         (min (point-max)
              (1+ (or (cdr (assoc name smtpmail-native-secrets-tests--log-start)) 0)))
         (point-max)))
    ""))

(defun smtpmail-native-secrets-tests--log-sizes ()
  "The current sizes of *Messages* and *Warnings*, for `--log-start'."
  (mapcar (lambda (name) (cons name (if (get-buffer name) (buffer-size (get-buffer name)) 0)))
          '("*Messages*" "*Warnings*")))

(defun smtpmail-native-secrets-tests--trace ()
  "The text of the trace buffer of the last session with localhost."
  (smtpmail-native-secrets-tests--buffer-text "*trace of SMTP session to localhost*"))

(defun smtpmail-native-secrets-tests--queue-files ()
  "Every file under `smtpmail-queue-dir' (hidden ones too), as (FILE . BYTES)."
  (and (file-directory-p smtpmail-queue-dir)
       (mapcar (lambda (file) (cons file (smtpmail-native-test-servers-read-file file)))
               (directory-files-recursively smtpmail-queue-dir "" nil nil t))))

(defun smtpmail-native-secrets-tests--check (mech &rest errors)
  "Check that the last session with MECH left no secret anywhere.
The trace must show the AUTH command; ERRORS are error data to scan."
  (let ((trace (smtpmail-native-secrets-tests--trace)))
    (should (string-match-p (format "^C: AUTH %s\\( \\|$\\)" (upcase (symbol-name mech))) trace))
    (should-not (smtpmail-native-secrets-tests--leak trace)))
  ;; *Messages*, *Warnings* and any other buffer left behind (the job list, ...).
  (dolist (buffer (buffer-list))
    (ert-info ((buffer-name buffer) :prefix "buffer: ")
      (should-not (smtpmail-native-secrets-tests--leak
                   (smtpmail-native-secrets-tests--buffer-text (buffer-name buffer))))))
  (dolist (err errors)
    (should-not (smtpmail-native-secrets-tests--leak (format "%S" err))))
  (pcase-dolist (`(,file . ,bytes) (smtpmail-native-secrets-tests--queue-files))
    (ert-info (file :prefix "queue file: ")
      (should-not (smtpmail-native-secrets-tests--leak bytes)))))

;;;; Logging in

(defmacro smtpmail-native-secrets-tests--with-dropin (&rest body)
  "Run BODY with smtpmail tracing fully and a private queue.
The module's errors are recorded in `smtpmail-native-secrets-tests--errors';
*Messages* and *Warnings* are scanned from where BODY starts."
  (declare (indent 0) (debug t))
  `(smtpmail-native-compat--with-smtp
     (let ((smtpmail-debug-info t)
           (smtpmail-debug-verb t)
           ;; *Messages* keeps all it is told while the test runs.
           (message-log-max t)
           (smtpmail-native-secrets-tests--log-start (smtpmail-native-secrets-tests--log-sizes))
           (smtpmail-queue-dir (file-name-as-directory
                                (smtpmail-native-compat--fresh-file "secrets-queue-%d/")))
           (smtpmail-native-secrets-tests--oauth-port (smtpmail-native-sasl-fixture-port t))
           (smtpmail-native-secrets-tests--errors nil)
           (smtpmail-native-send-failure-functions
            (list (lambda (_id err _file) (push err smtpmail-native-secrets-tests--errors)))))
       ,@body)))

(defun smtpmail-native-secrets-tests--as (mech secret function)
  "Call FUNCTION with smtpmail set to log in with MECH and SECRET.
A password goes to the plain Dovecot as the run's secret user; a
token to the oauth2 Dovecot as alice, through
`smtpmail-native-oauth2-token-function'."
  (let* ((oauth (memq mech '(xoauth2 oauthbearer)))
         (port (smtpmail-native-sasl-fixture-port oauth))
         (smtpmail-smtp-service port)
         (smtpmail-auth-supported (list mech))
         (smtpmail-auth-credentials
          (list (if oauth
                    (list "localhost" port "alice" smtpmail-native-secrets-tests--oauth-password)
                  (list "localhost" port smtpmail-native-sasl-fixture-secret-user secret))))
         (smtpmail-native-oauth2-token-function (and oauth (lambda (&rest _) secret))))
    (funcall function)))

(defun smtpmail-native-secrets-tests--good-and-bad (mech)
  "The secret MECH logs in with, and one the server refuses."
  (if (memq mech '(xoauth2 oauthbearer))
      (list smtpmail-native-sasl-fixture-token smtpmail-native-secrets-tests--refused-token)
    (list smtpmail-native-sasl-fixture-secret-password smtpmail-native-secrets-tests--wrong-password)))

(defun smtpmail-native-secrets-tests--each-mechanism (accepted refused)
  "For each mechanism, call ACCEPTED and REFUSED with it (either may be nil).
ACCEPTED runs logged in with the right secret and the trace must then
show the login; REFUSED with a wrong one, the recorded errors cleared."
  (dolist (mech smtpmail-native-secrets-tests--mechanisms)
    (pcase-let ((`(,good ,bad) (smtpmail-native-secrets-tests--good-and-bad mech)))
      (when accepted
        (ert-info ((symbol-name mech) :prefix "accepted: ")
          (smtpmail-native-secrets-tests--as
           mech good (lambda ()
                       (funcall accepted mech)
                       (should (string-search (format "* authenticated with %s" (upcase (symbol-name mech)))
                                              (smtpmail-native-secrets-tests--trace)))))))
      (when refused
        (ert-info ((symbol-name mech) :prefix "refused: ")
          (smtpmail-native-secrets-tests--as
           mech bad (lambda ()
                      (setq smtpmail-native-secrets-tests--errors nil)
                      (funcall refused mech))))))))

(defun smtpmail-native-secrets-tests--wait-for-jobs ()
  "Wait (up to 30 s) until no background send is active."
  (let ((deadline (+ (float-time) 30)))
    (while (and (smtpmail-native-async--active-jobs) (< (float-time) deadline))
      (accept-process-output nil 0.01)))
  (should-not (smtpmail-native-async--active-jobs)))

;;;; The scanner itself

(ert-deftest smtpmail-native-secrets-scanner ()
  "The scanner finds every secret in every form when planted, and nothing else.
So a test finding nothing did look for the right thing."
  (let ((smtpmail-native-secrets-tests--oauth-port 10587))
    (dolist (user (list smtpmail-native-sasl-fixture-secret-user "alice"))
      (dolist (secret smtpmail-native-secrets-tests--secrets)
        (dolist (form (smtpmail-native-sasl-fixture-secret-forms user secret "localhost" 10587))
          (ert-info (form :prefix "planted: ")
            (should (smtpmail-native-secrets-tests--leak (concat "C: AUTH PLAIN " form "\n")))
            ;; Glued to other text, and in error data printed with %S.
            (should (smtpmail-native-secrets-tests--leak (concat "x" form "y")))
            (should (smtpmail-native-secrets-tests--leak
                     (format "%S" (list 'error (concat "Sending failed: " form) 535))))))))
    ;; Base64 of bytes no form lists, but holding a secret: found by decoding.
    (let ((blob (base64-encode-string (concat "prefix\0" smtpmail-native-secrets-tests--wrong-password "\1") t)))
      (should (smtpmail-native-secrets-tests--leak (concat "C: " blob "\n"))))
    ;; The run's secrets are all different.
    (should (= (length (delete-dups (copy-sequence smtpmail-native-secrets-tests--secrets)))
               (length smtpmail-native-secrets-tests--secrets)))
    ;; What a clean trace looks like is not a leak.
    (should-not (smtpmail-native-secrets-tests--leak
                 (concat "S: 220 dovecot-test.localhost ESMTP\nC: AUTH PLAIN <redacted>\n"
                         "S: 334 " (base64-encode-string "r=abcdefgh,s=c2FsdA==,i=4096" t) "\n"
                         "C: <redacted>\n* authenticated with PLAIN\n"
                         (base64-encode-string (concat "\0carol\0not-the-password") t) "\n")))
    ;; The buffers scanned are the ones messages and warnings go to, from where the
    ;; test started.
    (let ((before (smtpmail-native-sasl-fixture-unique "C0ntr0l-"))
          (message-log-max t))
      (message "Planted before: %s" before)
      (let ((smtpmail-native-secrets-tests--log-start (smtpmail-native-secrets-tests--log-sizes))
            (control (smtpmail-native-sasl-fixture-unique "C0ntr0l-"))
            (warning (smtpmail-native-sasl-fixture-unique "C0ntr0l-")))
        (message "Planted: %s" control)
        (display-warning 'smtpmail-native-secrets-tests (concat "planted " warning))
        (should (smtpmail-native-secrets-tests--leak
                 (smtpmail-native-secrets-tests--buffer-text "*Messages*") (list control)))
        (should-not (smtpmail-native-secrets-tests--leak
                     (smtpmail-native-secrets-tests--buffer-text "*Messages*") (list before)))
        (should (smtpmail-native-secrets-tests--leak
                 (smtpmail-native-secrets-tests--buffer-text "*Warnings*") (list warning)))))))

;;;; Every mechanism, sending at once

(ert-deftest smtpmail-native-secrets-every-mechanism ()
  "Each mechanism logs in, or is refused, leaving no secret behind."
  (skip-unless (smtpmail-native-sasl-fixture-dovecot-available))
  (smtpmail-native-secrets-tests--with-dropin
    (smtpmail-native-secrets-tests--each-mechanism
     (lambda (mech)
       (should (smtpmail-native-compat--one (smtpmail-native-compat--send "To: bob@example.org\n")))
       (smtpmail-native-secrets-tests--check mech))
     (lambda (mech)
       (let ((err (should-error (smtpmail-native-compat--send "To: bob@example.org\n"))))
         (should (string-match-p "\\`Sending failed: 535" (cadr err)))
         (should (eq (caar smtpmail-native-secrets-tests--errors) 'smtpmail-native-auth-error))
         (should (eql (plist-get (cddr (car smtpmail-native-secrets-tests--errors)) :code) 535))
         (should (eq (plist-get (cddr (car smtpmail-native-secrets-tests--errors)) :phase) (quote auth)))
         (should (eq (plist-get (cddr (car smtpmail-native-secrets-tests--errors)) :delivery) (quote not-sent)))
         (apply #'smtpmail-native-secrets-tests--check mech err smtpmail-native-secrets-tests--errors))))))

;;;; The queue: a flush that fails records its error

(ert-deftest smtpmail-native-secrets-queue-flush ()
  "A queued message whose flush is refused, by each mechanism, keeps no secret in the queue."
  (skip-unless (smtpmail-native-sasl-fixture-dovecot-available))
  (smtpmail-native-secrets-tests--with-dropin
    ;; Two messages for one server: the flush sends them over one session (a batch).
    (let ((smtpmail-queue-mail t))
      (smtpmail-native-compat--send "To: bob@example.org\n")
      (smtpmail-native-compat--send "To: carol@example.org\n"))
    (should (= (length (smtpmail-native-secrets-tests--queue-files)) 5)) ; 2 messages, 2 .el, index
    (smtpmail-native-secrets-tests--each-mechanism
     nil
     (lambda (mech)
       (let* ((outcome (smtpmail-native-send-queued-mail))
              (error-text (cdar (plist-get outcome :failed))))
         (should (= (plist-get outcome :sent) 0))
         (should (= (length (plist-get outcome :failed)) 2))
         (should (string-match-p "\\`535" error-text))
         ;; The second message's text says the session ended before it, readably.
         (dolist (failed (plist-get outcome :failed))
           (should (= (cl-count ?\( (cdr failed)) (cl-count ?\) (cdr failed)))))
         ;; The error really is in the queue, which is what is scanned.
         (should (cl-some (lambda (file) (string-search "smtpmail-native-queue-error" (cdr file)))
                          (smtpmail-native-secrets-tests--queue-files)))
         (smtpmail-native-secrets-tests--check mech outcome))))
    ;; The right secret then sends it.
    (smtpmail-native-secrets-tests--as
     'scram-sha-256 smtpmail-native-sasl-fixture-secret-password
     (lambda ()
       (should (equal (plist-get (smtpmail-native-send-queued-mail) :sent) 2))
       (smtpmail-native-secrets-tests--check 'scram-sha-256)))))

;;;; Background sends: a failure goes to the queue

(ert-deftest smtpmail-native-secrets-async ()
  "Background sends by each mechanism, sent or refused and queued, leave no secret behind."
  (skip-unless (smtpmail-native-sasl-fixture-dovecot-available))
  (smtpmail-native-secrets-tests--with-dropin
    (let ((smtpmail-native-async t)
          (smtpmail-native-async--jobs nil))
      (smtpmail-native-secrets-tests--each-mechanism
       (lambda (mech)
         (let ((id (smtpmail-native-compat--send "To: bob@example.org\n")))
           (smtpmail-native-secrets-tests--wait-for-jobs)
           (should (eq (smtpmail-native-async--job-state (car smtpmail-native-async--jobs)) 'sent))
           (should (smtpmail-native-compat--one id))
           (smtpmail-native-secrets-tests--check mech)))
       (lambda (mech)
         (smtpmail-native-compat--send "To: bob@example.org\n")
         (smtpmail-native-secrets-tests--wait-for-jobs)
         (let ((job (car smtpmail-native-async--jobs)))
           (should (eq (smtpmail-native-async--job-state job) 'failed))
           (should (string-match-p "\\`535" (smtpmail-native-async--job-error-text job)))
           (should (file-exists-p (smtpmail-native-async--job-queue-file job))))
         (should (eq (caar smtpmail-native-secrets-tests--errors) 'smtpmail-native-auth-error))
         ;; M-x smtpmail-native-jobs shows the error too; the buffer is scanned with the rest.
         (save-window-excursion (smtpmail-native-jobs))
         (should (string-search (format "authentication with %s failed" (upcase (symbol-name mech)))
                                (smtpmail-native-secrets-tests--buffer-text "*smtpmail-native jobs*")))
         (apply #'smtpmail-native-secrets-tests--check mech smtpmail-native-secrets-tests--errors))))))

(provide 'smtpmail-native-secrets-tests)

;;; smtpmail-native-secrets-tests.el ends here
