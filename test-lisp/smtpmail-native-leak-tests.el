;;; smtpmail-native-leak-tests.el --- Sends for the leak check  -*- lexical-binding: t; -*-

;;; Commentary:
;; The workload of the sanitizer build's leak check (test-lisp/run-leak-check runs this
;; Emacs under AddressSanitizer with LeakSanitizer on, and fails on any leak whose
;; allocation goes through the module): 1000 sends in one Emacs, through the module's
;; public functions only, against local servers on 127.0.0.1.
;;
;; Sync `smtpmail-native-send', `smtpmail-native-send-batch' and
;; `smtpmail-native-send-async' (some jobs cancelled while queued, some while writing to
;; a slow server); successes with PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1/256 and DIGEST-MD5,
;; with and without TLS (STARTTLS and implicit); and failures: a refused connection, 535
;; at AUTH (Exim, Cyrus), 550 at RCPT, a connection cut in DATA, STARTTLS sent to an
;; implicit-TLS server (a timeout), TLS spoken to a plain server, STARTTLS required but not
;; offered, a certificate for another host.  Every send's outcome is checked, so a code
;; path that stopped running (and so stopped being checked for leaks) fails the test.
;;
;; Servers: sink.py for the bulk (fast; any credentials pass), a private Exim for real
;; password checks, and the Cyrus-SASL Exim for SCRAM and DIGEST-MD5.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'smtpmail-native)
(require 'smtpmail-native-test-servers)

(declare-function smtpmail-native-send "ext:smtpmail-native-module" (&rest args))
(declare-function smtpmail-native-send-batch "ext:smtpmail-native-module" (&rest args))
(declare-function smtpmail-native-send-async "ext:smtpmail-native-module" (callback &rest args))
(declare-function smtpmail-native-cancel-job "ext:smtpmail-native-module" (job))
(declare-function smtpmail-native-job-status "ext:smtpmail-native-module" (job))
(declare-function smtpmail-native-server-info "ext:smtpmail-native-module" (&rest args))
(declare-function smtpmail-native-hmac-md5 "ext:smtpmail-native-module" (key data &optional binary))
(declare-function smtpmail-native-base64-encode "ext:smtpmail-native-module" (string))
(declare-function smtpmail-native-base64-decode "ext:smtpmail-native-module" (string))
(declare-function smtpmail-native-cram-md5-response "ext:smtpmail-native-module"
                  (user password challenge))
(declare-function smtpmail-native--leak-probe "ext:smtpmail-native-module" ())

(defconst smtpmail-native-leak-tests--sends 1000 "Sends in the workload.")

(defvar smtpmail-native-leak-tests--servers nil
  "Plist of the servers the workload talks to (see the function of that name).")

;;;; Servers

(defun smtpmail-native-leak-tests--servers ()
  "Start the servers once; return their plist."
  (or smtpmail-native-leak-tests--servers
      (let* ((exim (smtpmail-native-test-servers-start
                    ;; Accept and spool, no delivery process per message.
                    "good" :name "leak" :args '("--main" "queue_only = true")))
             (ca-dir (file-name-directory (cdr (assoc "CA_FILE" exim))))
             (good (list "--tls-cert" (expand-file-name "good.pem" ca-dir)
                         "--tls-key" (expand-file-name "good.key" ca-dir))))
        (smtpmail-native-test-servers-start-cyrus)
        (setq smtpmail-native-leak-tests--servers
              (list :ca-file (cdr (assoc "CA_FILE" exim))
                    :exim (string-to-number (cdr (assoc "SMTP_PORT" exim)))
                    :cyrus (smtpmail-native-test-servers-port "SMTP_PORT" "cyrus")
                    :plain (smtpmail-native-test-servers-start-sink "--auth" "--chunking")
                    :starttls (apply #'smtpmail-native-test-servers-start-sink "--auth" good)
                    :implicit (apply #'smtpmail-native-test-servers-start-sink
                                     "--auth" "--tls-on-connect" good)
                    :wrong-host (smtpmail-native-test-servers-start-sink
                                 "--tls-cert" (expand-file-name "wrong-host.pem" ca-dir)
                                 "--tls-key" (expand-file-name "wrong-host.key" ca-dir))
                    ;; 2 MB at 100 kB/s: a job is still writing when it is cancelled.
                    :slow (smtpmail-native-test-servers-start-sink "--throttle" "100000")
                    :refused (smtpmail-native-test-servers-free-port))))))

(defun smtpmail-native-leak-tests--port (name)
  "Port of the server NAME."
  (plist-get (smtpmail-native-leak-tests--servers) name))

;;;; The kinds of send

(defun smtpmail-native-leak-tests--message (i &optional size)
  "Message number I, of about SIZE bytes (default small)."
  (concat "From: a@example.test\r\nTo: b@example.test\r\nSubject: leak " (number-to-string i)
          "\r\n\r\n.a line with a leading dot\r\n"
          (if size (apply #'concat (make-list (/ size 80) (concat (make-string 78 ?x) "\r\n")))
            "Hello.\r\n")))

(defun smtpmail-native-leak-tests--kind (kind i)
  "The send of KIND number I: a list (ARGS EXPECT).
ARGS are `smtpmail-native-send' keywords; EXPECT is `ok' or the error
symbol the send must end in, or (SYMBOL CODE)."
  (let ((plain (list :host "127.0.0.1" :stream-type 'plain :from "a@example.test"
                     :recipients '("b@example.test")
                     :data (smtpmail-native-leak-tests--message i)
                     :timeout 20))
        (tls (list :stream-type 'starttls :trust-file
                   (plist-get (smtpmail-native-leak-tests--servers) :ca-file))))
    (cl-flet ((to (server &rest args)
                (append args (list :port (smtpmail-native-leak-tests--port server)) plain)))
      (pcase-exhaustive kind
        ('sink-plain (list (to :plain :user "u" :password "p" :mechanisms '(plain)) 'ok))
        ('sink-login (list (to :plain :user "u" :password "p" :mechanisms '(login)) 'ok))
        ('sink-cram-md5 (list (to :plain :user "u" :password (lambda () "p")
                                  :mechanisms '(cram-md5))
                              'ok))
        ('sink-bdat (list (to :plain :data (smtpmail-native-leak-tests--message i 100000)) 'ok))
        ('sink-trace (list (to :plain :user "u" :password "p" :trace #'ignore) 'ok))
        ('sink-rcpt-550 (list (to :plain :recipients '("reject@example.test"))
                              '(smtpmail-native-permanent-error 550)))
        ('sink-partial (list (to :plain :recipients '("b@example.test" "reject-c@example.test")
                                 :allow-partial t)
                             'partial))
        ('sink-cut-in-data (list (to :plain :recipients '("dropdata@example.test"))
                                 'smtpmail-native-connection-error))
        ('sink-starttls (list (apply #'to :starttls :user "u" :password "p"
                                     :mechanisms '(login) tls)
                              'tls))
        ('sink-implicit-tls (list (to :implicit :stream-type 'ssl :user "u" :password "p"
                                      :trust-file (plist-get (smtpmail-native-leak-tests--servers)
                                                             :ca-file))
                                  'tls))
        ('wrong-host (list (apply #'to :wrong-host tls) 'smtpmail-native-tls-error))
        ('tls-to-plain (list (to :plain :stream-type 'ssl) 'smtpmail-native-tls-error))
        ('starttls-not-offered (list (apply #'to :plain tls) 'smtpmail-native-tls-error))
        ('starttls-to-tls-server (list (to :implicit :stream-type 'starttls :timeout 0.3)
                                       'smtpmail-native-timeout))
        ('refused (list (to :refused) 'smtpmail-native-connection-error))
        ('exim-cram-md5 (list (to :exim :user "alice" :password "wonderland-secret"
                                  :mechanisms '(cram-md5))
                              'ok))
        ('exim-535 (list (to :exim :user "alice" :password "wrong"
                             :mechanisms (list (nth (% i 3) '(plain login cram-md5))))
                         '(smtpmail-native-auth-error 535)))
        ('exim-tls-535 (list (apply #'to :exim :user "bob" :password "wrong"
                                    :mechanisms '(plain) tls)
                             '(smtpmail-native-auth-error 535)))
        ('cyrus (list (apply #'to :cyrus :user "alice" :password "wonderland-secret"
                             :mechanisms
                             (list (nth (% i 3) '(scram-sha-256 scram-sha-1 digest-md5)))
                             tls)
                      'tls))
        ('cyrus-535 (list (apply #'to :cyrus :user "alice" :password "wrong"
                                 :mechanisms '(scram-sha-256) tls)
                          '(smtpmail-native-auth-error 535)))
        ('cancel-writing (list (to :slow :data (smtpmail-native-leak-tests--message i 2000000))
                               'smtpmail-native-cancelled))))))

(defconst smtpmail-native-leak-tests--pattern
  [sink-plain sink-login sink-cram-md5 sink-plain sink-rcpt-550 sink-starttls sink-partial
   refused exim-535 sink-implicit-tls sink-bdat sink-login tls-to-plain sink-trace cyrus
   sink-plain sink-cut-in-data exim-cram-md5 starttls-not-offered sink-cram-md5 wrong-host
   sink-starttls exim-tls-535 sink-plain cancel-writing sink-login sink-rcpt-550 cyrus-535
   sink-implicit-tls refused sink-plain exim-535 sink-partial sink-bdat cyrus sink-cram-md5
   starttls-to-tls-server sink-plain sink-starttls exim-cram-md5]
  "Kinds of send, in the order the workload cycles through them.")

(defun smtpmail-native-leak-tests--check (kind expect outcome)
  "Check OUTCOME of a KIND send against EXPECT.
OUTCOME is a result plist or (ERROR-SYMBOL . DATA)."
  (ert-info ((format "%s: %S" kind outcome) :prefix "send: ")
    (pcase expect
      (`(:cancelled-or ,otherwise)
       ;; A job cancelled while running may have finished before it saw the request.
       (unless (eq (car-safe outcome) 'smtpmail-native-cancelled)
         (smtpmail-native-leak-tests--check kind otherwise outcome)))
      ((or 'ok 'tls 'partial)
       (should (plist-get outcome :reply))
       (should (eql (plist-get outcome :code) 250))
       (should (equal (plist-get outcome :accepted) '("b@example.test")))
       (when (eq expect 'tls) (should (plist-get outcome :tls)))
       (when (eq expect 'partial) (should (= 1 (length (plist-get outcome :rejected))))))
      (`(,symbol ,code)
       (should (eq (car outcome) symbol))
       (should (equal (plist-get (cddr outcome) :code) code)))
      (symbol (should (eq (car outcome) symbol))))))

(defun smtpmail-native-leak-tests--send-sync (args)
  "`smtpmail-native-send' with ARGS; its result, or (ERROR-SYMBOL . DATA)."
  (condition-case err
      (apply #'smtpmail-native-send args)
    (smtpmail-native-error err)))

(defun smtpmail-native-leak-tests--wait (predicate seconds)
  "Process events until PREDICATE is non-nil or SECONDS pass; return its value."
  (let ((deadline (+ (float-time) seconds))
        value)
    (while (and (not (setq value (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.005))
    value))

(defun smtpmail-native-leak-tests--crypto-calls (i)
  "The module's hash and base64 functions, on inputs that depend on I."
  (let ((bytes (apply #'unibyte-string (mapcar (lambda (k) (% (* k (1+ i)) 256))
                                               (number-sequence 0 (% i 97))))))
    (should (equal (smtpmail-native-base64-decode (smtpmail-native-base64-encode bytes)) bytes))
    (should (equal (smtpmail-native-base64-encode bytes) (base64-encode-string bytes t)))
    (should (eq (car (should-error (smtpmail-native-base64-decode "not base64!")))
                'smtpmail-native-decode-error))
    (should (equal (smtpmail-native-hmac-md5 "key" bytes)
                   (smtpmail-native-hmac-md5 "key" bytes)))
    ;; RFC 2195's example.
    (should (equal (smtpmail-native-cram-md5-response
                    "tim" "tanstaaftanstaaf"
                    "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+")
                   "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"))))

(defun smtpmail-native-leak-tests--run (count)
  "Run COUNT sends through the module; return an alist (WHAT . NUMBER) of what ran."
  (let ((tally (make-hash-table :test #'eq))
        (pending nil)                   ; (KIND EXPECT JOB CELL) of running async jobs
        (i 0))
    (cl-flet* ((note (what) (cl-incf (gethash what tally 0)))
               (settle ()
                 (should (smtpmail-native-leak-tests--wait
                          (lambda () (cl-every (lambda (p) (car (nth 3 p))) pending))
                          60))
                 (dolist (p pending)
                   (when (eq (car-safe (car (nth 3 p))) 'smtpmail-native-cancelled)
                     (note 'cancelled))
                   (smtpmail-native-leak-tests--check (nth 0 p) (nth 1 p) (car (nth 3 p))))
                 (setq pending nil)))
      (while (< i count)
        (let* ((kind (aref smtpmail-native-leak-tests--pattern
                           (% i (length smtpmail-native-leak-tests--pattern))))
               (send (smtpmail-native-leak-tests--kind kind i))
               (args (nth 0 send))
               (expect (nth 1 send))
               (mode (cond ((eq kind 'cancel-writing) 'async)
                           ;; A run of 3 messages over one session, counted as 3 sends.
                           ((and (eq kind 'sink-plain) (= (% i 7) 0) (<= (+ i 3) count)) 'batch)
                           ((= (% i 3) 0) 'async)
                           (t 'sync))))
          (note kind)
          (note mode)
          (pcase mode
            ('sync
             (smtpmail-native-leak-tests--check
              kind expect (smtpmail-native-leak-tests--send-sync args))
             (cl-incf i))
            ('batch
             (let* ((messages (cl-loop for n from 0 below 3 collect
                                       (list :from "a@example.test"
                                             :recipients (if (= n 1) '("reject@example.test")
                                                           '("b@example.test"))
                                             :data (smtpmail-native-leak-tests--message (+ i n)))))
                    (outcomes (apply #'smtpmail-native-send-batch :messages messages
                                     (cl-loop for (k v) on args by #'cddr
                                              unless (memq k '(:from :recipients :data))
                                              append (list k v)))))
               (should (= (length outcomes) 3))
               (smtpmail-native-leak-tests--check kind 'ok (nth 0 outcomes))
               (smtpmail-native-leak-tests--check kind '(smtpmail-native-permanent-error 550)
                                                  (nth 1 outcomes))
               (smtpmail-native-leak-tests--check kind 'ok (nth 2 outcomes))
               (cl-incf i 3)))
            ('async
             (let* ((cell (list nil))
                    (job (apply #'smtpmail-native-send-async
                                (lambda (outcome) (setcar cell (or outcome 'nil-outcome)))
                                args)))
               (cond
                ((eq kind 'cancel-writing)
                 ;; Cancelled while its message is on the way.
                 (should (smtpmail-native-leak-tests--wait
                          (lambda () (> (plist-get (smtpmail-native-job-status job) :sent) 0))
                          20))
                 (should (smtpmail-native-cancel-job job)))
                ((= (% i 11) 0)
                 ;; Cancelled at once: queued or just started, unless it already ended.
                 (when (smtpmail-native-cancel-job job)
                   (setq expect (list :cancelled-or expect)))))
               (push (list kind expect job cell) pending)
               (cl-incf i))))
          (when (>= (length pending) 8) (settle))
          (when (= (% i 50) 0) (smtpmail-native-leak-tests--crypto-calls i))))
      (settle)
      (let (result)
        (maphash (lambda (k v) (push (cons k v) result)) tally)
        (sort result (lambda (a b) (string< (car a) (car b))))))))

;;;; Tests

(ert-deftest smtpmail-native-leak-workload ()
  "1000 mixed sends, every outcome as expected; each kind and mode ran."
  (when (getenv "SMTPN_LEAK_CHECK")
    ;; Under run-leak-check, the sanitizer runtime really is in this Emacs.
    (should (eq 0 (call-process "grep" nil nil nil "-q" "/libasan\\.so"
                                (format "/proc/%d/maps" (emacs-pid))))))
  (let* ((started (float-time))
         (tally (smtpmail-native-leak-tests--run smtpmail-native-leak-tests--sends))
         (sends (+ (cdr (assq 'sync tally)) (cdr (assq 'async tally))
                   (* 3 (cdr (assq 'batch tally))))))
    (message "leak workload: %d sends in %.1f s: %S" sends (- (float-time) started) tally)
    (should (= sends smtpmail-native-leak-tests--sends))
    (dolist (kind (append smtpmail-native-leak-tests--pattern nil))
      (should (assq kind tally)))
    (should (> (or (cdr (assq 'cancelled tally)) 0) 0))))

(ert-deftest smtpmail-native-leak-probe ()
  "A few sends, then the sanitizer build's deliberate leak (the leak check's self-test).
run-leak-check --expect-probe must find exactly the probe's leaks."
  (smtpmail-native-module-load)          ; the module loads on first use, not at `require'
  (skip-unless (fboundp 'smtpmail-native--leak-probe))
  (smtpmail-native-leak-tests--run (length smtpmail-native-leak-tests--pattern))
  (should-not (smtpmail-native--leak-probe)))

(provide 'smtpmail-native-leak-tests)

;;; smtpmail-native-leak-tests.el ends here
