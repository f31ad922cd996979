;;; smtpmail-native-e2e-tests.el --- smtpmail-native-send against a real Exim  -*- lexical-binding: t; -*-

;;; Commentary:
;; End-to-end tests of the SMTP engine: each test sends through `smtpmail-native-send'
;; (or asks `smtpmail-native-server-info') to a private Exim that this file starts on
;; 127.0.0.1 with the test CA of test-servers/, and checks what Exim delivered.
;; Servers are started once per certificate variant (smtpmail-native-test-servers.el)
;; and stopped at exit.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'smtpmail-native)

(declare-function smtpmail-native-send "ext:smtpmail-native-module" (&rest args))
(declare-function smtpmail-native-server-info "ext:smtpmail-native-module" (&rest args))
(declare-function smtpmail-native-send-batch "ext:smtpmail-native-module" (&rest args))
(require 'smtpmail-native-test-servers)

(defun smtpmail-native-e2e--server (&optional cert)
  "Return the environment alist of a running Exim presenting CERT (default good)."
  (smtpmail-native-test-servers-start cert))

(defun smtpmail-native-e2e--get (key &optional cert)
  "Value of KEY for the server presenting CERT."
  (smtpmail-native-test-servers-get key cert))

(defun smtpmail-native-e2e--port (key &optional cert)
  "Port number KEY (SMTP_PORT or SMTPS_PORT) of the server presenting CERT."
  (smtpmail-native-test-servers-port key cert))

(defun smtpmail-native-e2e--send (&rest args)
  "Send to the good server over STARTTLS with the test CA; ARGS override."
  (apply #'smtpmail-native-send
         (append args
                 (list :host "localhost" :port (smtpmail-native-e2e--port "SMTP_PORT")
                       :trust-file (smtpmail-native-e2e--get "CA_FILE")
                       :helo "client.test" :from "sender@example.org"
                       :recipients '("rcpt@example.org")
                       :data (smtpmail-native-e2e--message "default")
                       :timeout 20))))

(defun smtpmail-native-e2e--message (id &optional body)
  "A message with a unique X-Test-Id built from ID, and BODY."
  (format "From: sender@example.org\nTo: rcpt@example.org\nSubject: test %s\nX-Test-Id: %s-%s\n\n%s"
          id id (random 1000000000) (or body "Hello.\n")))

(defun smtpmail-native-e2e--normalise (message)
  "MESSAGE with CRLF line ends only and a final CRLF, as SMTP delivers it."
  (let ((s (replace-regexp-in-string "\r\n\\|\r\\|\n" "\r\n" message)))
    (if (string-suffix-p "\r\n" s) s (concat s "\r\n"))))

(defun smtpmail-native-e2e--from-first-header (bytes)
  "BYTES of a delivered message from its first header on.
Exim puts one Received: header in front; the message starts at \"From: \"."
  (substring bytes (+ 2 (string-search "\r\nFrom: sender@example.org\r\n" bytes))))

(defun smtpmail-native-e2e--delivered (message &optional cert)
  "The delivered copies of MESSAGE (found by its X-Test-Id) on the CERT server.
All of them: the server has settled (no session, no delivery in flight) first."
  (let* ((id (and (string-match "^X-Test-Id: \\(.*\\)$" message) (match-string 1 message)))
         (marker (concat "X-Test-Id: " id "\r\n")))
    (mapcar (lambda (found) (smtpmail-native-e2e--from-first-header (cdr found)))
            (smtpmail-native-test-servers-delivered (lambda (bytes) (string-search marker bytes))
                                                    cert))))

(defmacro smtpmail-native-e2e--should-signal (form symbol phase delivery)
  "Check that FORM signals SYMBOL with :phase PHASE and :delivery DELIVERY.
Return the error, (SYMBOL MESSAGE . PLIST)."
  `(let ((err (should-error ,form :type ',symbol)))
     (should (memq 'smtpmail-native-error (get (car err) 'error-conditions)))
     (should (stringp (nth 1 err)))
     (should (eq (plist-get (cddr err) :phase) ',phase))
     (should (eq (plist-get (cddr err) :delivery) ',delivery))
     err))

;;;; Delivery and mechanisms

(ert-deftest smtpmail-native-e2e-plain-over-starttls ()
  (let* ((msg (smtpmail-native-e2e--message "plain"))
         (result (smtpmail-native-e2e--send :user "alice" :password "wonderland-secret"
                                            :mechanisms '(plain) :data msg)))
    (should (equal (plist-get result :accepted) '("rcpt@example.org")))
    (should (equal (plist-get result :auth) "PLAIN"))
    (should (string-prefix-p "TLSv1.3" (plist-get result :tls)))
    (should (eql (plist-get result :code) 250))
    (should (equal (smtpmail-native-e2e--delivered msg) (list (smtpmail-native-e2e--normalise msg))))))

(ert-deftest smtpmail-native-e2e-login-over-implicit-tls ()
  (let* ((msg (smtpmail-native-e2e--message "login"))
         (result (smtpmail-native-e2e--send :port (smtpmail-native-e2e--port "SMTPS_PORT")
                                            :stream-type 'tls :user "alice"
                                            :password "wonderland-secret"
                                            :mechanisms '(login) :data msg)))
    (should (equal (plist-get result :auth) "LOGIN"))
    (should (plist-get result :tls))
    (should (equal (smtpmail-native-e2e--delivered msg) (list (smtpmail-native-e2e--normalise msg))))))

(ert-deftest smtpmail-native-e2e-cram-md5-in-the-clear ()
  "CRAM-MD5's response cracks offline: without TLS it runs only where the policy allows AUTH.
Refused under the strict policy before the password is asked for;
allowed by the default policy to this loopback server."
  (let* ((asked 0)
         (err (smtpmail-native-e2e--should-signal
               (smtpmail-native-e2e--send :stream-type 'plain :allow-plaintext-auth nil
                                          :user "alice" :mechanisms '(cram-md5)
                                          :password (lambda () (cl-incf asked) "wonderland-secret")
                                          :data (smtpmail-native-e2e--message "cram-refused"))
               smtpmail-native-auth-error auth not-sent)))
    (should (= asked 0))
    (should (string-match-p "smtpmail-native-allow-plaintext-auth" (nth 1 err))))
  (let* ((msg (smtpmail-native-e2e--message "cram"))
         (asked 0)
         (result (smtpmail-native-e2e--send :stream-type 'plain :allow-plaintext-auth 'loopback
                                            :user "alice"
                                            :password (lambda () (cl-incf asked) "wonderland-secret")
                                            :data msg)))
    (should (equal (plist-get result :auth) "CRAM-MD5"))
    (should-not (plist-get result :tls))
    (should (= asked 1))
    (should (equal (smtpmail-native-e2e--delivered msg) (list (smtpmail-native-e2e--normalise msg))))))

(ert-deftest smtpmail-native-e2e-default-mechanism-over-tls-is-plain ()
  (should (equal (plist-get (smtpmail-native-e2e--send :user "alice" :password "wonderland-secret") :auth)
              "PLAIN")))

(ert-deftest smtpmail-native-e2e-plain-refused-in-the-clear ()
  (let* ((asked nil)
        (err (smtpmail-native-e2e--should-signal
              (smtpmail-native-e2e--send :stream-type 'plain :allow-plaintext-auth nil
                                         :user "alice" :password (lambda () (setq asked t) "x")
                                         :mechanisms '(plain login))
              smtpmail-native-auth-error auth not-sent)))
    (should-not asked)
    (should (string-match-p "without TLS" (nth 1 err)))))

(ert-deftest smtpmail-native-e2e-wrong-password-is-535-without-downgrade ()
  (let* ((trace nil)
         (err (smtpmail-native-e2e--should-signal
               (smtpmail-native-e2e--send :user "alice" :password "wrong"
                                          :trace (lambda (lines) (dolist (l lines) (push l trace))))
               smtpmail-native-auth-error auth not-sent)))
    (should (equal (plist-get (cddr err) :code) 535))
    ;; One AUTH attempt, no retry with another mechanism.
    (should (= 1 (cl-count-if (lambda (l) (string-prefix-p "C: AUTH" l)) trace)))))

(ert-deftest smtpmail-native-e2e-eight-bit-and-dots-byte-identical ()
  (let* ((body (concat "caf\303\251 \303\274ber\n.leading dot\n..two dots\n.\nbare\rcr\r\nlast line no newline"))
         (msg (encode-coding-string (smtpmail-native-e2e--message "8bit" body) 'binary)))
    (smtpmail-native-e2e--send :data msg)
    (should (equal (smtpmail-native-e2e--delivered msg) (list (smtpmail-native-e2e--normalise msg))))))

(ert-deftest smtpmail-native-e2e-25mb-byte-identical ()
  (let* ((line (concat (make-string 75 ?a) "\n"))
         (body (apply #'concat (make-list (/ (* 25 1024 1024) 76) line)))
         (msg (smtpmail-native-e2e--message "big" (concat ".dot first\n" body)))
         (result (smtpmail-native-e2e--send :data msg :timeout 60)))
    (should (eql (plist-get result :code) 250))
    (should (equal (smtpmail-native-e2e--delivered msg) (list (smtpmail-native-e2e--normalise msg))))))

(ert-deftest smtpmail-native-e2e-several-recipients ()
  (let* ((msg (smtpmail-native-e2e--message "multi"))
         (result (smtpmail-native-e2e--send :recipients '("a@example.org" "b@example.net" "c@example.com")
                                            :data msg)))
    (should (equal (plist-get result :accepted) '("a@example.org" "b@example.net" "c@example.com")))
    (should (= 3 (length (smtpmail-native-e2e--delivered msg))))))

;;;; Replies

(ert-deftest smtpmail-native-e2e-rejected-recipient-sends-nothing ()
  (let* ((msg (smtpmail-native-e2e--message "reject"))
         (err (smtpmail-native-e2e--should-signal
               (smtpmail-native-e2e--send :recipients '("ok@example.org" "reject-me@example.org") :data msg)
               smtpmail-native-permanent-error envelope not-sent)))
    (should (equal (plist-get (cddr err) :code) 550))
    (should (equal (plist-get (cddr err) :enhanced) "5.1.1"))
    (should (string-match-p "reject-me@example.org" (nth 1 err)))
    ;; Nothing may arrive: the server has settled before the count.
    (should-not (smtpmail-native-e2e--delivered msg))))

(ert-deftest smtpmail-native-e2e-no-usable-mechanism-sends-nothing ()
  "A server offering only mechanisms the user did not allow: an auth error, nothing delivered.
Never the fallback of sending unauthenticated (this Exim relays for anyone on loopback,
so a client that went on would get the message through)."
  (let* ((msg (smtpmail-native-e2e--message "no-usable"))
         (asked 0)
         (err (smtpmail-native-e2e--should-signal
               (smtpmail-native-e2e--send :user "alice"
                                          :password (lambda () (cl-incf asked) "wonderland-secret")
                                          :mechanisms '(scram-sha-256 scram-sha-1) :data msg)
               smtpmail-native-auth-error auth not-sent)))
    (should (string-match-p "no usable AUTH mechanism" (nth 1 err)))
    (should (= asked 0))
    (should-not (smtpmail-native-e2e--delivered msg))))

(ert-deftest smtpmail-native-e2e-allow-partial ()
  (let* ((msg (smtpmail-native-e2e--message "partial"))
         (result (smtpmail-native-e2e--send :recipients '("ok@example.org" "reject-me@example.org")
                                            :allow-partial t :data msg)))
    (should (equal (plist-get result :accepted) '("ok@example.org")))
    (should (equal (mapcar #'car (plist-get result :rejected)) '("reject-me@example.org")))
    (should (eql (plist-get (cdar (plist-get result :rejected)) :code) 550))
    (should (= 1 (length (smtpmail-native-e2e--delivered msg))))))

(ert-deftest smtpmail-native-e2e-temporary-failure ()
  (let ((err (smtpmail-native-e2e--should-signal
              (smtpmail-native-e2e--send :recipients '("tempfail@example.org"))
              smtpmail-native-temporary-error envelope not-sent)))
    (should (equal (plist-get (cddr err) :code) 451))
    (should (equal (plist-get (cddr err) :enhanced) "4.3.0"))))

(ert-deftest smtpmail-native-e2e-rejected-at-end-of-data ()
  (let ((err (smtpmail-native-e2e--should-signal
              (smtpmail-native-e2e--send :recipients '("datareject@example.org"))
              smtpmail-native-permanent-error data not-sent)))
    (should (equal (plist-get (cddr err) :code) 554))
    (should (string-match-p "end of data" (plist-get (cddr err) :reply)))))

(ert-deftest smtpmail-native-e2e-connection-refused ()
  "Port 1 on loopback has no listener here: the error says so and carries no reply."
  (let ((err (smtpmail-native-e2e--should-signal
              (smtpmail-native-send :host "127.0.0.1" :port 1 :from "a@b" :recipients '("c@d")
                                    :data "x" :timeout 5)
              smtpmail-native-connection-error connect not-sent)))
    (should (string-match-p "refused" (nth 1 err)))
    (should-not (plist-get (cddr err) :code))))

;;;; Certificates

(ert-deftest smtpmail-native-e2e-system-store-does-not-know-the-test-ca ()
  (smtpmail-native-e2e--should-signal
   (smtpmail-native-send :host "localhost" :port (smtpmail-native-e2e--port "SMTP_PORT")
                         :stream-type 'starttls :from "a@example.org" :recipients '("b@example.org")
                         :data "x" :timeout 20)
   smtpmail-native-tls-error starttls not-sent))

(ert-deftest smtpmail-native-e2e-extra-trust-files-add-to-the-system-store ()
  (let ((result (smtpmail-native-send :host "localhost" :port (smtpmail-native-e2e--port "SMTP_PORT")
                                      :stream-type 'starttls
                                      :extra-trust-files (list (smtpmail-native-e2e--get "CA_FILE"))
                                      :from "a@example.org" :recipients '("b@example.org")
                                      :data (smtpmail-native-e2e--message "extra") :timeout 20)))
    (should (plist-get result :tls))))

(ert-deftest smtpmail-native-e2e-certificates-refused ()
  (dolist (cert '("wrong-host" "expired" "self-signed"))
    (let ((err (smtpmail-native-e2e--should-signal
                (smtpmail-native-send :host "localhost" :port (smtpmail-native-e2e--port "SMTP_PORT" cert)
                                      :trust-file (smtpmail-native-e2e--get "CA_FILE" cert)
                                      :stream-type 'starttls :user "alice" :password "wonderland-secret"
                                      :from "a@example.org" :recipients '("b@example.org") :data "x"
                                      :timeout 20)
                smtpmail-native-tls-error starttls not-sent)))
      (should (string-match-p "certificate" (nth 1 err))))))

(ert-deftest smtpmail-native-e2e-implicit-tls-wrong-host-refused ()
  (smtpmail-native-e2e--should-signal
   (smtpmail-native-send :host "localhost" :port (smtpmail-native-e2e--port "SMTPS_PORT" "wrong-host")
                         :stream-type 'tls :trust-file (smtpmail-native-e2e--get "CA_FILE" "wrong-host")
                         :from "a@example.org" :recipients '("b@example.org") :data "x" :timeout 20)
   smtpmail-native-tls-error tls not-sent))

(ert-deftest smtpmail-native-e2e-pinned-self-signed-accepted ()
  (let* ((msg (smtpmail-native-e2e--message "pinned"))
         (fp (smtpmail-native-e2e--get "FINGERPRINT_SELF_SIGNED" "self-signed"))
         (result (smtpmail-native-send :host "localhost" :port (smtpmail-native-e2e--port "SMTPS_PORT" "self-signed")
                                       :stream-type 'tls :fingerprint (downcase fp)
                                       :from "sender@example.org" :recipients '("rcpt@example.org")
                                       :data msg :timeout 20)))
    (should (plist-get result :tls))
    (should (equal (smtpmail-native-e2e--delivered msg "self-signed")
                   (list (smtpmail-native-e2e--normalise msg))))))

(ert-deftest smtpmail-native-e2e-pin-mismatch-refused ()
  (let ((err (smtpmail-native-e2e--should-signal
              (smtpmail-native-e2e--send :fingerprint (smtpmail-native-e2e--get "FINGERPRINT_EXPIRED"))
              smtpmail-native-tls-error starttls not-sent)))
    (should (string-match-p "does not match" (nth 1 err)))))

(ert-deftest smtpmail-native-e2e-verify-nil-is-said-in-the-trace ()
  (let ((trace nil))
    (smtpmail-native-send :host "localhost" :port (smtpmail-native-e2e--port "SMTP_PORT" "self-signed")
                          :verify nil :from "a@example.org" :recipients '("b@example.org")
                          :data (smtpmail-native-e2e--message "noverify") :timeout 20
                          :trace (lambda (lines) (dolist (l lines) (push l trace))))
    (should (cl-some (lambda (l) (string-match-p "NOT VERIFIED" l)) trace))))

(ert-deftest smtpmail-native-e2e-server-info ()
  (let ((info (smtpmail-native-server-info :host "localhost" :port (smtpmail-native-e2e--port "SMTP_PORT")
                                           :trust-file (smtpmail-native-e2e--get "CA_FILE")
                                           :user "alice" :timeout 20)))
    (should (string-prefix-p "220" (plist-get info :greeting)))
    (should (member "STARTTLS" (plist-get info :capabilities-before-tls)))
    (should-not (member "STARTTLS" (plist-get info :capabilities-after-tls)))
    (should (plist-get info :verified))
    (should (equal (downcase (plist-get (car (plist-get info :certificates)) :sha256))
                   (downcase (smtpmail-native-e2e--get "FINGERPRINT_GOOD"))))
    (should (member "CRAM-MD5" (plist-get info :mechanisms)))
    (should (eq (plist-get info :chosen-mechanism) 'plain))))

;;;; Trust: certificate facts, the probe, errors that name the stream type

(defun smtpmail-native-e2e--fingerprint (cert)
  "The SHA-256 fingerprint of CERT's certificate as the module writes it."
  (downcase (smtpmail-native-e2e--get
             (concat "FINGERPRINT_" (upcase (replace-regexp-in-string "-" "_" cert))) cert)))

(ert-deftest smtpmail-native-e2e-refused-certificate-carries-its-facts ()
  "A refused certificate's error data: the reason as a symbol, the leaf, the chain,
and a message that starts in plain words and names the pin that would trust it."
  (pcase-dolist (`(,cert ,reason ,trust) '(("self-signed" self-signed t) ("wrong-host" hostname-mismatch t)
                                           ("expired" expired t) ("good" unknown-issuer nil)))
    (ert-info (cert :prefix "certificate: ")
      (let* ((port (smtpmail-native-e2e--port "SMTP_PORT" cert))
             (fp (smtpmail-native-e2e--fingerprint cert))
             (err (smtpmail-native-e2e--should-signal
                   (smtpmail-native-send :host "localhost" :port port :stream-type 'starttls
                                         :trust-file (and trust (smtpmail-native-e2e--get "CA_FILE" cert))
                                         :user "alice" :password "wonderland-secret"
                                         :from "a@example.org" :recipients '("b@example.org") :data "x"
                                         :timeout 20)
                   smtpmail-native-tls-error starttls not-sent))
             (plist (cddr err))
             (leaf (plist-get plist :certificate)))
        (should (eq (plist-get plist :verify-error) reason))
        (should (equal (plist-get leaf :sha256) fp))
        (should (string-match-p (if (equal cert "wrong-host") "CN=wrong.example" "CN=localhost")
                                (plist-get leaf :subject)))
        (should (string-match-p "CN=" (plist-get leaf :issuer)))
        (should (string-match-p "GMT" (plist-get leaf :not-before)))
        (should (string-match-p "GMT" (plist-get leaf :not-after)))
        (should (equal (car (plist-get plist :chain)) leaf))
        (should (string-prefix-p "the server certificate was refused: the certificate " (nth 1 err)))
        (should (string-search (format "(\"localhost:%d\" . \"%s\")" port fp) (nth 1 err)))
        (should (string-search "smtpmail-native-pinned-certificates" (nth 1 err)))
        (should (eq (plist-get plist :phase) 'starttls))
        (should (eq (plist-get plist :delivery) 'not-sent))))))

(ert-deftest smtpmail-native-e2e-pin-from-the-error-is-accepted ()
  "The fingerprint an error offers, passed back as :fingerprint, sends."
  (let* ((port (smtpmail-native-e2e--port "SMTP_PORT" "self-signed"))
         (err (should-error (smtpmail-native-send :host "localhost" :port port :stream-type 'starttls
                                                  :from "a@example.org" :recipients '("b@example.org")
                                                  :data "x" :timeout 20)
                            :type 'smtpmail-native-tls-error))
         (fp (plist-get (plist-get (cddr err) :certificate) :sha256))
         (msg (smtpmail-native-e2e--message "pin-from-error")))
    (should (plist-get (smtpmail-native-send :host "localhost" :port port :stream-type 'starttls
                                             :fingerprint fp :from "sender@example.org"
                                             :recipients '("rcpt@example.org") :data msg :timeout 20)
                       :tls))))

(ert-deftest smtpmail-native-e2e-server-info-describes-an-untrusted-server ()
  "With :untrusted-ok, a self-signed server is described, not signalled, and no login is tried."
  (let* ((asked 0)
         (fp (smtpmail-native-e2e--fingerprint "self-signed"))
         (info (smtpmail-native-server-info
                :host "localhost" :port (smtpmail-native-e2e--port "SMTP_PORT" "self-signed")
                :trust-file (smtpmail-native-e2e--get "CA_FILE" "self-signed")
                :untrusted-ok t :login-only t :user "alice"
                :password (lambda () (cl-incf asked) "wonderland-secret") :timeout 20)))
    (should (string-prefix-p "220" (plist-get info :greeting)))
    (should (member "STARTTLS" (plist-get info :capabilities-before-tls)))
    (should (member "AUTH PLAIN LOGIN CRAM-MD5" (plist-get info :capabilities-after-tls)))
    (should (string-prefix-p "TLSv1." (plist-get info :tls-version)))
    (should (stringp (plist-get info :cipher)))
    (should-not (plist-get info :verified))
    (should (eq (plist-get info :verify-error) 'self-signed))
    (should (equal (plist-get info :fingerprint) fp))
    (should (equal (plist-get (plist-get info :certificate) :sha256) fp))
    (should (equal (plist-get info :chain) (list (plist-get info :certificate))))
    (should (equal (plist-get info :mechanisms) '("PLAIN" "LOGIN" "CRAM-MD5")))
    (should (eq (plist-get info :chosen-mechanism) 'plain))
    (dolist (key '(:connect-ms :tls-ms :round-trip-ms))
      (should (and (floatp (plist-get info key)) (>= (plist-get info key) 0))))
    (should-not (plist-get info :auth))
    (should (eq (car (plist-get info :auth-error)) 'smtpmail-native-auth-error))
    (should (= asked 0))))

(ert-deftest smtpmail-native-e2e-server-info-signals-untrusted-without-untrusted-ok ()
  (let ((err (smtpmail-native-e2e--should-signal
              (smtpmail-native-server-info :host "localhost"
                                           :port (smtpmail-native-e2e--port "SMTP_PORT" "expired")
                                           :trust-file (smtpmail-native-e2e--get "CA_FILE" "expired")
                                           :timeout 20)
              smtpmail-native-tls-error starttls nil)))
    (should (eq (plist-get (cddr err) :verify-error) 'expired))))

(ert-deftest smtpmail-native-e2e-server-info-tests-the-login ()
  "With :login-only, the mechanism that logged in, or the refusal as data; no mail either way."
  (let ((good (smtpmail-native-server-info :host "localhost" :port (smtpmail-native-e2e--port "SMTP_PORT")
                                           :trust-file (smtpmail-native-e2e--get "CA_FILE")
                                           :login-only t :user "alice" :password "wonderland-secret"
                                           :timeout 20))
        (bad (smtpmail-native-server-info :host "localhost" :port (smtpmail-native-e2e--port "SMTP_PORT")
                                          :trust-file (smtpmail-native-e2e--get "CA_FILE")
                                          :login-only t :user "alice" :password "wrong" :timeout 20)))
    (should (plist-get good :verified))
    (should (equal (plist-get good :auth) "PLAIN"))
    (should-not (plist-get good :auth-error))
    (should-not (plist-get bad :auth))
    (should (eq (car (plist-get bad :auth-error)) 'smtpmail-native-auth-error))
    (should (equal (plist-get (cddr (plist-get bad :auth-error)) :code) 535))))

(ert-deftest smtpmail-native-e2e-ssl-against-a-starttls-port-says-use-starttls ()
  (let ((err (smtpmail-native-e2e--should-signal
              (smtpmail-native-e2e--send :stream-type 'ssl)
              smtpmail-native-tls-error tls not-sent)))
    (should (eq (plist-get (cddr err) :hint) 'use-starttls))
    (should (eq (plist-get (cddr err) :phase) 'tls))
    (should (string-prefix-p "the server talks plain SMTP on port" (nth 1 err)))))

(ert-deftest smtpmail-native-e2e-starttls-against-an-implicit-tls-port-says-use-ssl ()
  "No greeting on the implicit-TLS port: a hint within seconds, not the 60 s timeout."
  (let* ((start (float-time))
         (err (smtpmail-native-e2e--should-signal
               (smtpmail-native-e2e--send :port (smtpmail-native-e2e--port "SMTPS_PORT")
                                          :stream-type 'starttls :timeout 60)
               smtpmail-native-timeout greeting not-sent))
         (took (- (float-time) start)))
    (should (eq (plist-get (cddr err) :hint) 'use-ssl))
    (should (eq (plist-get (cddr err) :phase) 'greeting))
    (should (string-search "`ssl'" (nth 1 err)))
    (should (< took 30))))

;;;; Several messages, one session

(ert-deftest smtpmail-native-e2e-batch-one-session-refusals-do-not-stop-it ()
  "Refusals do not stop a batch; :on-outcome gets the very objects returned."
  (let* ((one (smtpmail-native-e2e--message "batch1"))
         (two (smtpmail-native-e2e--message "batch2"))
         (three (smtpmail-native-e2e--message "batch3"))
         (trace nil)
         (seen nil)
         (outcomes
          (smtpmail-native-send-batch
           :host "localhost" :port (smtpmail-native-e2e--port "SMTP_PORT")
           :trust-file (smtpmail-native-e2e--get "CA_FILE") :stream-type 'starttls
           :user "alice" :password "wonderland-secret" :timeout 20
           :trace (lambda (lines) (dolist (l lines) (push l trace)))
           :on-outcome (lambda (index outcome) (push (cons index outcome) seen))
           :messages (list (list :from "sender@example.org" :recipients '("rcpt@example.org") :data one)
                           (list :from "sender@example.org" :recipients '("reject-me@example.org") :data two)
                           (list :from "sender@example.org" :recipients '("rcpt@example.org") :data three)))))
    (should (= 3 (length outcomes)))
    (should (equal (mapcar #'car (reverse seen)) '(0 1 2)))
    (dotimes (i 3)
      (should (eq (cdr (assq i seen)) (nth i outcomes))))
    (should (equal (plist-get (nth 0 outcomes) :accepted) '("rcpt@example.org")))
    (should (eq (car (nth 1 outcomes)) 'smtpmail-native-permanent-error))
    (should (equal (plist-get (cddr (nth 1 outcomes)) :code) 550))
    (should (eq (plist-get (cddr (nth 1 outcomes)) :phase) 'envelope))
    (should (eq (plist-get (cddr (nth 1 outcomes)) :delivery) 'not-sent))
    (should (eq (plist-get (nth 0 outcomes) :delivery) 'sent))
    (should (equal (plist-get (nth 2 outcomes) :accepted) '("rcpt@example.org")))
    ;; One connection, one AUTH; RSET before each later message, and one for the refusal.
    (should (= 1 (cl-count-if (lambda (l) (string-prefix-p "* connected" l)) trace)))
    (should (= 1 (cl-count-if (lambda (l) (string-prefix-p "C: AUTH" l)) trace)))
    (should (= 3 (cl-count-if (lambda (l) (equal "C: RSET" l)) trace)))
    (should (equal (smtpmail-native-e2e--delivered one) (list (smtpmail-native-e2e--normalise one))))
    (should (equal (smtpmail-native-e2e--delivered three) (list (smtpmail-native-e2e--normalise three))))
    (should-not (smtpmail-native-e2e--delivered two))))

(ert-deftest smtpmail-native-e2e-batch-connection-failure-reaches-every-message ()
  (let* ((seen nil)
         (outcomes (smtpmail-native-send-batch
                    :host "127.0.0.1" :port 1 :timeout 5
                    :on-outcome (lambda (index outcome) (push (cons index outcome) seen))
                    :messages (list (list :from "a@example.org" :recipients '("b@example.org") :data "x")
                                    (list :from "a@example.org" :recipients '("c@example.org") :data "y")))))
    (should (equal (mapcar #'car outcomes)
                   '(smtpmail-native-connection-error smtpmail-native-connection-error)))
    (should (eq (cdr (assq 0 seen)) (nth 0 outcomes)))
    (should (eq (cdr (assq 1 seen)) (nth 1 outcomes)))))

(ert-deftest smtpmail-native-e2e-quit-pending-at-a-callback-reads-as-interrupted ()
  "A C-g pending as the module is about to call Lisp stops the session with its outcome.
It is set in the trace function (quitting held off) as the session
goes to AUTH; the :password function comes next, with no wait between.
The send signals `smtpmail-native-interrupted', :phase `auth',
:delivery `not-sent', not a bare `quit' from inside the callback."
  (let* ((after-tls nil)
         (outcome
          (condition-case err
              (progn
                (smtpmail-native-e2e--send
                 :stream-type 'starttls :user "alice" :password (lambda () "wonderland-secret")
                 :trace (lambda (lines)
                          (when (member "C: STARTTLS" lines) (setq after-tls t))
                          (when (and after-tls (cl-some (lambda (l) (string-prefix-p "C: EHLO" l)) lines))
                            (let ((inhibit-quit t)) (setq quit-flag t)))))
                'sent)
            (smtpmail-native-interrupted err)
            (quit 'quit))))
    (should (eq (car-safe outcome) 'smtpmail-native-interrupted))
    (should (eq (plist-get (cddr outcome) :phase) 'auth))
    (should (eq (plist-get (cddr outcome) :delivery) 'not-sent))))

;;;; Secrets

(ert-deftest smtpmail-native-e2e-secrets-never-in-the-trace ()
  (let* ((password "wonderland-secret")
         (forbidden (list password
                          (base64-encode-string password)
                          (base64-encode-string (concat "\0alice\0" password))
                          (base64-encode-string (concat "alice\0" password)))))
    (dolist (mech '(plain login cram-md5))
      (let ((trace nil))
        (smtpmail-native-e2e--send :user "alice" :password password :mechanisms (list mech)
                                   :trace (lambda (lines) (dolist (l lines) (push l trace))))
        (should (cl-some (lambda (l) (string-match-p "<redacted>\\|AUTH CRAM-MD5" l)) trace))
        (dolist (line trace)
          (dolist (secret forbidden)
            (should-not (string-search secret line))))))))

;;; smtpmail-native-e2e-tests.el ends here
