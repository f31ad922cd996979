;;; bench-blocked.el --- Main-thread time blocked per send  -*- lexical-binding: t; -*-

;;; Commentary:
;; Run by bench/bench-blocked, which starts the loopback sink and passes SINK_PORT,
;; SMTPN_MODULE and ASYNC_DIR (async.el's directory, or empty) in the environment.
;;
;; How "blocked" is measured, the same way for every method: a 1 ms repeating timer runs
;; while the send is started and until it has finished; every gap between two ticks longer
;; than 2 ms is time the main thread could not run timers, process output or keys.  The
;; table gives the sum of those gaps and the largest one (each less the 1 ms period), and
;; how long the call that starts the send took to return (the whole send, when it is synchronous).
;; Each method runs `bench-rounds' times (BENCH_ROUNDS) per message size, 10 MB and 100 KB;
;; each column is the median of its rounds, the blocked one with the smallest and largest.
;; With BENCH_FIRST set, it makes one send of the drop-in (background, 10 MB) only, the first
;; of this Emacs, and prints its figures on one line; BENCH_FIRST=warm first does what
;; beginning a message schedules for idle time (`smtpmail-native-async--warm-up') and waits
;; a second, as a user writing the message would; BENCH_FIRST=cold waits without it.  A
;; second send follows after the same pause, for comparison.
;; Prints figures; asserts nothing.

;;; Code:

(require 'smtpmail)
(require 'message)
(require 'cl-lib)

(setq smtpmail-native-module-file (getenv "SMTPN_MODULE"))
(require 'smtpmail-native)

(declare-function smtpmail-native-send-async "ext:smtpmail-native-module" (callback &rest args))
(defvar smtpmail-auth-credentials)   ; read by smtpmail-native.el: bound dynamically here
(declare-function async-smtpmail-send-it "smtpmail-async" ())

(defvar bench-port (string-to-number (getenv "SINK_PORT")))
(defvar bench-async-dir (let ((d (getenv "ASYNC_DIR"))) (and d (not (string-empty-p d)) d)))
(defvar bench-sizes (list (* 10 1024 1024) (* 100 1024)))
(defvar bench-rounds (string-to-number (or (getenv "BENCH_ROUNDS") "5")))

(defun bench-body (size)
  "About SIZE bytes of 76-column lines."
  (let ((line (concat (make-string 75 ?x) "\n")))
    (apply #'concat (make-list (/ size 76) line))))

(defvar bench-body nil "The body of the messages sent now.")

(defun bench-blocked (start done-p)
  "Call START, then wait for DONE-P.
Return (BLOCKED-SECONDS LARGEST-GAP CALL-SECONDS)."
  (let* ((ticks nil)
         (timer (run-at-time 0 0.001 (lambda () (push (float-time) ticks))))
         (deadline (+ (float-time) 120))
         (call 0))
    (garbage-collect)                   ; not the bench's garbage in the window
    (while (< (length ticks) 5) (accept-process-output nil 0.001))
    (let ((before (float-time)))
      (funcall start)
      (setq call (- (float-time) before)))
    (while (and (not (funcall done-p)) (< (float-time) deadline))
      (accept-process-output nil 0.001))
    (dotimes (_ 5) (accept-process-output nil 0.001)) ; a few ticks after the end
    (cancel-timer timer)
    (unless (funcall done-p) (error "The send did not finish"))
    (let* ((times (nreverse ticks))
           (gaps (cl-remove-if-not (lambda (g) (> g 0.002))
                                   (cl-mapcar (lambda (a b) (- b a)) times (cdr times)))))
      (list (apply #'+ (mapcar (lambda (g) (- g 0.001)) gaps))
            (if gaps (- (apply #'max gaps) 0.001) 0)
            call))))

(defmacro bench-with-mail-buffer (&rest body)
  "Run BODY in a buffer holding the bench message, smtpmail set for the sink."
  (declare (indent 0))
  `(let ((smtpmail-smtp-server "127.0.0.1")
         (smtpmail-smtp-service bench-port)
         (smtpmail-stream-type 'plain)
         (smtpmail-debug-info nil)
         (smtpmail-queue-mail nil)
         (smtpmail-auth-credentials nil)
         (auth-sources nil)
         (user-mail-address "bench@example.org")
         (mail-specify-envelope-from nil))
     (with-temp-buffer
       ;; Date and Message-ID as message-mode generates them before it calls the send
       ;; function; without them smtpmail-send-it searches all 10 MB for In-Reply-To.
       (insert "From: bench@example.org\nTo: sink@example.org\nSubject: bench\n"
               "Date: " (message-make-date) "\nMessage-ID: " (message-make-message-id) "\n"
               mail-header-separator "\n" bench-body)
       ,@body)))

(defun bench-native-module-async (&optional body)
  "The module call alone: `smtpmail-native-send-async' with the bytes.
BODY (default `bench-body') is the message body, LF line ends."
  (let* ((data (concat "From: bench@example.org\r\nTo: sink@example.org\r\nSubject: bench\r\n\r\n"
                       (replace-regexp-in-string "\n" "\r\n" (or body bench-body))))
         (done nil))
    (bench-blocked (lambda ()
                     (smtpmail-native-send-async
                      (lambda (outcome) (setq done (or outcome t)))
                      :host "127.0.0.1" :port bench-port :stream-type 'plain :helo "bench"
                      :from "bench@example.org" :recipients '("sink@example.org") :data data))
                   (lambda () done))))

(defun bench-native-send-it (async)
  "`smtpmail-native-send-it', with `smtpmail-native-async' set to ASYNC."
  (bench-with-mail-buffer
    (let ((smtpmail-native-async async)
          (smtpmail-native-async--jobs nil)
          (smtpmail-native-after-send-functions nil)
          (done nil))
      (add-hook 'smtpmail-native-after-send-functions (lambda (&rest _) (setq done t)))
      (bench-blocked (lambda () (smtpmail-native-send-it) (unless async (setq done t)))
                     (lambda () done)))))

(defun bench-smtpmail ()
  "Emacs's own `smtpmail-send-it'."
  (bench-with-mail-buffer
    (let ((done nil))
      (bench-blocked (lambda () (smtpmail-send-it) (setq done t)) (lambda () done)))))

(defun bench-async-el ()
  "async.el's `async-smtpmail-send-it' (a child Emacs per mail)."
  (add-to-list 'load-path bench-async-dir)
  (require 'smtpmail-async)
  (bench-with-mail-buffer
    (let ((process nil))
      (bench-blocked (lambda () (setq process (async-smtpmail-send-it)))
                     (lambda () (and process (not (process-live-p process))
                                     (memq (process-status process) '(exit signal))))))))

(defun bench-median (numbers)
  "The median of NUMBERS."
  (let ((sorted (sort (copy-sequence numbers) #'<)))
    (nth (/ (length sorted) 2) sorted)))

(defun bench-row (label run)
  "Call RUN `bench-rounds' times; print row LABEL with each column's median.
RUN returns a (BLOCKED LARGEST CALL) list of seconds."
  (let* ((results (cl-loop repeat bench-rounds collect (funcall run)))
         (blocked (mapcar #'car results)))
    (princ (apply #'format "| %-50s | %7.1f | %13s | %7.1f | %7.1f |\n" label
                  (* 1000 (bench-median blocked))
                  (format "%.1f–%.1f" (* 1000 (apply #'min blocked)) (* 1000 (apply #'max blocked)))
                  (cl-loop for column from 1 below 3
                           collect (* 1000 (bench-median
                                            (mapcar (lambda (r) (nth column r)) results))))))))

(defun bench-table ()
  "Print the table: each method, each size."
  (princ (format "Main thread blocked per send (loopback sink), Emacs %s, median of %d rounds\n"
                 emacs-version bench-rounds))
  (princ "| method                                             | blocked | blocked range | largest | call ms |\n")
  (princ "|----------------------------------------------------+---------+---------------+---------+---------|\n")
  (dolist (size bench-sizes)
    (setq bench-body (bench-body size))
    (let ((tag (if (>= size (* 1024 1024)) (format "%d MB" (/ size 1024 1024))
                 (format "%d KB" (/ size 1024)))))
      (bench-native-module-async)       ; warm-up: thread pool, channel, first big mapping
      (bench-row (format "%s: smtpmail-native-send-async (module call)" tag) #'bench-native-module-async)
      (bench-native-send-it t)          ; warm-up: the message file of this size
      (bench-row (format "%s: smtpmail-native-send-it, async" tag) (lambda () (bench-native-send-it t)))
      (bench-row (format "%s: smtpmail-native-send-it (synchronous)" tag)
                 (lambda () (bench-native-send-it nil)))
      (bench-row (format "%s: smtpmail-send-it (Emacs's smtpmail.el)" tag) #'bench-smtpmail)
      (when (>= size (* 1024 1024))
        (if bench-async-dir
            (bench-row (format "%s: async-smtpmail-send-it (async.el)" tag) #'bench-async-el)
          (princ "| async-smtpmail-send-it (async.el): not installed (apt-get install elpa-async) |\n"))))))

(defun bench-first (warm)
  "Print the figures of this Emacs's first drop-in background send of 10 MB.
And of the second, after the same pause.  WARM non-nil first runs
what beginning a message schedules for idle time."
  (setq bench-body (bench-body (car bench-sizes)))
  (when warm
    (let ((smtpmail-native-async t))
      (smtpmail-native-async--warm-up)))
  (dolist (label '("first" "second"))
    ;; The user writing the message: its text is no longer in the processor's caches.
    (sleep-for 1)
    (princ (apply #'format "%s %.2f %.2f %.2f\n" label
                  (mapcar (lambda (s) (* 1000 s)) (bench-native-send-it t))))))

(pcase (getenv "BENCH_FIRST")
  ((or 'nil "") (bench-table))
  ("warm" (bench-first t) (kill-emacs 0))
  (_ (bench-first nil) (kill-emacs 0)))

;; The copy of a 25 MB message out of the Lisp string (README: asynchronous sends): the first
;; call needs a new, larger buffer than the 10 MB sends above left behind; the next ones reuse
;; the buffer kept from the last send.
(let* ((body (bench-body (* 25 1024 1024)))
       (first (nth 2 (bench-native-module-async body)))
       (again (cl-loop repeat bench-rounds collect (nth 2 (bench-native-module-async body)))))
  (princ (format "\n25 MB message, smtpmail-native-send-async call (the copy out of the Lisp string):\n  first %.1f ms; again (buffer kept) median %.1f ms of %d, max %.1f ms\n"
                 (* 1000 first) (* 1000 (bench-median again)) bench-rounds (* 1000 (apply #'max again)))))

;;; bench-blocked.el ends here
