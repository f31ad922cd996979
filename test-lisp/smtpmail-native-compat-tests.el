;;; smtpmail-native-compat-tests.el --- smtpmail-native-send-it as a drop-in for smtpmail  -*- lexical-binding: t; -*-

;;; Commentary:
;; The smtpmail-compatible layer against real, private Exim servers (started by
;; smtpmail-native-test-servers.el): each smtpmail variable, the credential sources
;; (smtpmail-auth-credentials as a list and as a file, plain and .gpg; auth-source;
;; secrets as functions), per-From accounts, X-Message-SMTP-Method, message-mode,
;; the errors, the trace, and that no secret shows anywhere.  The queue has its own
;; file, smtpmail-native-queue-tests.el.
;; The fixture and the servers are in smtpmail-native-compat-fixture.el.
;; With smtpmail's untouched `smtpmail-auth-supported' the module's own mechanism
;; order applies (Lisp passes no list): over TLS that is PLAIN (auth=plain:...).

;;; Code:

(require 'smtpmail-native-compat-fixture)  ; ert, cl-lib, smtpmail-native, test servers
(require 'rfc2047)

;; Read by smtpmail-native.el, bound here: it must be dynamic in this file too.
(defvar smtpmail-auth-credentials)

;;;; Message preparation (smtpmail-send-it's own)

(ert-deftest smtpmail-native-compat-prepared-like-smtpmail ()
  "From, Message-Id, Date are added; Bcc is delivered but not shown; MIME for non-ASCII."
  (smtpmail-native-compat--with-smtp
    (let* ((id (smtpmail-native-compat--send
                (concat "To: to@example.org\nCc: Carbon <cc@example.org>\n"
                        "Bcc: hidden@example.org\nSubject: Grüße\n")
                "caf\u00e9\n.dot line\n"))
           (copies (smtpmail-native-compat--delivered id)))
      (should (equal (sort (mapcar (lambda (c)
                                     (and (string-match "\\.\\([^.]+@.*\\)\\.eml\\'" (car c))
                                          (match-string 1 (car c))))
                                   copies)
                           #'string<)
                     '("cc@example.org" "hidden@example.org" "to@example.org")))
      (dolist (copy copies)
        (let ((bytes (cdr copy)))
          (should-not (string-match-p "^Bcc:" bytes))
          (should-not (string-search "hidden@" (smtpmail-native-test-servers-strip-received bytes)))
          (should (equal (smtpmail-native-compat--header bytes "From") "Test Sender <sender@example.org>"))
          (should (smtpmail-native-compat--header bytes "Message-Id"))
          (should (smtpmail-native-compat--header bytes "Date"))
          (should (string-prefix-p "=?utf-8?" (smtpmail-native-compat--header bytes "Subject")))
          (should (equal (rfc2047-decode-string (smtpmail-native-compat--header bytes "Subject"))
                         "Grüße"))
          (should (string-match-p "charset=utf-8" (smtpmail-native-compat--header bytes "Content-type")))
          (should (equal (smtpmail-native-compat--body bytes) "caf\303\251\n.dot line\n"))
          (should (string-match-p "with esmtps .*(envelope-from <sender@example.org>)"
                                  (smtpmail-native-compat--received bytes))))))))

;; What Emacs's own `smtpmail-send-it' hands to `smtpmail-via-smtp' for the buffer FILL
;; makes, encoded as smtpmail encodes it, with LF line ends.
(defun smtpmail-native-compat--smtpmail-prepared (fill)
  "The bytes `smtpmail-send-it' prepares from a buffer FILL (a function) fills."
  (let ((prepared nil))
    (with-temp-buffer
      (funcall fill)
      (cl-letf (((symbol-function 'smtpmail-via-smtp)
                 (lambda (_recipients buffer &rest _)
                   (with-current-buffer buffer
                     (setq prepared (encode-coding-string
                                     (buffer-string)
                                     (if smtpmail-code-conv-from
                                         (coding-system-change-eol-conversion
                                          smtpmail-code-conv-from 'unix)
                                       'raw-text-unix))))
                   nil)))
        (smtpmail-send-it)))
    prepared))

(ert-deftest smtpmail-native-compat-prepared-bytes-like-smtpmail ()
  "The bytes sent and queued are those `smtpmail-send-it' prepares, whichever way.
An ASCII or unibyte body is left out of smtpmail's preparation and
follows it; a multibyte one, or a message with Fcc, is prepared whole.
Each message reaches the module through a memory file, and again as a
string (`smtpmail-native--message-files' nil, as without memory files)."
  (smtpmail-native-compat--with-smtp
    (let ((smtpmail-queue-dir (file-name-as-directory (smtpmail-native-compat--file "prepared-queue")))
          (n 0)
          (variants
           `(("ASCII, no final newline" nil "Subject: plain\n" "line\n.dot\nlast")
             ("swallowed blank line" t "Subject: swallowed\n"
              ,(concat mail-header-separator "\nFrom: body@example.org\n"))
             ;; (With a blank line swallowed too, smtpmail would split the MIME header.)
             ("non-ASCII header: a MIME header added" nil "Subject: Gr\u00fc\u00dfe\n" "ASCII\n")
             ("unibyte, 8-bit body" unibyte
              "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n"
              "caf\303\251\n")
             ("multibyte non-ASCII body" nil "Subject: x\n" "caf\u00e9\n")
             ("narrowed" narrow "Subject: narrowed\n" "sent\nNOT SENT\n"))))
      (dolist (files '(t nil))
        (dolist (variant variants)
          (pcase-let* ((`(,label ,how ,headers ,body) variant)
                       (smtpmail-native--message-files files)
                       (id (format "%s-%d" (smtpmail-native-compat--id) (cl-incf n)))
                       (fill (lambda ()
                               (when (eq how 'unibyte) (set-buffer-multibyte nil))
                               (insert "To: to@example.org\nFrom: sender@example.org\n"
                                       "Date: Sat, 05 Dec 2026 08:00:00 +0000\n"
                                       "Message-Id: <" id "@example.org>\nX-Test-Id: " id "\n"
                                       headers mail-header-separator "\n" body)
                               (when (eq how 'narrow)
                                 (narrow-to-region (point-min) (- (point-max) (length "NOT SENT\n")))))))
            ;; Obsolete, but smtpmail-send-it still obeys it: a newline after the headers.
            (cl-progv '(mail-mailer-swallows-blank-line) (list (eq how t))
              (let ((expected (smtpmail-native-compat--smtpmail-prepared fill)))
                (ert-info ((format "%s%s" label (if files "" ", as a string")))
                  (with-temp-buffer
                    (funcall fill)
                    (smtpmail-native-send-it)
                    (let ((smtpmail-queue-mail t))
                      (smtpmail-native-send-it)))
                  (should (equal (replace-regexp-in-string
                                  "\r\n" "\n" (smtpmail-native-test-servers-strip-received
                                                (smtpmail-native-compat--one id)))
                                 expected))
                  (let ((queued (car (last (smtpmail-native-queue--entries)))))
                    (should (equal (with-temp-buffer
                                     (set-buffer-multibyte nil)
                                     (insert-file-contents-literally queued)
                                     (buffer-string))
                                   expected))))))))))))

(ert-deftest smtpmail-native-compat-aliases-and-fcc ()
  "Mail aliases are expanded and Fcc is written, by smtpmail-send-it's own code."
  (smtpmail-native-compat--with-smtp
    (let* ((mail-aliases '(("team" . "ann@example.org, ben@example.org")))
           (fcc (smtpmail-native-compat--file "fcc-mbox"))
           (id (smtpmail-native-compat--send (format "To: team\nFcc: %s\nSubject: alias\n" fcc))))
      (should (equal (sort (mapcar (lambda (c) (and (string-match "\\.\\([^.]+@.*\\)\\.eml\\'" (car c))
                                                    (match-string 1 (car c))))
                                   (smtpmail-native-compat--delivered id))
                           #'string<)
                     '("ann@example.org" "ben@example.org")))
      (should (string-search (concat "X-Test-Id: " id)
                             (with-temp-buffer (insert-file-contents fcc) (buffer-string)))))))

(ert-deftest smtpmail-native-compat-resent-recipients ()
  "With Resent-To, only the Resent-* recipients get the message."
  (smtpmail-native-compat--with-smtp
    (let ((id (smtpmail-native-compat--send
               (concat "From: orig@example.org\nTo: original@example.org\n"
                       "Resent-To: resent@example.org\nSubject: r\n"))))
      (let ((copies (smtpmail-native-compat--delivered id)))
        (should (= 1 (length copies)))
        (should (string-match-p "resent@example\\.org\\.eml\\'" (caar copies)))))))

(ert-deftest smtpmail-native-compat-sendto-domain-local-domain-envelope ()
  "smtpmail-sendto-domain, smtpmail-local-domain and the envelope-from variables."
  (smtpmail-native-compat--with-smtp
    (let* ((smtpmail-sendto-domain "example.net")
           (smtpmail-local-domain "compat.invalid")
           (mail-specify-envelope-from t)
           (mail-envelope-from "bounces@example.org")
           (id (smtpmail-native-compat--send "To: bob\nSubject: d\n"))
           (copies (smtpmail-native-compat--delivered id))
           (received (smtpmail-native-compat--received (cdar copies))))
      (should (string-match-p "bob@example\\.net\\.eml\\'" (caar copies)))
      (should (string-prefix-p (format "Received: from %s.compat.invalid " (system-name)) received))
      (should (string-match-p "(envelope-from <bounces@example.org>)" received)))
    (let ((smtpmail-mail-address nil)
          (id (smtpmail-native-compat--send "From: Other <other@example.org>\nTo: x@example.org\n")))
      (should (string-match-p "(envelope-from <other@example.org>)"
                              (smtpmail-native-compat--received (smtpmail-native-compat--one id)))))))

(ert-deftest smtpmail-native-compat-code-conv-from ()
  "smtpmail-code-conv-from decides the bytes and the charset."
  (smtpmail-native-compat--with-smtp
    (let* ((smtpmail-code-conv-from 'iso-8859-1)
           (bytes (smtpmail-native-compat--one
                   (smtpmail-native-compat--send "To: x@example.org\nSubject: latin\n" "caf\u00e9\n"))))
      (should (string-match-p "charset=iso-8859-1" (smtpmail-native-compat--header bytes "Content-type")))
      (should (equal (smtpmail-native-compat--body bytes) "caf\351\n")))))

;;;; Connection variables

(ert-deftest smtpmail-native-compat-stream-types-and-service ()
  "smtpmail-stream-type ssl/plain/nil and smtpmail-smtp-service as a number or string."
  (smtpmail-native-compat--with-smtp
    (let ((smtpmail-stream-type 'ssl)
          (smtpmail-smtp-service (smtpmail-native-compat--port "good" "SMTPS_PORT")))
      (should (string-match-p "with esmtps "
                              (smtpmail-native-compat--sent-via "To: a@example.org\n"))))
    (let ((smtpmail-stream-type 'plain)
          (smtpmail-smtp-service (number-to-string smtpmail-smtp-service)))
      (should (string-match-p "with esmtp (envelope"
                              (smtpmail-native-compat--sent-via "To: b@example.org\n"))))
    (let ((smtpmail-stream-type nil))
      (should (string-match-p "with esmtps "
                              (smtpmail-native-compat--sent-via "To: c@example.org\n"))))))

(ert-deftest smtpmail-native-compat-trust ()
  "The test CA is trusted via smtpmail-native-trust-file or gnutls-trustfiles, else refused."
  (smtpmail-native-compat--with-smtp
    (let ((smtpmail-native-trust-file nil)
          (gnutls-trustfiles (list (smtpmail-native-test-servers-get "CA_FILE"))))
      (smtpmail-native-compat--one (smtpmail-native-compat--send "To: t@example.org\n")))
    (let ((smtpmail-native-trust-file nil)
          (gnutls-trustfiles nil))
      (smtpmail-native-compat--should-fail (smtpmail-native-compat--send "To: t@example.org\n")
                                           "certificate" starttls not-sent))))

(ert-deftest smtpmail-native-compat-network-security-level-low ()
  "`network-security-level' low sends to an untrusted certificate, with a warning."
  (smtpmail-native-compat--with-smtp
    (let ((smtpmail-smtp-service (smtpmail-native-compat--port "self-signed"))
          (warnings nil))
      (smtpmail-native-compat--should-fail (smtpmail-native-compat--send "To: l@example.org\n")
                                           "certificate" starttls not-sent)
      (cl-letf (((symbol-function 'display-warning)
                 (lambda (type message &rest _) (push (list type message) warnings))))
        (let ((network-security-level 'low)
              (smtpmail-native--warned-hosts nil))
          (smtpmail-native-compat--one (smtpmail-native-compat--send "To: l@example.org\n") "self-signed")))
      (should (equal (caar warnings) 'smtpmail-native))
      (should (string-match-p "not verified" (cadar warnings))))))

;;;; Errors, retries and the trace

(ert-deftest smtpmail-native-compat-errors-like-smtpmail ()
  "A refused recipient is \"Sending failed: 550 5.1.1 ...\"; nothing is delivered.
With credentials: without, smtpmail (and so this) would ask for them
and retry, which `smtpmail-native-compat-530-asks-for-credentials' tests."
  (smtpmail-native-compat--with-smtp
    (setq smtpmail-auth-credentials (smtpmail-native-compat--alice))
    (let ((text (smtpmail-native-compat--should-fail
                 (smtpmail-native-compat--send "To: ok@example.org, reject-me@example.org\n")
                 "\\`Sending failed: 550 5\\.1\\.1 <reject-me@example\\.org>: recipient rejected" envelope not-sent)))
      (should (string-match-p "nothing was sent" text)))
    (smtpmail-native-compat--should-fail (smtpmail-native-compat--send "Subject: nobody\n")
                                         "no recipients")
    (let ((smtpmail-smtp-service 1))
      (smtpmail-native-compat--should-fail (smtpmail-native-compat--send "To: x@example.org\n")
                                           "refused" connect not-sent))))

(ert-deftest smtpmail-native-compat-retries ()
  "4xx is retried up to smtpmail-retries attempts, then reported."
  (smtpmail-native-compat--with-smtp
    (let ((smtpmail-debug-info t)
          (smtpmail-retries 2))
      (smtpmail-native-compat--should-fail (smtpmail-native-compat--send "To: tempfail@example.org\n")
                                           "\\`Sending failed: 451 4\\.3\\.0" envelope not-sent)
      (with-current-buffer "*trace of SMTP session to localhost*"
        (should (= 2 (how-many "^\\* connected to " (point-min) (point-max))))
        (should (= 1 (how-many "^\\* retrying after 451" (point-min) (point-max))))))
    (let ((smtpmail-debug-info t)
          (smtpmail-retries 1))
      (smtpmail-native-compat--should-fail (smtpmail-native-compat--send "To: tempfail@example.org\n")
                                           "451" envelope not-sent)
      (with-current-buffer "*trace of SMTP session to localhost*"
        (should (= 1 (how-many "^\\* connected to " (point-min) (point-max))))))))

(ert-deftest smtpmail-native-compat-debug-info-trace-buffer ()
  "smtpmail-debug-info keeps *trace of SMTP session to HOST*; without it there is none."
  (smtpmail-native-compat--with-smtp
    (when (get-buffer "*trace of SMTP session to localhost*")
      (kill-buffer "*trace of SMTP session to localhost*"))
    (smtpmail-native-compat--send "To: q@example.org\n")
    (should-not (get-buffer "*trace of SMTP session to localhost*"))
    (let ((smtpmail-debug-info t))
      (smtpmail-native-compat--send "To: q@example.org\n"))
    (with-current-buffer "*trace of SMTP session to localhost*"
      (goto-char (point-min))
      (should (re-search-forward "^S: 220 " nil t))
      (should (re-search-forward "^C: STARTTLS$" nil t))
      (should (re-search-forward "^\\* TLS established" nil t))
      (should (re-search-forward "^C: RCPT TO:<q@example.org>$" nil t))
      (should (re-search-forward "^S: 250 OK id=" nil t)))))

;;;; Credentials and mechanisms

(ert-deftest smtpmail-native-compat-auth-credentials-list ()
  "The list form: port as number or string, password as string, function or nil (asked)."
  (smtpmail-native-compat--with-smtp
    (let* ((port smtpmail-smtp-service)
           (calls 0)
           (smtpmail-auth-credentials
            `(("elsewhere" ,port "bob" "builder")
              ("localhost" ,port "alice" ,smtpmail-native-compat-password))))
      (should (string-match-p "(auth=plain:alice)"
                              (smtpmail-native-compat--sent-via "To: l1@example.org\n")))
      (setq smtpmail-auth-credentials
            `(("localhost" ,(number-to-string port) "alice"
               ,(lambda () (cl-incf calls) smtpmail-native-compat-password))))
      (smtpmail-native-compat--one (smtpmail-native-compat--send "To: l2@example.org\n"))
      (should (= calls 1))
      (setq smtpmail-auth-credentials `(("localhost" ,port "alice" nil)))
      (smtpmail-native-compat--with-prompts
          `(("SMTP password for alice@localhost" . ,smtpmail-native-compat-password))
        (smtpmail-native-compat--one (smtpmail-native-compat--send "To: l3@example.org\n"))
        (should (= 1 (length prompts)))
        ;; Asked once: the password cache answers the second time.
        (smtpmail-native-compat--one (smtpmail-native-compat--send "To: l4@example.org\n"))
        (should (= 1 (length prompts)))))))

(ert-deftest smtpmail-native-compat-secret-only-when-needed ()
  "A password function is not called when the server offers no AUTH."
  (smtpmail-native-compat--with-smtp
    (let* ((calls 0)
           (smtpmail-smtp-service (smtpmail-native-compat--port "noauth"))
           (smtpmail-auth-credentials
            `(("localhost" ,smtpmail-smtp-service "alice" ,(lambda () (cl-incf calls) "x")))))
      (smtpmail-native-compat--one (smtpmail-native-compat--send "To: n@example.org\n") "noauth")
      (should (= calls 0)))))

(ert-deftest smtpmail-native-compat-auth-credentials-file ()
  "The file form: an authinfo file wins over auth-sources; a non-matching one falls through."
  (smtpmail-native-compat--with-smtp
    (let* ((port smtpmail-smtp-service)
           (smtpmail-auth-credentials
            (smtpmail-native-compat--write-file
             "creds.authinfo"
             (format "machine localhost port %d login alice password %s smtp-auth login\n"
                     port smtpmail-native-compat-password))))
      (should (string-match-p "(auth=login:alice)"
                              (smtpmail-native-compat--sent-via "To: f1@example.org\n"))))
    (let* ((smtpmail-auth-credentials
            (smtpmail-native-compat--write-file "other.authinfo" "machine elsewhere login x password y\n"))
           (auth-sources (list (smtpmail-native-compat--write-file
                                "fallback.netrc"
                                (format "machine localhost login alice password %s\n"
                                        smtpmail-native-compat-password)))))
      (should (string-match-p "(auth=plain:alice)"
                              (smtpmail-native-compat--sent-via "To: f2@example.org\n"))))))

(defun smtpmail-native-compat--gpg-file (plain)
  "Encrypt the file PLAIN to a throwaway key; return the .gpg file, or nil.
GNUPGHOME is set to a private directory for the rest of the run."
  (let ((home (smtpmail-native-compat--file "gnupg")))
    (make-directory home t)
    (set-file-modes home #o700)
    (setenv "GNUPGHOME" home)
    (and (executable-find "gpg")
         (eq 0 (call-process "gpg" nil nil nil "--batch" "--passphrase" "" "--quick-gen-key"
                             "smtpmail-native test <test@example.invalid>"
                             "future-default" "default" "never"))
         (eq 0 (call-process "gpg" nil nil nil "--batch" "--yes" "--trust-model" "always"
                             "-r" "test@example.invalid" "-o" (concat plain ".gpg") "-e" plain))
         (progn
           (add-hook 'kill-emacs-hook
                     (lambda () (call-process "gpgconf" nil nil nil "--kill" "gpg-agent")))
           (concat plain ".gpg")))))

(ert-deftest smtpmail-native-compat-auth-credentials-gpg-file ()
  "The file form encrypted with gpg, read through auth-source's netrc backend."
  (smtpmail-native-compat--with-smtp
    (let* ((plain (smtpmail-native-compat--write-file
                   "creds.authinfo.plain"
                   (format "machine localhost port %d login alice password %s\n"
                           smtpmail-smtp-service smtpmail-native-compat-password)))
           (gpg (smtpmail-native-compat--gpg-file plain)))
      (delete-file plain)
      (skip-unless gpg)
      (let ((smtpmail-auth-credentials gpg))
        (should (string-match-p "(auth=plain:alice)"
                                (smtpmail-native-compat--sent-via "To: g@example.org\n")))))))

(ert-deftest smtpmail-native-compat-auth-source-netrc ()
  "auth-source as smtpmail searches it: host, port, smtpmail-smtp-user, smtp-auth."
  (smtpmail-native-compat--with-smtp
    (let ((auth-sources (list (smtpmail-native-compat--write-file
                               "users.netrc"
                               (format "machine localhost port %d login bob password builder smtp-auth plain
machine localhost port %d login alice password %s\n"
                                       smtpmail-smtp-service smtpmail-smtp-service
                                       smtpmail-native-compat-password)))))
      (should (string-match-p "(auth=plain:bob)"
                              (smtpmail-native-compat--sent-via "To: a1@example.org\n")))
      (let ((smtpmail-smtp-user "alice"))
        (should (string-match-p "(auth=plain:alice)"
                                (smtpmail-native-compat--sent-via "To: a2@example.org\n")))))))

(ert-deftest smtpmail-native-compat-auth-supported ()
  "smtpmail-auth-supported orders the mechanisms."
  (smtpmail-native-compat--with-smtp
    (let ((smtpmail-auth-credentials `(("localhost" ,smtpmail-smtp-service "alice"
                                        ,smtpmail-native-compat-password))))
      (dolist (mech '((login . "login") (plain . "plain") (cram-md5 . "cram_md5")))
        (let ((smtpmail-auth-supported (list (car mech) 'plain)))
          (should (string-match-p (format "(auth=%s:alice)" (cdr mech))
                                  (smtpmail-native-compat--sent-via "To: m@example.org\n"))))))))

(ert-deftest smtpmail-native-compat-plaintext-auth-policy ()
  "PLAIN in the clear: allowed on loopback by default, refused when not allowed."
  (smtpmail-native-compat--with-smtp
    (let ((smtpmail-stream-type 'plain)
          (smtpmail-auth-supported '(plain))
          (smtpmail-auth-credentials `(("localhost" ,smtpmail-smtp-service "alice"
                                        ,smtpmail-native-compat-password))))
      (should (string-match-p "with esmtpa .*(auth=plain:alice)"
                              (smtpmail-native-compat--sent-via "To: p@example.org\n")))
      (let ((smtpmail-native-allow-plaintext-auth nil))
        (smtpmail-native-compat--should-fail (smtpmail-native-compat--send "To: p@example.org\n")
                                             "without TLS" auth not-sent)))))

(ert-deftest smtpmail-native-compat-servers-requiring-authorization ()
  "A server matching the regexp gets credentials at once, asked for and saved after success."
  (smtpmail-native-compat--with-smtp
    (let* ((netrc (smtpmail-native-compat--write-file "saved.netrc" ""))
           (auth-sources (list netrc))
           (auth-source-save-behavior t))
      ;; Not required: no credentials, no prompt, sent without AUTH.
      (should-not (string-match-p "auth="
                                  (smtpmail-native-compat--sent-via "To: r1@example.org\n")))
      (let ((smtpmail-servers-requiring-authorization "\\`localhost\\'"))
        ;; A wrong answer: the AUTH fails, nothing is saved.
        (smtpmail-native-compat--with-prompts '(("user name" . "alice") ("password" . "wrong-password"))
          (smtpmail-native-compat--should-fail (smtpmail-native-compat--send "To: r2@example.org\n")
                                               "\\`Sending failed: 535 " auth not-sent))
        (should (equal (with-temp-buffer (insert-file-contents netrc) (buffer-string)) ""))
        (smtpmail-native-compat--with-prompts `(("user name" . "alice")
                                                ("password" . ,smtpmail-native-compat-password))
          (should (string-match-p "(auth=plain:alice)"
                                  (smtpmail-native-compat--sent-via "To: r3@example.org\n")))
          (should (= 2 (length prompts))))
        (should (string-match-p (format "machine localhost.*login alice.*password %s"
                                        smtpmail-native-compat-password)
                                (with-temp-buffer (insert-file-contents netrc) (buffer-string))))))))

(ert-deftest smtpmail-native-compat-530-asks-for-credentials ()
  "A 530, or a refused recipient, from a server offering AUTH makes smtpmail ask and retry.
\(auth-source asks for the user name only when it may save it.)"
  (smtpmail-native-compat--with-smtp
    (let ((smtpmail-smtp-service (smtpmail-native-compat--port "auth530"))
          (auth-sources (list (smtpmail-native-compat--write-file "530.netrc" "")))
          (auth-source-save-behavior t)
          (smtpmail-debug-info t))
      (smtpmail-native-compat--with-prompts `(("user name" . "alice")
                                              ("password" . ,smtpmail-native-compat-password))
        (should (string-match-p "(auth=plain:alice)"
                                (smtpmail-native-compat--sent-via "To: x@example.org\n" "auth530")))
        (should (= 2 (length prompts))))
      (with-current-buffer "*trace of SMTP session to localhost*"
        (should (= 1 (how-many "^S: 530 " (point-min) (point-max))))
        (should (= 1 (how-many "^\\* authenticated with" (point-min) (point-max))))))
    (let ((auth-sources (list (smtpmail-native-compat--write-file "550.netrc" "")))
          (auth-source-save-behavior t)
          (smtpmail-debug-info t))
      (smtpmail-native-compat--with-prompts `(("user name" . "alice")
                                              ("password" . ,smtpmail-native-compat-password))
        (smtpmail-native-compat--should-fail (smtpmail-native-compat--send "To: reject-me@example.org\n")
                                             "\\`Sending failed: 550 " envelope not-sent)
        (should (= 2 (length prompts))))
      (with-current-buffer "*trace of SMTP session to localhost*"
        (should (= 2 (how-many "^S: 550 " (point-min) (point-max))))
        (should (= 1 (how-many "^\\* authenticated with" (point-min) (point-max))))))))

(ert-deftest smtpmail-native-compat-failed-auth-forgets ()
  "After a failed AUTH auth-source forgets what it cached for the server."
  (smtpmail-native-compat--with-smtp
    (let ((auth-sources (list (smtpmail-native-compat--write-file
                               "wrong.netrc" "machine localhost login alice password not-the-password\n")))
          (forgotten nil))
      (cl-letf (((symbol-function 'auth-source-forget+)
                 (lambda (&rest spec) (push spec forgotten) 0)))
        (smtpmail-native-compat--should-fail (smtpmail-native-compat--send "To: w@example.org\n")
                                             "\\`Sending failed: 535 Incorrect authentication data" auth not-sent))
      (should (equal forgotten `((:host "localhost" :port ,(number-to-string smtpmail-smtp-service))))))))

;;;; Secrets never shown

(ert-deftest smtpmail-native-compat-no-secret-anywhere ()
  "No password, base64 of it, PLAIN blob or CRAM response in the trace, *Messages* or errors."
  (smtpmail-native-compat--with-smtp
    (dolist (password (list smtpmail-native-compat-password "a-wrong-password"))
      (let ((forbidden (list password
                             (base64-encode-string password t)
                             (base64-encode-string (concat "\0alice\0" password) t)
                             (base64-encode-string (concat "alice\0" password) t)
                             ;; Every CRAM-MD5 response is base64 of "alice <digest>".
                             (substring (base64-encode-string "alice " t) 0 8)))
            (smtpmail-debug-info t)
            (smtpmail-auth-credentials `(("localhost" ,smtpmail-smtp-service "alice" ,password))))
        (dolist (mech '(plain login cram-md5))
          (let* ((smtpmail-auth-supported (list mech))
                 (messages-start (with-current-buffer (messages-buffer) (point-max)))
                 (error-text (condition-case err
                                 (progn (smtpmail-native-compat--send "To: s@example.org\n") "")
                               (error (error-message-string err))))
                 (trace (with-current-buffer "*trace of SMTP session to localhost*" (buffer-string)))
                 (messages (with-current-buffer (messages-buffer)
                             (buffer-substring messages-start (point-max)))))
            (should (string-match-p (if (equal password smtpmail-native-compat-password) "\\`\\'" "535")
                                    error-text))
            (should (string-match-p (format "^C: AUTH %s" (upcase (symbol-name mech))) trace))
            (dolist (text (list trace messages error-text))
              (dolist (secret forbidden)
                (should-not (string-search secret text))))))))))

;;;; Accounts, X-Message-SMTP-Method, message-mode

(ert-deftest smtpmail-native-compat-accounts ()
  "smtpmail-native-accounts picks server, port, user and mechanisms by the From address."
  (smtpmail-native-compat--with-smtp
    (let* ((noauth-port (smtpmail-native-compat--port "noauth"))
           (smtpmail-auth-credentials
            `(("localhost" ,smtpmail-smtp-service "alice" ,smtpmail-native-compat-password)
              ("localhost" ,(smtpmail-native-compat--port "good" "SMTPS_PORT") "alice"
               ,smtpmail-native-compat-password)))
           (smtpmail-native-accounts
            `(("@work\\.example\\'" :server "localhost" :port ,noauth-port)
              (,(lambda (address) (string-prefix-p "login-" address)) :mechanisms (login))
              ("@home\\.example\\'" :stream-type ssl
               :port ,(smtpmail-native-compat--port "good" "SMTPS_PORT")))))
      (smtpmail-native-compat--one (smtpmail-native-compat--send "From: Me <me@WORK.example>\nTo: a@example.org\n")
                                   "noauth")
      (should (string-match-p "(auth=login:alice)"
                              (smtpmail-native-compat--sent-via "From: login-me@example.org\nTo: b@example.org\n")))
      (should (string-match-p "with esmtpsa .*(auth=plain:alice)"
                              (smtpmail-native-compat--sent-via "From: me@home.example\nTo: c@example.org\n")))
      (should (string-match-p "(auth=plain:alice)"
                              (smtpmail-native-compat--sent-via "From: nobody@example.org\nTo: d@example.org\n"))))))

(ert-deftest smtpmail-native-compat-x-message-smtp-method ()
  "The X-Message-SMTP-Method header chooses the server, via message.el and directly."
  (smtpmail-native-compat--with-smtp
    (let ((header (format "X-Message-SMTP-Method: smtp localhost %d\n" (smtpmail-native-compat--port "noauth"))))
      (let ((bytes (smtpmail-native-compat--one (smtpmail-native-compat--send (concat "To: h@example.org\n" header))
                                                "noauth")))
        (should-not (string-search "X-Message-SMTP-Method" bytes)))
      (let ((id (smtpmail-native-compat--id)))
        (message-mail "h2@example.org" "via message")
        (message-goto-subject)
        (insert "\nX-Test-Id: " id "\n" (string-trim-right header))
        (message-send-and-exit)
        (should-not (string-search "X-Message-SMTP-Method"
                                   (smtpmail-native-compat--one id "noauth"))))
      ;; message.el's default sending function, which defers to `send-mail-function'.
      (let ((id (smtpmail-native-compat--id))
            (message-send-mail-function #'message--default-send-mail-function)
            (smtpmail-debug-info t))
        (message-mail "h3@example.org" "via send-mail-function")
        (message-goto-subject)
        (insert "\nX-Test-Id: " id "\n" (string-trim-right header))
        (message-send-and-exit)
        (smtpmail-native-compat--one id "noauth")
        ;; Sent natively (smtpmail's own trace has no such lines).
        (with-current-buffer "*trace of SMTP session to localhost*"
          (should (string-match-p "^\\* connected to " (buffer-string))))))))

(ert-deftest smtpmail-native-compat-header-lookups-stop-at-the-body ()
  "Header lines quoted in the body are body: not obeyed, not removed.
The prepared message has no separator line, only the blank line."
  (smtpmail-native-compat--with-smtp
    (setq smtpmail-auth-credentials (smtpmail-native-compat--alice))
    (let* ((body (format "Quoted:\nX-Message-SMTP-Method: smtp localhost %d\nFrom: other@example.org\n"
                         (smtpmail-native-compat--port "noauth")))
           (bytes (smtpmail-native-compat--one
                   (smtpmail-native-compat--send "From: me@example.org\nTo: q@example.org\n" body))))
      (should (string-search (replace-regexp-in-string "\n" "\r\n" body) bytes)))))

(ert-deftest smtpmail-native-compat-message-mode ()
  "message-mail + message-send-and-exit delivers (Bcc hidden); a failure keeps the buffer."
  (smtpmail-native-compat--with-smtp
    (setq smtpmail-auth-credentials (smtpmail-native-compat--alice))
    (let ((id (smtpmail-native-compat--id))
          (message-kill-buffer-on-exit t))
      (message-mail "to@example.org" "message-mode test" `(("Bcc" . "bcc@example.org") ("X-Test-Id" . ,id)))
      (message-goto-body)
      (insert "Sent by message-mode.\n")
      (let ((buffer (current-buffer)))
        (message-send-and-exit)
        (should-not (buffer-live-p buffer)))
      (let ((copies (smtpmail-native-compat--delivered id)))
        (should (= 2 (length copies)))
        (dolist (copy copies)
          (should-not (string-match-p "^Bcc:" (cdr copy)))
          (should (equal (smtpmail-native-compat--header (cdr copy) "Subject") "message-mode test"))
          (should (string-search "Sent by message-mode." (cdr copy))))))
    (message-mail "reject-me@example.org" "refused")
    (message-goto-body)
    (insert "Keep me.\n")
    (let ((buffer (current-buffer)))
      (smtpmail-native-compat--should-fail (message-send-and-exit) "550 5\\.1\\.1" envelope not-sent)
      ;; message.el itself added Date and Message-ID; the draft is all there.
      (should (buffer-live-p buffer))
      (with-current-buffer buffer
        (should (equal (message-field-value "To") "reject-me@example.org"))
        (should (equal (message-field-value "Subject") "refused"))
        (should (string-suffix-p (concat mail-header-separator "\nKeep me.\n") (buffer-string))))
      (with-current-buffer buffer (set-buffer-modified-p nil))
      (kill-buffer buffer))))

;;; smtpmail-native-compat-tests.el ends here
