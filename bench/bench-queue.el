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

;; Run by bench/bench-queue, which starts the loopback sink and passes SINK_PORT and
;; SMTPN_MODULE in the environment.  Queues 200 messages of about 1.5 KB with
;; smtpmail's own `smtpmail-queue-mail' (so both flushes read the same format), then
;; times `smtpmail-native-send-queued-mail'; queues them again and times Emacs's
;; `smtpmail-send-queued-mail'.  Prints figures from one run; asserts nothing.

;;; Code:

(require 'smtpmail)
(require 'message)
(require 'cl-lib)

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

(let ((smtpmail-smtp-server "127.0.0.1")
      (smtpmail-smtp-service bench-port)
      (smtpmail-stream-type 'plain)
      (smtpmail-debug-info nil)
      (smtpmail-auth-credentials nil)
      (auth-sources nil)
      (user-mail-address "bench@example.org")
      (mail-specify-envelope-from nil)
      (inhibit-message t)
      (smtpmail-queue-dir (expand-file-name "queue/" (getenv "HOME"))))
  (let* ((native (bench-queue-time #'smtpmail-native-send-queued-mail))
         (lisp (bench-queue-time #'smtpmail-send-queued-mail)))
    (princ (format "Flush of %d queued 1.5 KB messages, loopback sink, Emacs %s, one run\n"
                   bench-count emacs-version))
    (princ "| flush                            | seconds | left queued |\n")
    (princ "|----------------------------------+---------+-------------|\n")
    (princ (format "| smtpmail-native-send-queued-mail | %7.3f | %11d |\n" (car native) (cadr native)))
    (princ (format "| smtpmail-send-queued-mail        | %7.3f | %11d |\n" (car lisp) (cadr lisp)))
    (princ (format "smtpmail.el / native: %.1fx\n" (/ (car lisp) (car native))))))

;;; bench-queue.el ends here
