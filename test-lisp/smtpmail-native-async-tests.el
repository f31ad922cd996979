;;; smtpmail-native-async-tests.el --- Background sends: module jobs and the Lisp layer  -*- lexical-binding: t; -*-

;;; Commentary:
;; `smtpmail-native-send-async' against sink.py (fast, slow, cutting the connection) and
;; the private Exims; `smtpmail-native-async' through `smtpmail-native-send-it': a
;; failure at each phase ends in the queue with a warning and is sent by a retry;
;; concurrency; cancel; the mode line and M-x smtpmail-native-jobs; exiting Emacs with a
;; send running leaves the message queued.

;;; Code:

(require 'smtpmail-native-compat-fixture)  ; ert, cl-lib, smtpmail-native, test servers

(defvar smtpmail-auth-credentials)
(declare-function smtpmail-native-send-async "ext:smtpmail-native-module" (callback &rest args))
(declare-function smtpmail-native-set-max-jobs "ext:smtpmail-native-module" (n))
(declare-function smtpmail-native-job-status "ext:smtpmail-native-module" (job))
(declare-function smtpmail-native-cancel-job "ext:smtpmail-native-module" (job))

(defvar smtpmail-native-async-tests--warnings nil "Texts of `display-warning', newest first.")
(defvar smtpmail-native-async-tests--sent nil "(MESSAGE-ID . RESULT) of the after-send hook.")
(defvar smtpmail-native-async-tests--failures nil "(MESSAGE-ID ERROR FILE) of the failure hook.")

;;;; Helpers

(defun smtpmail-native-async-tests--wait (predicate &optional seconds)
  "Process events until PREDICATE is non-nil or SECONDS (default 60) pass.
Return PREDICATE's value."
  (let ((deadline (+ (float-time) (or seconds 60)))
        value)
    (while (and (not (setq value (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.005))
    value))

(defun smtpmail-native-async-tests--message (id size)
  "A CRLF message tagged ID whose body makes it about SIZE bytes."
  (let ((line (concat (make-string 76 ?x) "\r\n")))
    (concat "From: a@example.test\r\nTo: b@example.test\r\nSubject: " id "\r\nX-Id: " id "\r\n\r\n"
            ".leading dot\r\n"
            (apply #'concat (make-list (max 1 (/ size (length line))) line)))))

(defun smtpmail-native-async-tests--stored (dir)
  "The messages the sink stored in DIR, as a list of byte strings (in order)."
  (mapcar #'smtpmail-native-test-servers-read-file
          (sort (directory-files dir t "\\`[0-9]+\\.eml\\'")
                (lambda (a b) (< (string-to-number (file-name-base a))
                                 (string-to-number (file-name-base b)))))))

(defun smtpmail-native-async-tests--send (port data &optional callback recipients)
  "Start sending DATA to the plain sink on PORT; return (JOB . OUTCOME-CELL).
The cell's car becomes the callback's argument; CALLBACK is called too."
  (let* ((cell (list nil))
         (job (smtpmail-native-send-async
               (lambda (outcome) (setcar cell (or outcome 'nil-outcome))
                 (when callback (funcall callback outcome)))
               :host "127.0.0.1" :port port :stream-type 'plain
               :from "a@example.test" :recipients (or recipients '("b@example.test"))
               :data data)))
    (cons job cell)))

(defmacro smtpmail-native-async-tests--with-lisp (&rest body)
  "Run BODY with smtpmail set up for the good Exim, background sends on.
A private queue; `display-warning' and the hooks recorded in
`smtpmail-native-async-tests--warnings', `--sent' and `--failures';
every job ended when BODY ends."
  (declare (indent 0) (debug t))
  `(smtpmail-native-compat--with-smtp
     (let* ((smtpmail-queue-dir (file-name-as-directory
                                 (smtpmail-native-compat--fresh-file "queue-%d/")))
            (smtpmail-native-async t)
            (smtpmail-native-async--jobs nil)
            (smtpmail-auth-credentials (smtpmail-native-compat--alice))
            (smtpmail-native-async-tests--warnings nil)
            (smtpmail-native-async-tests--sent nil)
            (smtpmail-native-async-tests--failures nil)
            (smtpmail-native-after-send-functions
             (list (lambda (id result) (push (cons id result) smtpmail-native-async-tests--sent))))
            (smtpmail-native-send-failure-functions
             (list (lambda (id err file)
                     (push (list id err file) smtpmail-native-async-tests--failures)))))
       (cl-letf (((symbol-function 'display-warning)
                  (lambda (_type text &rest _) (push text smtpmail-native-async-tests--warnings))))
         (unwind-protect
             (progn ,@body)
           (dolist (job (smtpmail-native-async--active-jobs))
             (when (smtpmail-native-async--job-handle job)
               (smtpmail-native-cancel-job (smtpmail-native-async--job-handle job))))
           (smtpmail-native-async-tests--wait
            (lambda () (null (smtpmail-native-async--active-jobs))) 10))))))

(defun smtpmail-native-async-tests--queued ()
  "The queue's index entries."
  (let ((index (expand-file-name smtpmail-queue-index-file smtpmail-queue-dir)))
    (and (file-exists-p index)
         (with-temp-buffer
           (insert-file-contents index)
           (split-string (buffer-string) "\n" t)))))

(defun smtpmail-native-async-tests--held-alone (key value)
  "Check that the first job ended held, warned about, and queued alone.
Its failure's error data must have KEY VALUE.  Return the queue's index
entries."
  (let ((queued (smtpmail-native-async-tests--queued)))
    (should (eq (smtpmail-native-async--job-state (car smtpmail-native-async--jobs)) 'held))
    (should (eq (plist-get (cddr (nth 1 (car smtpmail-native-async-tests--failures))) key) value))
    (should (= (length queued) 1))
    (should (string-match-p "may have it" (car smtpmail-native-async-tests--warnings)))
    queued))

(defun smtpmail-native-async-tests--settled ()
  "Wait until no job is active; return the jobs."
  (should (smtpmail-native-async-tests--wait
           (lambda () (null (smtpmail-native-async--active-jobs))) 60))
  smtpmail-native-async--jobs)

;;;; The module's jobs

(ert-deftest smtpmail-native-async-job-reports-and-delivers ()
  "send-async returns a job at once; status moves on; the callback gets the plist."
  (let* ((dir (smtpmail-native-compat--fresh-file "sink-%d"))
         (_ (make-directory dir t))
         (port (smtpmail-native-test-servers-start-sink "--store" dir))
         (data (smtpmail-native-async-tests--message "job-1" 100000))
         (started (float-time))
         (job+cell (smtpmail-native-async-tests--send port data))
         (job (car job+cell)))
    (should (user-ptrp job))
    (should (< (- (float-time) started) 0.05))
    (should (memq (plist-get (smtpmail-native-job-status job) :state) '(queued running succeeded)))
    (should (smtpmail-native-async-tests--wait (lambda () (cadr job+cell)) 30))
    (let ((result (cadr job+cell)))
      (should (equal (plist-get result :accepted) '("b@example.test")))
      (should (eql (plist-get result :code) 250)))
    (let ((status (smtpmail-native-job-status job)))
      (should (eq (plist-get status :state) 'succeeded))
      (should (= (plist-get status :sent) (plist-get status :total))))
    (should (equal (smtpmail-native-async-tests--stored dir) (list data)))
    (should-not (smtpmail-native-cancel-job job))
    (smtpmail-native-test-servers-stop-sink port)))

(ert-deftest smtpmail-native-async-emacs-stays-responsive ()
  "25 MB to a slow server: a 10 ms timer keeps firing, no gap reaches 50 ms.
Emacs has sent a message of that size once before: the first copy of a
25 MB string out of Lisp in an Emacs session also pays for Emacs's own
first allocation of that size (~35 ms here, in `copy_string_contents');
the README gives both figures."
  (let* ((port (smtpmail-native-test-servers-start-sink "--throttle" "25000000"))
         (data (smtpmail-native-async-tests--message "big" (* 25 1024 1024)))
         (_warm (let ((fast (smtpmail-native-test-servers-start-sink))
                      (done nil))
                  (smtpmail-native-async-tests--send fast data (lambda (_) (setq done t)))
                  (smtpmail-native-async-tests--wait (lambda () done) 60)
                  (smtpmail-native-test-servers-stop-sink fast)))
         (ticks nil)
         (timer (progn
                  ;; Building DATA left garbage: collect it now, not in the measured window.
                  (garbage-collect)
                  (run-at-time 0 0.01 (lambda () (push (float-time) ticks)))))
         job+cell started took)
    (unwind-protect
        (progn
          (smtpmail-native-async-tests--wait (lambda () (>= (length ticks) 3)) 5)
          (setq started (float-time))
          (setq job+cell (smtpmail-native-async-tests--send port data))
          (should (smtpmail-native-async-tests--wait (lambda () (cadr job+cell)) 60))
          (setq took (- (float-time) started)))
      (cancel-timer timer)
      (smtpmail-native-test-servers-stop-sink port))
    (should (plist-get (cadr job+cell) :accepted))
    ;; Slow enough that the transfer spans many ticks.
    (should (> took 0.5))
    (let* ((times (nreverse ticks))
           (gaps (cl-mapcar (lambda (a b) (- b a)) times (cdr times)))
           (worst (apply #'max gaps))
           (at (nth (cl-position worst gaps) times)))
      (message "responsiveness: %d ticks over %.2f s, largest gap %.1f ms at %+.0f ms from the call"
               (length times) took (* 1000 worst) (* 1000 (- at started)))
      (should (< worst 0.05)))))

(ert-deftest smtpmail-native-async-cancel-mid-data ()
  "Cancelling in DATA closes the connection: the callback sees the cancellation, nothing is delivered."
  (let* ((dir (smtpmail-native-compat--fresh-file "sink-%d"))
         (_ (make-directory dir t))
         (port (smtpmail-native-test-servers-start-sink "--store" dir "--throttle" "2000000"))
         (job+cell (smtpmail-native-async-tests--send
                    port (smtpmail-native-async-tests--message "cancel" (* 10 1024 1024))))
         (job (car job+cell)))
    (should (smtpmail-native-async-tests--wait
             (lambda () (> (or (plist-get (smtpmail-native-job-status job) :sent) 0) 0)) 10))
    (should (eq (plist-get (smtpmail-native-job-status job) :phase) 'data))
    (let ((cancelled-at (float-time)))
      (should (smtpmail-native-cancel-job job))
      (should (smtpmail-native-async-tests--wait (lambda () (cadr job+cell)) 5))
      (should (< (- (float-time) cancelled-at) 0.5)))
    (should (eq (car (cadr job+cell)) 'smtpmail-native-cancelled))
    (should (eq (plist-get (smtpmail-native-job-status job) :state) 'cancelled))
    (sleep-for 0.2)
    (should (null (smtpmail-native-async-tests--stored dir)))
    (smtpmail-native-test-servers-stop-sink port)))

(ert-deftest smtpmail-native-async-100-messages-three-servers ()
  "100 background sends to three servers at once: each delivered exactly once, byte-identical."
  (let* ((sinks (cl-loop for i below 3
                         collect (let ((dir (smtpmail-native-compat--file
                                             (format "sink-%d-%d" i (random 1000000000)))))
                                   (make-directory dir t)
                                   (cons (smtpmail-native-test-servers-start-sink "--store" dir) dir))))
         (messages (cl-loop for i below 100
                            collect (smtpmail-native-async-tests--message
                                     (format "msg-%03d" i) (+ 1000 (* i 997)))))
         (outcomes nil))
    (cl-loop for data in messages for i from 0
             do (smtpmail-native-async-tests--send (car (nth (% i 3) sinks)) data
                                                   (lambda (outcome) (push outcome outcomes))))
    (should (smtpmail-native-async-tests--wait (lambda () (= (length outcomes) 100)) 120))
    (should (cl-every (lambda (o) (plist-get o :accepted)) outcomes))
    (cl-loop for (port . dir) in sinks for i from 0
             do (let ((expected (cl-loop for data in messages for j from 0
                                         when (= (% j 3) i) collect data))
                      (stored (smtpmail-native-async-tests--stored dir)))
                  (should (= (length stored) (length expected)))
                  (should (equal (sort (copy-sequence stored) #'string<)
                                 (sort (copy-sequence expected) #'string<))))
                (smtpmail-native-test-servers-stop-sink port))))

;;;; The doorbell channel

(defun smtpmail-native-async-tests--error-symbol (outcome)
  "The error symbol of a failed job's OUTCOME.
OUTCOME is (SYMBOL . DATA) or (error SYMBOL . DATA)."
  (if (eq (car-safe outcome) 'error) (nth 1 outcome) (car-safe outcome)))

(ert-deftest smtpmail-native-async-doorbell-deleted ()
  "Deleting the hidden pipe process neither kills Emacs nor strands callbacks.
With the only worker held by a send to a server that never greets, a
second job waits in the queue; the pipe process is deleted and the
waiting job cancelled from this (the main) thread, which rings the
doorbell.  Emacs must survive (a plain write would raise SIGPIPE:
exit 141), the module must open a new channel, and the cancelled job's
callback and a later send's callback must both arrive."
  (let* ((silent (make-network-process :name "smtpmail-native-silent" :server t :host "127.0.0.1"
                                       :service t :noquery t))
         (silent-port (process-contact silent :service))
         (refused-port (smtpmail-native-test-servers-free-port)))
    (unwind-protect
        (progn
          (smtpmail-native-set-max-jobs 1)
          (let* ((holder (smtpmail-native-async-tests--send silent-port "x\r\n"))
                 (waiting (smtpmail-native-async-tests--send silent-port "y\r\n"))
                 (doorbell (cl-find-if (lambda (p) (equal (process-name p) " *smtpmail-native-jobs*"))
                                     (process-list))))
            (should doorbell)
            (should (smtpmail-native-async-tests--wait
                     (lambda () (eq (plist-get (smtpmail-native-job-status (car holder)) :state) 'running))
                     10))
            (should (eq (plist-get (smtpmail-native-job-status (car waiting)) :state) 'queued))
            (delete-process doorbell)
            (should (smtpmail-native-cancel-job (car waiting)))
            (let ((later (smtpmail-native-async-tests--send refused-port "z\r\n")))
              (smtpmail-native-cancel-job (car holder))
              (should (smtpmail-native-async-tests--wait
                       (lambda () (and (cdr waiting) (car (cdr waiting)) (car (cdr later)))) 20))
              (should (eq (smtpmail-native-async-tests--error-symbol (car (cdr waiting)))
                          'smtpmail-native-cancelled))
              (should (eq (smtpmail-native-async-tests--error-symbol (car (cdr later)))
                          'smtpmail-native-connection-error))
              (should (smtpmail-native-async-tests--wait (lambda () (car (cdr holder))) 10))
              ;; A new, live doorbell took over.
              (should (cl-find-if (lambda (p) (and (equal (process-name p) " *smtpmail-native-jobs*")
                                                 (process-live-p p)))
                                (process-list))))))
      (smtpmail-native-set-max-jobs 4)
      (delete-process silent))))

;;;; The Lisp layer: `smtpmail-native-async'

(ert-deftest smtpmail-native-async-send-it-returns-at-once ()
  "With `smtpmail-native-async' the send returns before the server answers; hooks run; the mode line shows it."
  (smtpmail-native-async-tests--with-lisp
    (let (id)
      (with-temp-buffer
        (insert "From: sender@example.org\nTo: rcpt@example.org\nSubject: async\n"
                "Message-ID: <async-1@example.org>\n" mail-header-separator "\nHello.\n")
        (setq id (smtpmail-native-compat--id))
        (goto-char (point-min))
        (insert "X-Test-Id: " id "\n")
        (smtpmail-native-send-it))
      (should (= (length (smtpmail-native-async--active-jobs)) 1))
      (should (string-match-p "\\` Sending 1 mail…" smtpmail-native-mode-line-string))
      (should (memq 'smtpmail-native-mode-line-string global-mode-string))
      (smtpmail-native-async-tests--settled)
      (should (equal smtpmail-native-mode-line-string ""))
      (should (eq (smtpmail-native-async--job-state (car smtpmail-native-async--jobs)) 'sent))
      (smtpmail-native-compat--one id)
      (should (equal (caar smtpmail-native-async-tests--sent) "<async-1@example.org>"))
      (should (plist-get (cdar smtpmail-native-async-tests--sent) :accepted))
      (should-not smtpmail-native-async-tests--warnings)
      (should-not (smtpmail-native-async-tests--queued)))))

(defun smtpmail-native-async-tests--fails-then-retry (send fix regexp)
  "Call SEND (a background send), expect a failure matching REGEXP, FIX, retry.
The failure must leave the message queued with its error, warn naming
the recipient, and run the failure hook; after FIX,
`smtpmail-native-send-queued-mail' must send it."
  (funcall send)
  (smtpmail-native-async-tests--settled)
  (let ((job (car smtpmail-native-async--jobs))
        (queued (smtpmail-native-async-tests--queued)))
    (should (eq (smtpmail-native-async--job-state job) 'failed))
    (should (string-match-p regexp (smtpmail-native-async--job-error-text job)))
    (should (= (length queued) 1))
    (let ((vars (smtpmail-native-queue--read-variables (concat (car queued) ".el"))))
      (should (string-match-p regexp (alist-get 'smtpmail-native-queue-error vars)))
      (should (alist-get 'smtpmail-smtp-service vars)))
    (should (= (length smtpmail-native-async-tests--warnings) 1))
    (should (string-match-p "rcpt\\|once\\|dropdata" (car smtpmail-native-async-tests--warnings)))
    (should (string-match-p regexp (car smtpmail-native-async-tests--warnings)))
    (should (equal (nth 2 (car smtpmail-native-async-tests--failures)) (car queued)))
    (funcall fix)
    (should (equal (plist-get (smtpmail-native-send-queued-mail) :sent) 1))
    (should-not (smtpmail-native-async-tests--queued))))

(defun smtpmail-native-async-tests--send-it (to &optional body)
  "Send a message to TO through `smtpmail-native-send-it'; return its X-Test-Id."
  (smtpmail-native-compat--send (format "From: sender@example.org\nTo: %s\nSubject: t\n" to) body))

(ert-deftest smtpmail-native-async-failure-refused-connection ()
  "Nobody listening: queued, warned; once a server listens there, the retry sends it."
  (smtpmail-native-async-tests--with-lisp
    (let* ((port (smtpmail-native-test-servers-free-port))
           (smtpmail-smtp-server "127.0.0.1")
           (smtpmail-smtp-service port)
           (smtpmail-stream-type 'plain)
           (smtpmail-auth-credentials nil)
           (dir (smtpmail-native-compat--fresh-file "sink-%d")))
      (make-directory dir t)
      (smtpmail-native-async-tests--fails-then-retry
       (lambda () (smtpmail-native-async-tests--send-it "rcpt@example.org"))
       (lambda () (smtpmail-native-test-servers-start-sink "--port" (number-to-string port)
                                                           "--store" dir))
       "refused\\|connect")
      (should (= (length (smtpmail-native-async-tests--stored dir)) 1))
      (smtpmail-native-test-servers-stop-sink port))))

(ert-deftest smtpmail-native-async-failure-tls ()
  "A certificate we cannot verify: queued, warned; trusting the CA, the retry sends it."
  (smtpmail-native-async-tests--with-lisp
    (let ((ca smtpmail-native-trust-file)
          (smtpmail-native-trust-file nil)
          id)
      (smtpmail-native-async-tests--fails-then-retry
       (lambda () (setq id (smtpmail-native-async-tests--send-it "rcpt@example.org")))
       (lambda () (setq smtpmail-native-trust-file ca))
       "certificate\\|TLS\\|verif")
      (smtpmail-native-compat--one id))))

(ert-deftest smtpmail-native-async-failure-535 ()
  "A wrong password: 535, queued, warned; with the right one the retry sends it."
  (smtpmail-native-async-tests--with-lisp
    (let ((smtpmail-auth-credentials `(("localhost" ,(smtpmail-native-compat--port) "alice" "wrong")))
          id)
      (smtpmail-native-async-tests--fails-then-retry
       (lambda () (setq id (smtpmail-native-async-tests--send-it "rcpt@example.org")))
       (lambda () (setq smtpmail-auth-credentials (smtpmail-native-compat--alice)))
       "535")
      (smtpmail-native-compat--one id))))

(defmacro smtpmail-native-async-tests--with-sink (sink-args &rest body)
  "Run BODY with smtpmail pointed at a fresh storing sink started with SINK-ARGS.
In BODY, `dir' is the sink's store."
  (declare (indent 1) (debug t))
  `(let* ((dir (let ((d (smtpmail-native-compat--fresh-file "sink-%d")))
                 (make-directory d t)
                 d))
          (port (apply #'smtpmail-native-test-servers-start-sink "--store" dir (list ,@sink-args)))
          (smtpmail-smtp-server "127.0.0.1")
          (smtpmail-smtp-service port)
          (smtpmail-stream-type 'plain)
          (smtpmail-auth-credentials nil))
     (ignore dir)
     (unwind-protect (progn ,@body)
       (smtpmail-native-test-servers-stop-sink port))))

(ert-deftest smtpmail-native-async-failure-550-on-rcpt ()
  "550 on RCPT: queued with the server's reply, warned; the retry sends it."
  (smtpmail-native-async-tests--with-lisp
    (smtpmail-native-async-tests--with-sink ()
      (smtpmail-native-async-tests--fails-then-retry
       (lambda () (smtpmail-native-async-tests--send-it "rejectonce@example.org"))
       #'ignore "550")
      (should (= (length (smtpmail-native-async-tests--stored dir)) 1)))))

(ert-deftest smtpmail-native-async-failure-disconnect-in-data ()
  "The server hangs up as the message arrives: held, warned; only an explicit send resends it.
The message is small, so the client has written all of it, final dot
included, when the connection dies: the server may have it (this one
did not), so it is held, and `smtpmail-native-send-queued-mail' leaves
it; `smtpmail-native-send-queued-message' sends it."
  (smtpmail-native-async-tests--with-lisp
    (smtpmail-native-async-tests--with-sink ()
      (smtpmail-native-async-tests--send-it "dropdataonce@example.org")
      (smtpmail-native-async-tests--settled)
      (let ((queued (smtpmail-native-async-tests--held-alone :phase 'data)))
        (should (equal (smtpmail-native-send-queued-mail) (list :sent 0 :failed nil :held queued)))
        (should (null (smtpmail-native-async-tests--stored dir)))
        (should (eq (smtpmail-native-send-queued-message (car queued)) t))
        (should-not (smtpmail-native-async-tests--queued))
        (should (= (length (smtpmail-native-async-tests--stored dir)) 1))))))

(ert-deftest smtpmail-native-async-finished-jobs-keep-no-secret ()
  "A finished job, sent or failed, keeps neither the message nor the credentials.
Printing the jobs list variable shows no password and no message body:
the message is delivered or queued, and the password closures are gone."
  (smtpmail-native-async-tests--with-lisp
    (let ((marker (format "body-marker-%d" (random 1000000000))))
      (smtpmail-native-compat--send "To: rcpt@example.org\n" (concat marker "\n"))
      (smtpmail-native-compat--send "To: reject-me@example.org\n" (concat marker "\n"))
      ;; While they run, the jobs hold both (a retry needs them); the message in a message
      ;; file (or a string, without one).
      (let ((running (let ((print-length nil) (print-level nil))
                       (prin1-to-string smtpmail-native-async--jobs))))
        (dolist (job smtpmail-native-async--jobs)
          (should (string-search marker (smtpmail-native--data-bytes
                                         (smtpmail-native-async--job-data job)))))
        (should (string-search smtpmail-native-compat-password running)))
      (smtpmail-native-async-tests--settled)
      (should (equal (sort (mapcar #'smtpmail-native-async--job-state smtpmail-native-async--jobs)
                           #'string<)
                     '(failed sent)))
      (let ((printed (let ((print-length nil) (print-level nil))
                       (prin1-to-string smtpmail-native-async--jobs))))
        (should-not (string-search smtpmail-native-compat-password printed))
        (should-not (string-search marker printed)))
      ;; The failed one is in the queue, where a retry finds it.
      (should (= (length (smtpmail-native-async-tests--queued)) 1)))))

(ert-deftest smtpmail-native-async-unknown-delivery-held ()
  "A background send whose connection is cut right after the final dot ends held.
The job's state is `held', the message is in the queue marked held,
the warning says the server may have it, and a flush does not send it
again (the sink's next connection would be number 2)."
  (let* ((dir (smtpmail-native-compat--fresh-file "sink-%d/"))
         (_ (make-directory dir t))
         (port (smtpmail-native-test-servers-start-sink "--store" dir "--report-sessions")))
    (smtpmail-native-async-tests--with-lisp
      (let ((smtpmail-smtp-server "127.0.0.1") (smtpmail-smtp-service port)
            (smtpmail-stream-type 'plain) (smtpmail-auth-credentials nil) (auth-sources nil))
        (smtpmail-native-compat--send "To: dropafterdot@example.org\n")
        (smtpmail-native-async-tests--settled)
        (should (smtpmail-native-test-servers-sink-wait port "^closed 1$"))
        (let ((queued (smtpmail-native-async-tests--held-alone :delivery 'unknown)))
          (should (alist-get 'smtpmail-native-queue-held
                             (smtpmail-native-queue--read-variables (concat (car queued) ".el"))))
          (should (equal (plist-get (smtpmail-native-send-queued-mail) :held) queued))
          (should (equal (smtpmail-native-async-tests--queued) queued))
          (should (= (length (smtpmail-native-async-tests--stored dir)) 1))
          (should-not (smtpmail-native-test-servers-sink-wait port "^closed 2$" 0.3)))))))

(ert-deftest smtpmail-native-async-4xx-retried-then-queued ()
  "A 4xx is retried in the background `smtpmail-retries' times, then queued."
  (smtpmail-native-async-tests--with-lisp
    (smtpmail-native-async-tests--with-sink ()
      (let ((smtpmail-retries 2))
        (smtpmail-native-async-tests--send-it "tempfail@example.org")
        (smtpmail-native-async-tests--settled)
        (let ((job (car smtpmail-native-async--jobs)))
          (should (eq (smtpmail-native-async--job-state job) 'failed))
          (should (= (smtpmail-native-async--job-attempt job) 2))
          (should (string-match-p "451" (smtpmail-native-async--job-error-text job))))
        (should (= (length (smtpmail-native-async-tests--queued)) 1))
        (should (= (length smtpmail-native-async-tests--warnings) 1))))))

(ert-deftest smtpmail-native-async-jobs-list-cancel-and-retry ()
  "M-x smtpmail-native-jobs lists the send; c cancels it (held), r asks, then sends it again."
  (smtpmail-native-async-tests--with-lisp
    (smtpmail-native-async-tests--with-sink ("--throttle" "8000000")
      (unwind-protect
          (progn
            (smtpmail-native-async-tests--send-it "rcpt@example.org"
                                                  (make-string (* 12 1024 1024) ?y))
            (save-window-excursion (smtpmail-native-jobs))
            (with-current-buffer "*smtpmail-native jobs*"
              (goto-char (point-min))
              (should (search-forward "sending" nil t))
              (should (search-forward "rcpt@example.org" nil t))
              ;; Until all of it, final dot included, is handed to the kernel: from then
              ;; on the server may get it, so the cancelled send is held, not just cancelled.
              (should (smtpmail-native-async-tests--wait
                       (lambda () (let ((progress (smtpmail-native-async--progress
                                                   (tabulated-list-get-id))))
                                    (and (> (cdr progress) 0) (= (car progress) (cdr progress)))))
                       20))
              (call-interactively #'smtpmail-native-jobs-cancel))
            (smtpmail-native-async-tests--settled)
            (should (eq (smtpmail-native-async--job-state (car smtpmail-native-async--jobs)) 'held))
            (sleep-for 0.5)
            (should (null (smtpmail-native-async-tests--stored dir)))
            (should (= (length (smtpmail-native-async-tests--queued)) 1))
            (should (string-match-p "may have it" (car smtpmail-native-async-tests--warnings)))
            (with-current-buffer "*smtpmail-native jobs*"
              (goto-char (point-min))
              (should (search-forward "held" nil t))
              (beginning-of-line)
              ;; r on a held send asks first.
              (let ((asked nil))
                (cl-letf (((symbol-function 'yes-or-no-p) (lambda (&rest _) (setq asked t))))
                  (call-interactively #'smtpmail-native-jobs-retry))
                (should asked)))
            (smtpmail-native-async-tests--settled)
            (should (eq (smtpmail-native-async--job-state (car smtpmail-native-async--jobs)) 'sent))
            (should-not (smtpmail-native-async-tests--queued))
            ;; Only the retry arrived: the cancelled session's bytes were dropped.
            (should (= (length (smtpmail-native-async-tests--stored dir)) 1)))
        (kill-buffer "*smtpmail-native jobs*")))))

(ert-deftest smtpmail-native-async-exit-asks-while-sending ()
  "`kill-emacs-query-functions' asks while a send runs, and respects the answer."
  (smtpmail-native-async-tests--with-lisp
    (smtpmail-native-async-tests--with-sink ("--throttle" "1000000")
      (let ((asked nil))
        (should (smtpmail-native-async--kill-emacs-query)) ; nothing running: no question
        (smtpmail-native-async-tests--send-it "rcpt@example.org" (make-string 4000000 ?z))
        (cl-letf (((symbol-function 'yes-or-no-p) (lambda (prompt) (push prompt asked) nil)))
          (should-not (smtpmail-native-async--kill-emacs-query)))
        (should (string-match-p "1 mail is still being sent" (car asked)))
        (cl-letf (((symbol-function 'yes-or-no-p) (lambda (_) t)))
          (should (smtpmail-native-async--kill-emacs-query)))))))

(defun smtpmail-native-async-tests--after-beginning-a-message (async warm-up)
  "What a fresh Emacs has ready once a message is begun and Emacs was idle.
ASYNC and WARM-UP are `smtpmail-native-async' and `smtpmail-native-warm-up'.
Return (MODULE-LOADED WORKERS-STARTED MAIL-EXTR MAILALIAS), from a child Emacs."
  (let* ((lisp-dir (file-name-directory (locate-library "smtpmail-native")))
         (program
          `(progn
             (setq smtpmail-native-module-file ,smtpmail-native-module-file)
             (require 'smtpmail-native)
             (setq smtpmail-native-async ,async smtpmail-native-warm-up ,warm-up)
             (message-mail "to@example.org" "warm")
             ;; Idle timers do not run in batch mode: run the one beginning the message set.
             (dolist (timer timer-idle-list)
               (when (eq (timer--function timer) #'smtpmail-native-async--warm-up)
                 (funcall (timer--function timer))))
             (prin1 (list (featurep 'smtpmail-native-module)
                          (and (get-process " *smtpmail-native-jobs*") t)
                          (featurep 'mail-extr) (featurep 'mailalias)))))
         (process-environment (append smtpmail-native-test-servers-sanitizer-environment
                                      process-environment)))
    (with-temp-buffer
      (should (eq 0 (call-process (expand-file-name invocation-name invocation-directory)
                                  nil '(t nil) nil "-Q" "--batch" "-L" lisp-dir
                                  "--eval" (prin1-to-string program))))
      (car (read-from-string (buffer-string))))))

(ert-deftest smtpmail-native-async-warm-up-when-a-message-is-begun ()
  "Beginning a message gets the first background send ready in idle time.
The module is loaded, its workers and doorbell started, and what
`smtpmail-send-it' loads on first use is loaded; not without
`smtpmail-native-async', nor with `smtpmail-native-warm-up' nil."
  (should (equal (smtpmail-native-async-tests--after-beginning-a-message t (* 1024 1024))
                 '(t t t t)))
  (should (equal (seq-take (smtpmail-native-async-tests--after-beginning-a-message nil (* 1024 1024)) 2)
                 '(nil nil)))
  (should (equal (seq-take (smtpmail-native-async-tests--after-beginning-a-message t nil) 2)
                 '(nil nil))))

(ert-deftest smtpmail-native-async-exit-leaves-message-queued ()
  "A batch Emacs exiting while its send runs leaves the message in the queue."
  (let* ((dir (smtpmail-native-compat--fresh-file "sink-%d"))
         (_ (make-directory dir t))
         (port (smtpmail-native-test-servers-start-sink "--store" dir "--throttle" "500000"))
         (queue (file-name-as-directory
                 (smtpmail-native-compat--fresh-file "exit-queue-%d")))
         (lisp-dir (file-name-directory (locate-library "smtpmail-native")))
         (program
          `(progn
             (setq smtpmail-native-module-file ,smtpmail-native-module-file)
             (require 'smtpmail-native)
             (setq smtpmail-queue-dir ,queue
                   smtpmail-native-async t
                   smtpmail-smtp-server "127.0.0.1" smtpmail-smtp-service ,port
                   smtpmail-stream-type 'plain
                   auth-sources nil user-mail-address "sender@example.org")
             (with-temp-buffer
               (insert "From: sender@example.org\nTo: rcpt@example.org\nSubject: exit\n"
                       "X-Test-Id: exit-test\n" mail-header-separator "\n"
                       (make-string 3000000 ?q) "\n")
               (smtpmail-native-send-it))
             ;; Until bytes flow, then exit with the send half done.
             (let ((job (car smtpmail-native-async--jobs)))
               (while (< (or (plist-get (smtpmail-native-job-status
                                         (smtpmail-native-async--job-handle job))
                                        :sent)
                             0)
                         100000)
                 (accept-process-output nil 0.01)))
             (kill-emacs 0)))
         (process-environment (append smtpmail-native-test-servers-sanitizer-environment
                                      process-environment))
         (status (with-temp-buffer
                   (prog1 (call-process (expand-file-name invocation-name invocation-directory)
                                        nil t nil "-Q" "--batch" "-L" lisp-dir
                                        "--eval" (prin1-to-string program))
                     (message "child Emacs: %s" (buffer-string))))))
    (unwind-protect
        (progn
          (should (eq status 0))
          (let* ((index (with-temp-buffer
                          (insert-file-contents (expand-file-name smtpmail-queue-index-file queue))
                          (split-string (buffer-string) "\n" t)))
                 (file (car index)))
            (should (= (length index) 1))
            (should (string-search "X-Test-Id: exit-test"
                                   (smtpmail-native-test-servers-read-file file)))
            (should (string-search "Emacs exited"
                                   (smtpmail-native-test-servers-read-file (concat file ".el")))))
          (should (null (smtpmail-native-async-tests--stored dir))))
      (smtpmail-native-test-servers-stop-sink port))))

(provide 'smtpmail-native-async-tests)

;;; smtpmail-native-async-tests.el ends here
