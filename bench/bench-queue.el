;;; bench-queue.el --- Queue flush: smtpmail-native vs smtpmail.el  -*- lexical-binding: t; -*-

;; Copyright (C) 2026 The smtpmail-native developers

;; This file is not part of GNU Emacs.

;; This program is free software; you can redistribute it and/or modify
;; it under the terms of the GNU General Public License as published by
;; the Free Software Foundation, either version 3 of the License, or
;; (at your option) any later version.

;; This program is distributed in the hope that it will be useful,
;; but WITHOUT ANY WARRANTY; without even the implied warranty of
;; MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
;; GNU General Public License for more details.

;; You should have received a copy of the GNU General Public License
;; along with this program.  If not, see <https://www.gnu.org/licenses/>.

;;; Commentary:

;; Run by bench/bench-queue, which starts the loopback sink and passes SINK_PORT,
;; SMTPN_MODULE and BENCH_RUNS in the environment.  Queues 200 messages of about 1.5 KB
;; with smtpmail's own `smtpmail-queue-mail' (so both flushes read the same format),
;; then times `smtpmail-native-send-queued-mail'; BENCH_RUNS times.  Queues them again
;; and times Emacs's `smtpmail-send-queued-mail', once (it takes seconds).  Prints
;; figures and the load average; asserts nothing.

;;; Code:

(require 'smtpmail)
(require 'message)
(require 'cl-lib)
(require 'seq)
(require 'subr-x)

(defvar smtpmail-native-module-file)
(setq smtpmail-native-module-file (getenv "SMTPN_MODULE"))
(require 'smtpmail-native)
(defvar smtpmail-auth-credentials)   ; read by smtpmail-native.el: bound dynamically here

(defvar bench-port (string-to-number (getenv "SINK_PORT")))
(defvar bench-count 200)

(defun bench-queue-fill (n)
  "Queue N messages of about 1.5 KB with smtpmail's `smtpmail-queue-mail'."
  (let ((smtpmail-queue-mail t)
        (body (apply #'concat (make-list 19 (concat (make-string 75 ?x) "\n")))))
    (dotimes (i n)
      (with-temp-buffer
        (insert "From: bench@example.org\nTo: sink@example.org\nSubject: bench " (number-to-string i)
                "\nDate: " (message-make-date) "\nMessage-ID: " (message-make-message-id) "\n"
                mail-header-separator "\n" body)
        (smtpmail-send-it)))))

(defun bench-queue-files ()
  "The number of messages in the queue index."
  (let ((index (expand-file-name smtpmail-queue-index-file smtpmail-queue-dir)))
    (if (file-exists-p index)
        (with-temp-buffer
          (insert-file-contents index)
          (count-lines (point-min) (point-max)))
      0)))

(defun bench-queue-time (flush)
  "Fill the queue, call FLUSH, return (SECONDS LEFT-IN-QUEUE)."
  (bench-queue-fill bench-count)
  (garbage-collect)
  (let ((start (float-time)))
    (funcall flush)
    (list (- (float-time) start) (bench-queue-files))))

(defvar bench-runs (max 1 (string-to-number (or (getenv "BENCH_RUNS") "5"))))

(defun bench-queue-load ()
  "The load average, as /proc/loadavg has it (its first three fields)."
  (with-temp-buffer
    (insert-file-contents "/proc/loadavg")
    (string-join (seq-take (split-string (buffer-string)) 3) " ")))

(let ((smtpmail-smtp-server "127.0.0.1")
      (smtpmail-smtp-service bench-port)
      (smtpmail-stream-type 'plain)
      (smtpmail-debug-info nil)
      (smtpmail-auth-credentials nil)
      (auth-sources nil)
      (user-mail-address "bench@example.org")
      (mail-specify-envelope-from nil)
      (inhibit-message t)
      (smtpmail-queue-dir (expand-file-name "queue/" (getenv "HOME")))
      (load-before (bench-queue-load)))
  (let* ((native (cl-loop repeat bench-runs collect (bench-queue-time #'smtpmail-native-send-queued-mail)))
         (seconds (sort (mapcar #'car native) #'<))
         (median (nth (/ (length seconds) 2) seconds))
         (lisp (bench-queue-time #'smtpmail-send-queued-mail)))
    (princ (format "Flush of %d queued 1.5 KB messages, loopback sink, Emacs %s; load average %s before, %s after\n"
                   bench-count emacs-version load-before (bench-queue-load)))
    (princ (format "native runs (s): %s\n" (mapconcat (lambda (r) (format "%.3f" (car r))) native " ")))
    (princ "| flush                            | runs | median s | min s  | max s  | left queued |\n")
    (princ "|----------------------------------+------+----------+--------+--------+-------------|\n")
    (princ (format "| smtpmail-native-send-queued-mail | %4d | %8.3f | %6.3f | %6.3f | %11d |\n"
                   bench-runs median (car seconds) (car (last seconds))
                   (apply #'max (mapcar #'cadr native))))
    (princ (format "| smtpmail-send-queued-mail        | %4d | %8.3f | %6.3f | %6.3f | %11d |\n"
                   1 (car lisp) (car lisp) (car lisp) (cadr lisp)))
    (princ (format "smtpmail.el / native median: %.1fx\n" (/ (car lisp) median)))))

;;; bench-queue.el ends here
