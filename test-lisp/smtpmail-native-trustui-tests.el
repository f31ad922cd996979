;;; smtpmail-native-trustui-tests.el --- Trust, check-server, setup, errors that say what to do  -*- lexical-binding: t; -*-

;;; Commentary:
;; Issue 16's Lisp side against the suite's Exims (good, self-signed): the pin question
;; with scripted answers, M-x smtpmail-native-check-server's buffer, the setup wizard with
;; canned answers, the failure texts, and the brief 4xx retry with the offer to queue.

;;; Code:

(require 'smtpmail-native-compat-fixture)  ; ert, cl-lib, smtpmail-native, test servers

(defvar smtpmail-auth-credentials)

;; The texts are compared with the quotes as written in the source.
(setq text-quoting-style 'grave)

(defun smtpmail-native-trustui--fingerprint (cert)
  "The SHA-256 fingerprint of CERT's certificate as the module writes it."
  (downcase (smtpmail-native-test-servers-get
             (concat "FINGERPRINT_" (upcase (replace-regexp-in-string "-" "_" cert))) cert)))

(defun smtpmail-native-trustui--hex (fingerprint)
  "FINGERPRINT without colons, lowercase."
  (downcase (replace-regexp-in-string ":" "" fingerprint)))

(defmacro smtpmail-native-trustui--with (cert answers &rest body)
  "Run BODY as an interactive user sending to the CERT server over STARTTLS.
No trust file; nothing pinned; a private `custom-file'.  ANSWERS is
the list of `read-multiple-choice' keys the user types (each call
takes the next; a call beyond them fails the test); `asked' counts calls."
  (declare (indent 2) (debug t))
  `(smtpmail-native-compat--with-smtp
     (let* ((smtpmail-smtp-service (smtpmail-native-test-servers-port "SMTP_PORT" ,cert))
            (smtpmail-native-trust-file nil)
            (smtpmail-native-pinned-certificates nil)
            (smtpmail-native-trust--session-pins nil)
            (custom-file (smtpmail-native-compat--file (format "custom-%d.el" (random 1000000))))
            ;; Customize saves only when an init file was read (not under -Q).
            (user-init-file custom-file)
            (noninteractive nil)
            (answers ,answers)
            (asked 0))
       (cl-letf (((symbol-function 'read-multiple-choice)
                  (lambda (_prompt choices &rest _)
                    (cl-incf asked)
                    (should answers)
                    (assq (pop answers) choices)))
                 ((symbol-function 'pop-to-buffer) #'ignore))
         ,@body))))

;;;; 1. Trust per server

(ert-deftest smtpmail-native-trustui-pin-always-then-send-by-the-pin ()
  "Always: the option holds (\"HOST:PORT\" . SHA256), saved; the next send needs no question."
  (smtpmail-native-trustui--with "self-signed" '(?a)
    (let ((id (smtpmail-native-compat--send "To: rcpt@example.org\nSubject: pinned\n")))
      (should (= asked 1))
      (should (equal smtpmail-native-pinned-certificates
                     (list (cons (format "localhost:%d" smtpmail-smtp-service)
                                 (smtpmail-native-trustui--hex
                                  (smtpmail-native-trustui--fingerprint "self-signed"))))))
      (should (string-search "smtpmail-native-pinned-certificates"
                             (with-temp-buffer (insert-file-contents custom-file) (buffer-string))))
      (should (smtpmail-native-compat--delivered id "self-signed")))
    (let ((id (smtpmail-native-compat--send "To: rcpt@example.org\nSubject: pinned again\n")))
      (should (= asked 1))
      (should (smtpmail-native-compat--delivered id "self-signed")))))

(ert-deftest smtpmail-native-trustui-pin-session-only ()
  "Session only: sends, pinned for this session, the option untouched."
  (smtpmail-native-trustui--with "self-signed" '(?s)
    (smtpmail-native-compat--send "To: rcpt@example.org\nSubject: once\n")
    (should (= asked 1))
    (should-not smtpmail-native-pinned-certificates)
    (should (smtpmail-native-trust--pin "localhost" smtpmail-smtp-service))
    (smtpmail-native-compat--send "To: rcpt@example.org\nSubject: once more\n")
    (should (= asked 1))))

(ert-deftest smtpmail-native-trustui-pin-no-refuses-with-the-way-to-trust ()
  "No: the send fails, saying why in words, with the fingerprint and the setting."
  (smtpmail-native-trustui--with "self-signed" '(?n)
    (let ((err (should-error (smtpmail-native-compat--send "To: rcpt@example.org\nSubject: no\n"))))
      (should (= asked 1))
      (should-not smtpmail-native-pinned-certificates)
      (should (string-prefix-p (format "Sending failed: the certificate of localhost:%d is not trusted: \
The certificate is self-signed" smtpmail-smtp-service)
                               (cadr err)))
      (should (string-search (smtpmail-native-trustui--fingerprint "self-signed") (cadr err)))
      (should (string-search "M-x smtpmail-native-check-server" (cadr err)))
      (should (string-search (format "(add-to-list 'smtpmail-native-pinned-certificates '(\"localhost:%d\" . \"%s\"))"
                                     smtpmail-smtp-service
                                     (smtpmail-native-trustui--hex
                                      (smtpmail-native-trustui--fingerprint "self-signed")))
                             (cadr err))))))

(ert-deftest smtpmail-native-trustui-batch-never-asks ()
  "In batch the error carries the fingerprint and the setting; nothing is asked."
  (smtpmail-native-trustui--with "expired" nil
    (let* ((noninteractive t)
           (smtpmail-native-trust-file (smtpmail-native-test-servers-get "CA_FILE" "expired"))
           (err (should-error (smtpmail-native-compat--send "To: rcpt@example.org\nSubject: b\n"))))
      (should (= asked 0))
      (should (string-search "The certificate has expired." (cadr err)))
      (should (string-search "smtpmail-native-pinned-certificates" (cadr err))))))

(ert-deftest smtpmail-native-trustui-changed-certificate-is-refused-loudly ()
  "A pin that no longer matches: no question, the send fails saying it CHANGED."
  (smtpmail-native-trustui--with "self-signed" nil
    (let* ((smtpmail-native-pinned-certificates
            (list (cons (format "localhost:%d" smtpmail-smtp-service)
                        (smtpmail-native-trustui--hex (smtpmail-native-trustui--fingerprint "good")))))
           (err (should-error (smtpmail-native-compat--send "To: rcpt@example.org\nSubject: c\n"))))
      (should (= asked 0))
      (should (string-search "CHANGED" (cadr err)))
      (should (string-search (smtpmail-native-trustui--fingerprint "self-signed") (cadr err))))))

(ert-deftest smtpmail-native-trustui-account-fingerprint-and-tls-alias ()
  "An account's :fingerprint trusts its server; `tls' is taken as `ssl' (implicit TLS)."
  (smtpmail-native-trustui--with "self-signed" nil
    (let* ((smtpmail-native-accounts
            `(("@example\\.org\\'" :server "localhost"
               :port ,(smtpmail-native-test-servers-port "SMTPS_PORT" "self-signed")
               :stream-type tls
               :fingerprint ,(smtpmail-native-trustui--fingerprint "self-signed"))))
           (id (smtpmail-native-compat--send "To: rcpt@example.org\nSubject: account pin\n")))
      (should (= asked 0))
      (should (smtpmail-native-compat--delivered id "self-signed")))))

(ert-deftest smtpmail-native-trustui-account-trust-file ()
  "An account's :trust-file is the authority its server is checked against."
  (smtpmail-native-trustui--with "good" nil
    (let* ((smtpmail-native-accounts
            `(("@example\\.org\\'" :server "localhost" :port ,smtpmail-smtp-service :stream-type starttls
               :trust-file ,(smtpmail-native-test-servers-get "CA_FILE"))))
           (id (smtpmail-native-compat--send "To: rcpt@example.org\nSubject: account ca\n")))
      (should (= asked 0))
      (should (smtpmail-native-compat--delivered id)))))

;;;; 2. M-x smtpmail-native-check-server

(defun smtpmail-native-trustui--buffer-text (buffer)
  "BUFFER's text without properties."
  (with-current-buffer buffer (buffer-substring-no-properties (point-min) (point-max))))

(ert-deftest smtpmail-native-trustui-check-trusted-server ()
  "The configured server: greeting, capabilities, TLS, verdict, AUTH, credentials, times."
  (smtpmail-native-compat--with-smtp
    (let* ((smtpmail-auth-credentials `(("localhost" ,smtpmail-smtp-service "alice" "wonderland-secret")))
           (buffer (smtpmail-native-check-server))
           (text (smtpmail-native-trustui--buffer-text buffer)))
      (with-current-buffer buffer (should (derived-mode-p 'special-mode)))
      (should (string-prefix-p (format "SMTP server localhost:%d (starttls)" smtpmail-smtp-service) text))
      (should (string-match-p "^Greeting: +220 " text))
      (should (string-match-p "^Capabilities before TLS: .*STARTTLS" text))
      (should (string-match-p "^Capabilities after TLS: .*AUTH PLAIN LOGIN CRAM-MD5" text))
      (should (string-match-p "^TLS: +TLSv1\\.[23], cipher " text))
      (should (string-match-p "^Certificate: +trusted: verified by a certificate authority" text))
      (should (string-search (smtpmail-native-trustui--fingerprint "good") text))
      (should (string-match-p "^AUTH offered: +PLAIN LOGIN CRAM-MD5$" text))
      (should (string-match-p "^A send would use: +PLAIN$" text))
      (should (string-match-p "^Credentials: +user alice, from `smtpmail-auth-credentials'" text))
      (should (string-match-p "^Times: +connect [0-9.]+ ms, TLS [0-9.]+ ms, round trip [0-9.]+ ms" text))
      (should (string-match-p "^Problems:\n  none$" text))
      (should-not (string-search "wonderland-secret" text))
      ;; l: the login test, no mail; a wrong password names the user and the source.
      (with-current-buffer buffer (smtpmail-native-check-login))
      (should (string-match-p "^Login test: +OK: user alice logged in with PLAIN"
                              (smtpmail-native-trustui--buffer-text buffer)))
      (let ((smtpmail-auth-credentials `(("localhost" ,smtpmail-smtp-service "alice" "wrong"))))
        (with-current-buffer buffer (smtpmail-native-check-login)))
      (let ((text (smtpmail-native-trustui--buffer-text buffer)))
        (should (string-match-p "^Login test: +FAILED: " text))
        (should (string-search "The server refused user alice, whose credentials came from \
`smtpmail-auth-credentials'" text))
        (should-not (string-search "wrong" (replace-regexp-in-string "wrong\\.example" "" text))))
      ;; g checks again and forgets the login test.
      (with-current-buffer buffer (revert-buffer))
      (should-not (string-search "Login test" (smtpmail-native-trustui--buffer-text buffer)))
      (kill-buffer buffer))))

(ert-deftest smtpmail-native-trustui-check-untrusted-server-offers-the-pin ()
  "A self-signed server, asked for with the prefix argument: described, never signalled,
the verdict in words and the pin offered; p with always pins it."
  (smtpmail-native-trustui--with "self-signed" '(?a)
    (let* ((port smtpmail-smtp-service)
           (current-prefix-arg '(4))
           (buffer (cl-letf (((symbol-function 'read-string) (lambda (&rest _) "localhost"))
                             ((symbol-function 'read-number) (lambda (&rest _) port))
                             ((symbol-function 'completing-read) (lambda (&rest _) "starttls")))
                     (call-interactively #'smtpmail-native-check-server)))
           (text (smtpmail-native-trustui--buffer-text buffer)))
      (should (string-match-p "^Certificate: +NOT trusted\\.  The certificate is self-signed" text))
      (should (string-match-p (concat "^SHA-256 fingerprint: +"
                                      (regexp-quote (smtpmail-native-trustui--fingerprint "self-signed")))
                              text))
      (should (string-match-p "^  \\[0\\]\n    Subject: +.*CN=localhost" text))
      (should (string-match-p "^    Valid: +from .*GMT to .*GMT" text))
      (should (string-search "press `p' to pin it" text))
      (should (string-search "[Trust this certificate]" text))
      (with-current-buffer buffer (smtpmail-native-check-pin))
      (should (= asked 1))
      (should (equal (cdar smtpmail-native-pinned-certificates)
                     (smtpmail-native-trustui--hex (smtpmail-native-trustui--fingerprint "self-signed"))))
      (should (string-match-p "^Certificate: +trusted by its pin"
                              (smtpmail-native-trustui--buffer-text buffer)))
      (kill-buffer buffer))))

(defun smtpmail-native-trustui--plist-errors-p ()
  "Non-nil when the module's errors carry a plist (the contract of issue 14).
The :hint of a stream-type mix-up comes in that plist."
  (smtpmail-native-compat--with-smtp
    (condition-case err
        (smtpmail-native-send :host "localhost" :port smtpmail-smtp-service :stream-type 'ssl
                              :from "a@example.org" :recipients '("b@example.org") :data "x"
                              :timeout 10)
      (smtpmail-native-error (keywordp (car-safe (cddr err)))))))

(ert-deftest smtpmail-native-trustui-check-wrong-stream-type-says-what-to-set ()
  "ssl against the STARTTLS port: the report says so and names the setting."
  (skip-unless (smtpmail-native-trustui--plist-errors-p))
  (smtpmail-native-compat--with-smtp
    (let* ((buffer (smtpmail-native-check-server (list "localhost" smtpmail-smtp-service 'ssl)))
           (text (smtpmail-native-trustui--buffer-text buffer)))
      (should (string-match-p "^Connection: +FAILED" text))
      (should (string-search "`smtpmail-stream-type'" text))
      (should (string-search "`starttls'" text))
      (kill-buffer buffer))))

;; The account of `user-mail-address' wins over smtpmail's variables, without a prompt.
(ert-deftest smtpmail-native-trustui-check-uses-the-account-of-user-mail-address ()
  (smtpmail-native-trustui--with "self-signed" nil
    (let* ((port (smtpmail-native-test-servers-port "SMTPS_PORT" "self-signed"))
           (smtpmail-native-accounts
            `(("@example\\.org\\'" :server "localhost" :port ,port :stream-type tls :user "alice"
               :fingerprint ,(smtpmail-native-trustui--fingerprint "self-signed"))))
           (user-mail-address "me@example.org")
           (netrc (smtpmail-native-compat--write-file
                   "account.netrc" (format "machine localhost port %d login alice password wonderland-secret\n"
                                           port)))
           (auth-sources (list netrc))
           (buffer (smtpmail-native-check-server))
           (text (smtpmail-native-trustui--buffer-text buffer)))
      (should (string-prefix-p (format "SMTP server localhost:%d (ssl)" port) text))
      (should (string-match-p "^Capabilities before TLS: +(none: TLS from the start)$" text))
      (should (string-match-p "^Capabilities after TLS: .*AUTH PLAIN LOGIN CRAM-MD5" text))
      (should (string-match-p "^Certificate: +trusted by its pin" text))
      (should (string-search (format "Credentials:               user alice, from auth-source (%s)"
                                     (abbreviate-file-name netrc))
                             text))
      (should (= asked 0))
      (kill-buffer buffer))))

;;;; 3. M-x smtpmail-native-setup

(ert-deftest smtpmail-native-trustui-setup-with-scripted-answers ()
  "The wizard: probes the ports, pins the untrusted certificate, tests the login,
stores the secret in the first auth-source file, saves with Customize, sends a test mail."
  (smtpmail-native-trustui--with "self-signed" '(?a)
    (let* ((authinfo (smtpmail-native-compat--write-file (format "authinfo-%d" (random 1000000)) ""))
           (auth-sources (list authinfo))
           (smtpmail-native-setup-ports
            `((,(smtpmail-native-test-servers-port "SMTPS_PORT" "self-signed") . ssl)
              (,smtpmail-smtp-service . starttls)))
           (smtpmail-native-setup--answers
            (list "alice@example.org" "localhost" "alice" "wonderland-secret" t t))
           (smtpmail-smtp-server nil)
           (smtpmail-smtp-user nil)
           (send-mail-function nil)
           (message-send-mail-function nil)
           (implicit (car (car smtpmail-native-setup-ports))))
      (smtpmail-native-setup)
      (should-not smtpmail-native-setup--answers)
      (should (= asked 1))
      (should (equal smtpmail-smtp-server "localhost"))
      (should (equal smtpmail-smtp-service implicit))
      (should (eq smtpmail-stream-type 'ssl))
      (should (equal smtpmail-smtp-user "alice"))
      (should (eq send-mail-function #'smtpmail-native-send-it))
      (should (assoc (format "localhost:%d" implicit) smtpmail-native-pinned-certificates))
      (should (equal (format "machine localhost login alice port %d password wonderland-secret\n" implicit)
                     (with-temp-buffer (insert-file-contents authinfo) (buffer-string))))
      (let ((saved (with-temp-buffer (insert-file-contents custom-file) (buffer-string))))
        (dolist (var '("smtpmail-smtp-server" "smtpmail-smtp-service" "smtpmail-stream-type"
                       "smtpmail-smtp-user" "send-mail-function"))
          (should (string-search var saved)))
        (should-not (string-search "wonderland-secret" saved)))
      (should (smtpmail-native-test-servers-delivered
               (lambda (bytes) (string-search "Subject: smtpmail-native test" bytes))
               "self-signed")))))

(ert-deftest smtpmail-native-trustui-setup-declined-certificate-stops ()
  "No to the certificate: the wizard stops with the fingerprint, before any password."
  (smtpmail-native-trustui--with "self-signed" '(?n)
    (let* ((smtpmail-native-setup-ports `((,smtpmail-smtp-service . starttls)))
           (smtpmail-native-setup--answers (list "alice@example.org" "localhost"))
           (err (should-error (smtpmail-native-setup) :type 'user-error)))
      (should (= asked 1))
      (should-not smtpmail-native-pinned-certificates)
      (should (string-search (smtpmail-native-trustui--fingerprint "self-signed") (cadr err)))
      (should-not (file-exists-p custom-file)))))

(ert-deftest smtpmail-native-trustui-setup-wrong-password-stores-nothing ()
  (smtpmail-native-trustui--with "good" nil
    (let* ((authinfo (smtpmail-native-compat--write-file (format "authinfo-%d" (random 1000000)) ""))
           (auth-sources (list authinfo))
           (smtpmail-native-trust-file (smtpmail-native-test-servers-get "CA_FILE"))
           (smtpmail-native-setup-ports `((,smtpmail-smtp-service . starttls)))
           (smtpmail-native-setup--answers (list "alice@example.org" "localhost" "alice" "nope"))
           (err (should-error (smtpmail-native-setup) :type 'user-error)))
      (should (string-prefix-p "The login failed: " (cadr err)))
      (should (string-search "user alice" (cadr err)))
      (should (equal "" (with-temp-buffer (insert-file-contents authinfo) (buffer-string)))))))

;;;; 4. Errors that say what to do

(ert-deftest smtpmail-native-trustui-535-names-the-user-and-the-source ()
  (smtpmail-native-compat--with-smtp
    (let* ((authinfo (smtpmail-native-compat--write-file
                      "wrong.netrc" (format "machine localhost port %d login alice password wrong\n"
                                            smtpmail-smtp-service)))
           (auth-sources (list authinfo))
           (smtpmail-servers-requiring-authorization ".")
           (err (should-error (smtpmail-native-compat--send "To: rcpt@example.org\nSubject: 535\n"))))
      (should (string-prefix-p "Sending failed: " (cadr err)))
      (should (string-search (format "The server refused user alice, whose credentials came from \
auth-source (%s)" (abbreviate-file-name authinfo))
                             (cadr err)))
      (should-not (string-search "password wrong" (cadr err))))))

(ert-deftest smtpmail-native-trustui-hint-texts ()
  "The :hint of the module's error plist becomes the setting to change."
  (let ((starttls (smtpmail-native--failure-text
                   '(smtpmail-native-tls-error "the server talks plain SMTP on port 465"
                                               :phase tls :hint use-starttls :host "h" :port 465)))
        (ssl (smtpmail-native--failure-text
              '(smtpmail-native-timeout "no greeting" :phase greeting :hint use-ssl
                                        :host "h" :port 587))))
    (should (equal starttls "the server talks plain SMTP on port 465.  Set `smtpmail-stream-type' \
\(or the account's :stream-type) to `starttls' for port 465"))
    (should (equal ssl "no greeting.  Set `smtpmail-stream-type' (or the account's :stream-type) \
to `ssl' for port 587"))))

;;;; 5. Transient failures

(ert-deftest smtpmail-native-trustui-4xx-retries-once-then-offers-the-queue ()
  "A 451: one retry after a second (not `smtpmail-retries'), then the offer to queue; yes queues."
  (smtpmail-native-compat--with-smtp
    (let* ((port (smtpmail-native-test-servers-start-sink))
           (smtpmail-smtp-service port)
           (smtpmail-stream-type 'plain)
           (smtpmail-retries 10)
           (smtpmail-queue-dir (file-name-as-directory
                                (smtpmail-native-compat--file (format "queue-%d" (random 1000000)))))
           (noninteractive nil)
           (offered nil)
           (retries 0)
           (start (float-time)))
      (cl-letf (((symbol-function 'y-or-n-p) (lambda (prompt) (push prompt offered) t)))
        (advice-add 'smtpmail-native-send :before (lambda (&rest _) (cl-incf retries))
                    '((name . trustui-count)))
        (unwind-protect
            (smtpmail-native-compat--send "To: tempfail@example.org\nSubject: later\n")
          (advice-remove 'smtpmail-native-send 'trustui-count)))
      (should (= retries 2))
      (should (< (- (float-time) start) 5))
      (should (= 1 (length offered)))
      (should (string-search "Queue it to send later" (car offered)))
      (should (= 1 (length (directory-files smtpmail-queue-dir nil "_[0-9]+\\.el\\'")))))))

(ert-deftest smtpmail-native-trustui-4xx-in-batch-fails-without-asking ()
  (smtpmail-native-compat--with-smtp
    (let* ((smtpmail-smtp-service (smtpmail-native-test-servers-start-sink))
           (smtpmail-stream-type 'plain)
           (smtpmail-retries 10)
           (err (cl-letf (((symbol-function 'y-or-n-p) (lambda (&rest _) (error "Asked"))))
                  (should-error (smtpmail-native-compat--send "To: tempfail@example.org\nSubject: b\n")))))
      (should (string-prefix-p "Sending failed: " (cadr err)))
      (should (string-match-p "451 4\\.3\\.0" (cadr err))))))

(provide 'smtpmail-native-trustui-tests)

;;; smtpmail-native-trustui-tests.el ends here
