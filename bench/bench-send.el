;;; bench-send.el --- Full-session latency: smtpmail-native vs smtpmail.el vs a raw floor  -*- lexical-binding: t; -*-

;;; Commentary:
;; Run by bench/bench-send, which starts the loopback sink and passes, in the environment,
;; SINK_PORT (a sink offering CHUNKING), SINK_PORT_DATA (one that does not), RAW_FLOOR (the
;; raw-socket floor program) and SMTPN_MODULE.  Prints a table of medians from one run, with
;; the spread (lowest-highest) of the native runs; asserts nothing.  Floor and native
;; sessions alternate in up to ten turns, so that load on the machine meets both alike.
;; Rows: 2 KB with :helo "bench" and with the default arguments (no :helo: the client
;; names itself), and 10 MB by DATA (sink without CHUNKING) and by BDAT (with CHUNKING),
;; each against the floor that sends the same bytes.

;;; Code:

(require 'smtpmail)
(require 'cl-lib)

(setq smtpmail-native-module-file (getenv "SMTPN_MODULE"))
(require 'smtpmail-native)

;; Defined by the module, which is not loaded when this file is linted.
(declare-function smtpmail-native-send "ext:smtpmail-native-module" (&rest args))

(defvar bench-port (string-to-number (getenv "SINK_PORT")))
(defvar bench-port-data (string-to-number (getenv "SINK_PORT_DATA")))
(defvar bench-floor (getenv "RAW_FLOOR"))

(defun bench-message (size)
  "A plausible message of about SIZE bytes: headers and 76-column lines."
  (let ((line (concat (make-string 75 ?x) "\n"))
        (parts (list "From: bench@example.org\nTo: sink@example.org\nSubject: bench\n\n")))
    (dotimes (_ (/ size 76)) (push line parts))
    (apply #'concat (nreverse parts))))

(defun bench-median (xs)
  "The median of XS."
  (let ((v (vconcat (sort (copy-sequence xs) #'<))))
    (aref v (/ (length v) 2))))

(defun bench-time (fn)
  "Seconds FN takes."
  (let ((start (float-time)))
    (funcall fn)
    (- (float-time) start)))

(defun bench-native (message n &optional port helo)
  "N full sessions of MESSAGE through smtpmail-native to PORT.
PORT defaults to `bench-port'.  HELO is passed as :helo unless it is
`default', which leaves :helo out (the client names itself)."
  (let ((args (append (list :host "127.0.0.1" :port (or port bench-port) :stream-type 'plain
                            :from "bench@example.org" :recipients '("sink@example.org")
                            :data message)
                      (unless (eq helo 'default) (list :helo (or helo "bench"))))))
    (cl-loop repeat n collect
             (bench-time (lambda () (apply #'smtpmail-native-send args))))))

(defun bench-smtpmail (message n)
  "N full sessions of MESSAGE through Emacs's smtpmail.el (`smtpmail-via-smtp')."
  (let ((smtpmail-smtp-server "127.0.0.1")
        (smtpmail-smtp-service bench-port)
        (smtpmail-stream-type 'plain)
        (smtpmail-mail-address "bench@example.org")
        (smtpmail-debug-info nil))
    (with-temp-buffer
      (insert message)
      (cl-loop repeat n collect
               (bench-time (lambda ()
                             (when (smtpmail-via-smtp '("sink@example.org") (current-buffer))
                               (error "Smtpmail.el failed"))))))))

(defun bench-floor (file n &optional port bdat)
  "N raw-floor sessions of the message in FILE to PORT, timed by the floor program.
With BDAT the floor sends the message as one BDAT LAST chunk.  The floor
program's first session is a warm-up and not counted: a fresh process's
first 10 MB session takes twice as long, as the native one's would."
  (with-temp-buffer
    (unless (eq 0 (apply #'call-process bench-floor nil t nil
                         (number-to-string (or port bench-port)) file (number-to-string (1+ n))
                         (and bdat '("bdat"))))
      (error "Raw floor failed: %s" (buffer-string)))
    (cdr (mapcar #'string-to-number (split-string (buffer-string))))))

(defun bench-floor-and-native (message n rounds &optional port helo bdat)
  "N floor and N native sessions of MESSAGE, taken in ROUNDS alternating turns.
Alternating keeps a burst of load on the machine from falling on one side
only.  Each turn begins with a session that is not counted, on both sides:
the floor program's first session is its warm-up, and a native session
right after the floor program ran (or the machine idled) pays for the
caches it left cold as much as the floor's own first one does (10 MB:
about 8.5 ms against 5.3 ms).  PORT, HELO and BDAT as for `bench-native'
and `bench-floor'.  Returns (FLOOR-TIMES . NATIVE-TIMES)."
  (let ((file (make-temp-file "bench-msg"))
        (per-round (/ n rounds))
        floors natives)
    (unwind-protect
        (progn
          (let ((coding-system-for-write 'binary)) (write-region message nil file nil 'silent))
          (dotimes (_ rounds)
            (setq floors (append (bench-floor file per-round port bdat) floors))
            (setq natives (append (cdr (bench-native message (1+ per-round) port helo)) natives))))
      (delete-file file))
    (cons floors natives)))

(defun bench-ms (seconds)
  "SECONDS as milliseconds text."
  (format "%10.3f" (* 1000 seconds)))

(defun bench-spread (xs)
  "The lowest and highest of XS in milliseconds, as text."
  (format "%.3f-%.3f" (* 1000 (apply #'min xs)) (* 1000 (apply #'max xs))))

(defun bench-row (label size n-fast rounds n-slow &optional port helo bdat)
  "Measure and print one row for a LABEL message of SIZE bytes.
N-FAST floor and native sessions go in ROUNDS alternating turns (see
`bench-floor-and-native').  PORT, HELO as for `bench-native'; BDAT
when the sink at PORT offers CHUNKING and the floor should send BDAT
too.  N-SLOW 0: no smtpmail.el."
  (let* ((message (bench-message size))
         (_warm (progn (bench-native message 2 port helo)
                       (when (> n-slow 0) (bench-smtpmail message 1))))
         (both (bench-floor-and-native message n-fast (min n-fast rounds) port helo bdat))
         (floor (bench-median (car both)))
         (natives (cdr both))
         (native (bench-median natives))
         (lisp (and (> n-slow 0) (bench-median (bench-smtpmail message n-slow)))))
    (princ (format "| %-16s | %s | %s | %-15s | %s | %8.2fx | %s |\n"
                   label (bench-ms floor) (bench-ms native) (bench-spread natives)
                   (if lisp (bench-ms lisp) (format "%10s" "-"))
                   (/ native floor)
                   (if lisp (format "%8.1fx" (/ lisp native)) (format "%9s" "-"))))))

(princ (format "Full SMTP session on a loopback sink (PIPELINING offered), medians, Emacs %s\n"
               emacs-version))
(princ "| message          | floor (ms) | native (ms) | native spread   | smtpmail (ms) | native/floor | smtpmail/native |\n")
(princ "|------------------+------------+-------------+-----------------+---------------+--------------+-----------------|\n")
(bench-row "2 KB, :helo" 2048 200 10 30)
(bench-row "2 KB, default" 2048 200 10 0 nil 'default)
(bench-row "10 MB, DATA" (* 10 1024 1024) 40 5 3 bench-port-data)
(bench-row "10 MB, BDAT" (* 10 1024 1024) 40 5 0 bench-port nil t)
