;;; smtpmail-native-sasl-tests.el --- SASL against real servers on 127.0.0.1  -*- lexical-binding: t; -*-

;;; Commentary:
;; The modern mechanisms end to end, against servers this suite starts on 127.0.0.1:
;;
;;   Dovecot submission (test-servers/dovecot-start, plaintext passdb), relaying to the
;;     fixture's "good" Exim: SCRAM-SHA-1, SCRAM-SHA-256, CRAM-MD5, DIGEST-MD5, PLAIN,
;;     LOGIN over STARTTLS, a non-ASCII login that only works once SASLprep normalised it.
;;   Exim through its cyrus_sasl authenticator with a private sasldb (sasl2-bin):
;;     SCRAM-SHA-1, SCRAM-SHA-256, DIGEST-MD5.
;;   Dovecot's oauth2 passdb against test-servers/oauth-introspect.py: OAUTHBEARER and
;;     XOAUTH2, a refused token's error continuation, the token function of smtpmail.
;;   Exim's external authenticator: EXTERNAL with a client certificate from the test CA.
;;
;; Neither server does SCRAM-...-PLUS; channel binding is proved in the Catch2 suite
;; (tests/test_channel_binding.cpp) against an in-process OpenSSL server.
;; The Dovecots and the introspection endpoint are smtpmail-native-sasl-fixture.el's.

;;; Code:

