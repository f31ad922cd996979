;;; bench-send.el --- Full-session latency: smtpmail-native vs smtpmail.el vs a raw floor  -*- lexical-binding: t; -*-

;;; Commentary:
;; Run by bench/bench-send, which starts the loopback sink and passes, in the environment,
;; SINK_PORT, RAW_FLOOR (the raw-socket floor program) and SMTPN_MODULE.  Prints a table of
;; medians from one run; asserts nothing.

;;; Code:

(require 'smtpmail)
(require 'cl-lib)

(setq smtpmail-native-module-file (getenv "SMTPN_MODULE"))
(require 'smtpmail-native)

;; Defined by the module, which is not loaded when this file is linted.
(declare-function smtpmail-native-send "ext:smtpmail-native-module" (&rest args))

(defvar bench-port (string-to-number (getenv "SINK_PORT")))
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

(defun bench-native (message n)
  "N full sessions of MESSAGE through smtpmail-native."
  (cl-loop repeat n collect
           (bench-time (lambda ()
                         (smtpmail-native-send :host "127.0.0.1" :port bench-port :stream-type 'plain
                                               :helo "bench" :from "bench@example.org"
                                               :recipients '("sink@example.org") :data message)))))

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

(defun bench-floor (message n)
  "N raw-floor sessions of MESSAGE, timed by the floor program itself."
  (let ((file (make-temp-file "bench-msg")))
    (unwind-protect
        (progn
          (let ((coding-system-for-write 'binary)) (write-region message nil file nil 'silent))
          (with-temp-buffer
            (unless (eq 0 (call-process bench-floor nil t nil
                                        (number-to-string bench-port) file (number-to-string n)))
              (error "Raw floor failed: %s" (buffer-string)))
            (mapcar #'string-to-number (split-string (buffer-string)))))
      (delete-file file))))

(defun bench-ms (seconds)
  "SECONDS as milliseconds text."
  (format "%10.3f" (* 1000 seconds)))

(defun bench-row (label size n-fast n-slow)
  "Measure and print one row for a LABEL message of SIZE bytes."
  (let* ((message (bench-message size))
         (_warm (progn (bench-native message 2) (bench-smtpmail message 1)))
         (floor (bench-median (bench-floor message n-fast)))
         (native (bench-median (bench-native message n-fast)))
         (lisp (bench-median (bench-smtpmail message n-slow))))
    (princ (format "| %-7s | %s | %s | %s | %8.2fx | %8.1fx |\n"
                   label (bench-ms floor) (bench-ms native) (bench-ms lisp)
                   (/ native floor) (/ lisp native)))))

(princ (format "Full SMTP session on a loopback sink (PIPELINING offered), medians, Emacs %s\n"
               emacs-version))
(princ "| message | floor (ms) | native (ms) | smtpmail.el (ms) | native/floor | smtpmail.el/native |\n")
(princ "|---------+------------+-------------+------------------+--------------+--------------------|\n")
(bench-row "2 KB" 2048 200 30)
(bench-row "10 MB" (* 10 1024 1024) 7 3)

;;; bench-send.el ends here