(require 'smtpmail-native-sasl-fixture)  ; and the compat fixture with all it requires
(require 'seq)
(require 'smtpmail-native-sasl)

(declare-function smtpmail-native-send "ext:smtpmail-native-module" (&rest args))

;; smtpmail-native.el reads this removed smtpmail variable; let-bind it dynamically.
(defvar smtpmail-auth-credentials)

(defun smtpmail-native-sasl-tests--send (port &rest args)
  "Send a tagged message to 127.0.0.1:PORT over STARTTLS with ARGS.
Return (RESULT ID TRACE-LINES)."
  (let* ((id (smtpmail-native-compat--id))
         (trace nil)
         (result (apply #'smtpmail-native-send
                        :host "127.0.0.1" :port port :stream-type 'starttls
                        :tls-server-name "localhost"
                        :trust-file (smtpmail-native-test-servers-get "CA_FILE")
                        :from "alice@example.org" :recipients '("bob@example.org")
                        :data (concat "Subject: sasl\r\nX-Test-Id: " id "\r\n\r\nHello.\r\n")
                        :trace (lambda (lines) (dolist (line lines) (push line trace)))
                        :timeout 20
                        args)))
    (list result id (nreverse trace))))

;;;; Dovecot submission, plaintext passdb

(ert-deftest smtpmail-native-sasl-dovecot-every-mechanism ()
  "Each mechanism Dovecot offers logs in over STARTTLS and the mail is relayed."
  (skip-unless (smtpmail-native-sasl-fixture-dovecot-available))
  (let ((port (smtpmail-native-sasl-fixture-port)))
    (dolist (mech '(scram-sha-256 scram-sha-1 cram-md5 digest-md5 plain login))
      (ert-info ((symbol-name mech) :prefix "mechanism: ")
        (pcase-let ((`(,result ,id ,trace)
                     (smtpmail-native-sasl-tests--send port :user "alice" :password "wonderland-secret"
                                                       :mechanisms (list mech))))
          (should (equal (plist-get result :auth) (upcase (symbol-name mech))))
          (should (smtpmail-native-compat--one id))
          (should (member (format "* authenticated with %s" (upcase (symbol-name mech))) trace))
          (smtpmail-native-sasl-fixture-no-secret-in trace "alice" "wonderland-secret"))))))

(ert-deftest smtpmail-native-sasl-dovecot-default-is-scram ()
  "Without a list, the strongest mechanism Dovecot offers is chosen: SCRAM-SHA-256."
  (skip-unless (smtpmail-native-sasl-fixture-dovecot-available))
  (let ((port (smtpmail-native-sasl-fixture-port)))
    (should (equal (plist-get (car (smtpmail-native-sasl-tests--send
                                    port :user "alice" :password "wonderland-secret"))
                              :auth)
                   "SCRAM-SHA-256"))))

(ert-deftest smtpmail-native-sasl-dovecot-wrong-password ()
  "A wrong password fails SCRAM with the server's 535, and no mail is relayed."
  (skip-unless (smtpmail-native-sasl-fixture-dovecot-available))
  (let* ((port (smtpmail-native-sasl-fixture-port))
         (err (should-error (smtpmail-native-sasl-tests--send port :user "alice" :password "wrong"
                                                              :mechanisms '(scram-sha-256))
                            :type 'smtpmail-native-auth-error)))
    (should (equal (plist-get (cddr err) :code) 535))))

(ert-deftest smtpmail-native-sasl-dovecot-saslprep ()
  "A decomposed non-ASCII login works: the module's SASLprep (NFKC) normalises it.
Dovecot compares bytes; its passwd holds the NFC form.  Every mechanism
that hashes the password (SCRAM, CRAM-MD5, DIGEST-MD5), and PLAIN, agrees
with it, through the module directly and through the Lisp layer's
arguments, which pass the credentials as the user gave them."
  (skip-unless (smtpmail-native-sasl-fixture-dovecot-available))
  (let* ((port (smtpmail-native-sasl-fixture-port))
         (user (string ?j ?u #x308 ?r ?g ?e ?n))                    ; u + combining diaeresis
         (password (concat (string ?p ?a #x308 ?s ?s ?w ?o #x308 ?r ?d) (string #xAD))) ; + soft hyphen
         (args (smtpmail-native-sasl-arguments "127.0.0.1" port user (lambda () password) nil nil)))
    ;; Lisp prepares nothing: the module is the one owner of SASLprep.
    (should (equal (plist-get args :user) user))
    (should (equal (funcall (plist-get args :password)) password))
    (dolist (mech '(scram-sha-256 plain cram-md5 digest-md5))
      (ert-info ((symbol-name mech) :prefix "mechanism: ")
        (should (equal (plist-get (car (smtpmail-native-sasl-tests--send
                                        port :user user :password password
                                        :mechanisms (list mech)))
                                  :auth)
                       (upcase (symbol-name mech))))
        (should (equal (plist-get (car (apply #'smtpmail-native-sasl-tests--send port
                                              (plist-put (copy-sequence args) :mechanisms (list mech))))
                                  :auth)
                       (upcase (symbol-name mech))))))
    ;; A password SASLprep refuses (a bidi violation) never reaches the server.
    (should-error (smtpmail-native-sasl-tests--send port :user user
                                                    :password (string #x627 ?1)
                                                    :mechanisms '(scram-sha-256))
                  :type 'smtpmail-native-auth-error)))

;;;; Exim with Cyrus SASL

(ert-deftest smtpmail-native-sasl-exim-cyrus ()
  "SCRAM-SHA-256, SCRAM-SHA-1 and DIGEST-MD5 against Exim's cyrus_sasl authenticator."
  (let ((port (progn (smtpmail-native-test-servers-start-cyrus)
                     (smtpmail-native-test-servers-port "SMTP_PORT" "cyrus"))))
    (dolist (mech '(scram-sha-256 scram-sha-1 digest-md5))
      (ert-info ((symbol-name mech) :prefix "mechanism: ")
        (pcase-let ((`(,result ,id ,trace)
                     (smtpmail-native-sasl-tests--send port :user "alice" :password "wonderland-secret"
                                                       :mechanisms (list mech))))
          (should (equal (plist-get result :auth) (upcase (symbol-name mech))))
          (should (smtpmail-native-compat--one id "cyrus"))
          (smtpmail-native-sasl-fixture-no-secret-in trace "alice" "wonderland-secret"))))
    ;; The default order picks SCRAM-SHA-256 out of PLAIN LOGIN CRAM-MD5 SCRAM-* DIGEST-MD5.
    (should (equal (plist-get (car (smtpmail-native-sasl-tests--send
                                    port :user "alice" :password "wonderland-secret"))
                              :auth)
                   "SCRAM-SHA-256"))
    (dolist (mech '(scram-sha-256 digest-md5))
      (ert-info ((symbol-name mech) :prefix "wrong password: ")
        (should-error (smtpmail-native-sasl-tests--send port :user "alice" :password "wrong"
                                                        :mechanisms (list mech))
                      :type 'smtpmail-native-auth-error)))))

(ert-deftest smtpmail-native-sasl-scram-ceiling ()
  "A ceiling below the server's iteration count refuses the login before hashing."
  (let* ((port (progn (smtpmail-native-test-servers-start-cyrus)
                      (smtpmail-native-test-servers-port "SMTP_PORT" "cyrus")))
         (err (should-error (smtpmail-native-sasl-tests--send port :user "alice" :password "wonderland-secret"
                                                              :mechanisms '(scram-sha-256)
                                                              ;; Cyrus uses 10000.
                                                              :scram-max-iterations 5000)
                            :type 'smtpmail-native-auth-error)))
    (should (string-match-p "iteration count [0-9]+ is outside the accepted range 4096–5000" (cadr err))))
  ;; The ceiling itself is bounded: below the floor is a caller's error, raised before connecting.
  (let ((err (should-error (smtpmail-native-send :host "127.0.0.1" :port 1 :scram-max-iterations 100
                                                 :from "a@example.org" :recipients '("b@example.org")
                                                 :data "x")
                           :type 'smtpmail-native-error)))
    (should (string-match-p ":scram-max-iterations must be an integer from 4096 to" (cadr err)))))

;;;; EXTERNAL with a TLS client certificate (Exim's external authenticator)

(defun smtpmail-native-sasl-tests--client-cert (cn)
  "Return (CERT-FILE . KEY-FILE) of a client certificate for CN from the test CA."
  (smtpmail-native-compat--server "good")     ; the CA exists once a server started
  (let* ((ca (expand-file-name "ca" smtpmail-native-test-servers--root))
         (base (smtpmail-native-sasl-fixture-private (concat "client-" cn)))
         (key (concat base ".key")) (csr (concat base ".csr")) (crt (concat base ".pem"))
         (ext (concat base ".cnf")))
    (unless (file-exists-p crt)
      (with-temp-file ext (insert "extendedKeyUsage = clientAuth\n"))
      (unless (and (eq 0 (call-process "openssl" nil nil nil "req" "-new" "-newkey" "ec" "-pkeyopt"
                                       "ec_paramgen_curve:P-256" "-nodes" "-keyout" key
                                       "-subj" (concat "/CN=" cn) "-out" csr))
                   (eq 0 (call-process "openssl" nil nil nil "x509" "-req" "-in" csr
                                       "-CA" (expand-file-name "ca.pem" ca)
                                       "-CAkey" (expand-file-name "ca.key" ca)
                                       "-set_serial" (number-to-string (random 1000000))
                                       "-days" "2" "-extfile" ext "-out" crt)))
        (error "Cannot make a client certificate for %s" cn)))
    (cons crt key)))

(defun smtpmail-native-sasl-tests--external-exim ()
  "Port of an Exim offering EXTERNAL; it accepts a verified certificate for alice."
  (unless (assoc "external" smtpmail-native-test-servers--running)
    (let ((auths (smtpmail-native-sasl-fixture-private "external-authenticators"))
          (ca-file (progn (smtpmail-native-compat--server "good")
                          (smtpmail-native-test-servers-get "CA_FILE"))))
      (with-temp-file auths
        (insert "external:\n  driver = external\n  public_name = EXTERNAL\n"
                "  server_advertise_condition = ${if bool{$tls_in_certificate_verified}}\n"
                "  server_param2 = ${certextract{subject,CN}{$tls_in_peercert}}\n"
                "  server_condition = ${if eq{$auth2}{alice}}\n"
                "  server_set_id = $auth2\n"))
      (smtpmail-native-test-servers-start
       "good" :name "external"
       :args (list "--main" (concat "tls_verify_certificates = " ca-file)
                   "--main" "tls_try_verify_hosts = *" "--authenticators" auths))))
  (smtpmail-native-test-servers-port "SMTP_PORT" "external"))

(ert-deftest smtpmail-native-sasl-exim-external ()
  "A client certificate for alice logs in with EXTERNAL, chosen first; no password is needed."
  (let* ((port (smtpmail-native-sasl-tests--external-exim))
         (alice (smtpmail-native-sasl-tests--client-cert "alice"))
         (mallory (smtpmail-native-sasl-tests--client-cert "mallory")))
    (pcase-let ((`(,result ,id ,_trace)
                 (smtpmail-native-sasl-tests--send port :user "alice"
                                                   :client-cert (car alice) :client-key (cdr alice))))
      (should (equal (plist-get result :auth) "EXTERNAL"))
      (should (smtpmail-native-compat--one id "external")))
    ;; Another name in the certificate: the server refuses, and no other mechanism is tried.
    (let ((err (should-error (smtpmail-native-sasl-tests--send port :user "alice" :password "wonderland-secret"
                                                               :client-cert (car mallory)
                                                               :client-key (cdr mallory))
                             :type 'smtpmail-native-auth-error)))
      (should (equal (plist-get (cddr err) :code) 535)))
    ;; Without a certificate EXTERNAL is neither offered nor chosen.
    (should (equal (plist-get (car (smtpmail-native-sasl-tests--send port :user "alice"
                                                                  :password "wonderland-secret"))
                           :auth)
                "PLAIN"))))

(ert-deftest smtpmail-native-sasl-exim-external-from-auth-source ()
  "The drop-in takes the client certificate from auth-source, as smtpmail does.
The server's entry names \"key\" and \"cert\" files (smtpmail opens its
connection with :client-certificate t); EXTERNAL then logs in with no
password, and the message arrives once.  Without those fields no
certificate is sent, so EXTERNAL is not offered and, with no password
either, nothing is sent."
  (let* ((port (smtpmail-native-sasl-tests--external-exim))
         (alice (smtpmail-native-sasl-tests--client-cert "alice"))
         (trace nil))
    (smtpmail-native-compat--with-smtp
      (let ((smtpmail-smtp-service port)
            (smtpmail-smtp-user "alice")
            (auth-sources
             (list (smtpmail-native-compat--write-file
                    "external.netrc"
                    (format "machine localhost port %d login alice key %s cert %s\n"
                            port (cdr alice) (car alice))))))
        (advice-add 'smtpmail-native-send :around
                    (lambda (send &rest args)
                      (let ((result (apply send args)))
                        (push result trace)
                        result))
                    '((name . sasl-external-test)))
        (unwind-protect
            (let ((id (smtpmail-native-compat--send "To: bob@example.org\n")))
              (should (smtpmail-native-compat--one id "external"))
              (should (equal (plist-get (car trace) :auth) "EXTERNAL")))
          (advice-remove 'smtpmail-native-send 'sasl-external-test))
        ;; The same entry without key and cert: no certificate, no EXTERNAL, and with no
        ;; password to offer for PLAIN the login cannot happen (a password is asked for).
        (let ((auth-sources (list (smtpmail-native-compat--write-file
                                   "external-nocert.netrc"
                                   (format "machine localhost port %d login alice\n" port)))))
          (auth-source-forget-all-cached)
          (let ((err (should-error (smtpmail-native-compat--send "To: bob@example.org\n"))))
            (should (string-match-p "\\`Unexpected prompt: .*password for alice@" (error-message-string err)))))))))

;;;; OAuth 2 against Dovecot's oauth2 passdb

(ert-deftest smtpmail-native-sasl-oauth ()
  "OAUTHBEARER and XOAUTH2 with a good token; a bad one reports the OAuth status."
  (skip-unless (smtpmail-native-sasl-fixture-dovecot-available))
  (let ((port (smtpmail-native-sasl-fixture-port t))
        (token smtpmail-native-sasl-fixture-token))
    ;; A token source puts OAUTHBEARER first; a function is called for the token.
    (pcase-let ((`(,result ,id ,trace)
                 (smtpmail-native-sasl-tests--send port :user "alice" :oauth2-token (lambda () token))))
      (should (equal (plist-get result :auth) "OAUTHBEARER"))
      (should (smtpmail-native-compat--one id))
      (smtpmail-native-sasl-fixture-no-secret-in trace "alice" token))
    ;; XOAUTH2 with the token in the password slot, as an auth-source entry would have it.
    (should (equal (plist-get (car (smtpmail-native-sasl-tests--send port :user "alice" :password token
                                                                     :mechanisms '(xoauth2)))
                              :auth)
                   "XOAUTH2"))
    ;; Dovecot's error documents: RFC 7628's status for OAUTHBEARER, Google's for XOAUTH2.
    (pcase-dolist (`(,mech . ,status) '((oauthbearer . "invalid_token") (xoauth2 . "401")))
      (ert-info ((symbol-name mech) :prefix "refused token: ")
        (let ((err (should-error (smtpmail-native-sasl-tests--send port :user "alice" :oauth2-token "expired"
                                                                   :mechanisms (list mech))
                                 :type 'smtpmail-native-auth-error)))
          (should (equal (plist-get (cddr err) :code) 535))
          (should (string-search (concat "the token was refused, OAuth status " status) (cadr err))))))))

(ert-deftest smtpmail-native-sasl-oauth-token-function ()
  "`smtpmail-native-send-it' asks `smtpmail-native-oauth2-token-function' for the token."
  (skip-unless (smtpmail-native-sasl-fixture-dovecot-available))
  (let ((port (smtpmail-native-sasl-fixture-port t))
        (calls nil))
    (smtpmail-native-compat--with-smtp
      (let ((smtpmail-smtp-service port)
            (smtpmail-auth-credentials `(("localhost" ,port "alice" "not-the-token")))
            (smtpmail-native-oauth2-token-function
             (lambda (host port user)
               (push (list host port user) calls)
               smtpmail-native-sasl-fixture-token)))
        (should (smtpmail-native-compat--one (smtpmail-native-compat--send "To: bob@example.org\n")))
        (should (equal calls `(("localhost" ,port "alice"))))))))

(ert-deftest smtpmail-native-sasl-auth-source-smtp-auth ()
  "An auth-source entry's smtp-auth picks the mechanism; for XOAUTH2 its password is the token."
  (skip-unless (smtpmail-native-sasl-fixture-dovecot-available))
  (let ((oauth-port (smtpmail-native-sasl-fixture-port t))
        (plain-port (smtpmail-native-sasl-fixture-port)))
    (smtpmail-native-compat--with-smtp
      (let ((auth-sources
             (list (smtpmail-native-compat--write-file
                    "sasl.netrc"
                    (format "machine localhost port %d login alice password %s smtp-auth xoauth2
machine localhost port %d login alice password wonderland-secret smtp-auth \"cram-md5 plain\"\n"
                            oauth-port smtpmail-native-sasl-fixture-token plain-port))))
            (trace nil))
        (advice-add 'smtpmail-native-send :around
                    (lambda (send &rest args)
                      (let ((result (apply send args)))
                        (push (plist-get result :auth) trace)
                        result))
                    '((name . sasl-test-spy)))
        (unwind-protect
            (dolist (port (list oauth-port plain-port))
              (let ((smtpmail-smtp-service port))
                (should (smtpmail-native-compat--one
                         (smtpmail-native-compat--send "To: bob@example.org\n")))))
          (advice-remove 'smtpmail-native-send 'sasl-test-spy))
        ;; SCRAM is offered by the second server, but the entry's list wins.
        (should (equal (reverse trace) '("XOAUTH2" "CRAM-MD5")))))))

;;;; The Lisp side alone

(ert-deftest smtpmail-native-sasl-mechanism-lists ()
  "auth-source smtp-auth strings and the user's list; smtpmail's standard value is no list.
Lisp orders nothing: without a choice of the user's, :mechanisms is nil
and the module's order applies."
  (should (equal (smtpmail-native-sasl-mechanisms "scram-sha-256, plain" nil) '(scram-sha-256 plain)))
  (should (equal (smtpmail-native-sasl-mechanisms 'xoauth2 '(plain)) '(xoauth2)))
  (should (equal (smtpmail-native-sasl-mechanisms nil '(login)) '(login)))
  (should (equal (smtpmail-native-sasl-mechanisms nil '(plain cram-md5)) '(plain cram-md5)))
  (should (equal (smtpmail-native-sasl-mechanisms nil '(cram-md5 plain login)) nil))
  (let ((smtpmail-native-oauth2-token-function #'ignore))
    (should (equal (smtpmail-native-sasl-mechanisms nil '(cram-md5 plain login)) nil))
    (should (functionp (plist-get (smtpmail-native-sasl-arguments "h" 25 "u" nil nil nil)
                                  :oauth2-token))))
  (let ((smtpmail-native-scram-max-iterations 50000))
    (should (equal (plist-get (smtpmail-native-sasl-arguments "h" 25 "u" nil nil nil)
                              :scram-max-iterations)
                   50000)))
  (let ((smtpmail-native-oauth2-token-function (lambda (&rest _) nil)))
    (should-error (funcall (plist-get (smtpmail-native-sasl-arguments "h" 25 "u" nil nil nil)
                                      :oauth2-token)))))

(provide 'smtpmail-native-sasl-tests)

;;; smtpmail-native-sasl-tests.el ends here
