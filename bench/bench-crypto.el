;;; bench-crypto.el --- Throughput of the module's crypto against Emacs's own  -*- lexical-binding: t; -*-

;; Copyright (C) 2026 The smtpmail-native developers

;; Author: The smtpmail-native developers
;; Keywords: mail, comm

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

;; A benchmark, not a test: it prints figures and asserts nothing.
;; For 1 KiB and 10 MiB of random bytes (and of multibyte ASCII and
;; UTF-8 text for base64) it measures the throughput of
;; `smtpmail-native-hmac-md5' against `rfc2104-hash' with `md5',
;; `smtpmail-native-base64-encode' against `base64-encode-string' and
;; `smtpmail-native-base64-decode' against `base64-decode-string'.
;;
;; Each figure is the median of several batches; a batch repeats the
;; call often enough to last about `smtpmail-native-bench-batch-seconds'.
;; Throughput counts payload bytes (the decoded size, for decoding too)
;; in MB/s of 10^6 bytes.  The garbage collector's time (`gc-elapsed')
;; is left out: it measures the heap more than the function.
;;
;; Run it with bench/bench-crypto, which finds or builds the module and
;; sets `smtpmail-native-module-file' before loading this file in a
;; batch Emacs (with lisp/ and dev-lisp/ on `load-path').

;;; Code:

(require 'rfc2104)
(require 'smtpmail-native)
(require 'smtpmail-native-dev)

;; Defined by the module, which is not loaded when this file is linted.  The functions
;; it measures are only named, as data, in the cases below: they need no declaration.
(declare-function smtpmail-native-version "ext:smtpmail-native-module" ())

(defvar smtpmail-native-bench-batch-seconds 0.25
  "How long one batch of repeated calls should last, in seconds.")

(defvar smtpmail-native-bench-batches 5
  "How many batches each figure is the median of.")

(defun smtpmail-native-bench--repeat (count function args)
  "Call FUNCTION with ARGS COUNT times."
  (dotimes (_ count)
    (apply function args)))

;; The timing loop runs compiled, whether or not this file was.
(byte-compile 'smtpmail-native-bench--repeat)

(defun smtpmail-native-bench--time (count function args)
  "Time FUNCTION called COUNT times with ARGS; return the seconds, GC excluded.
The time the garbage collector took meanwhile, which depends more on
the size of the heap than on FUNCTION, is subtracted."
  (garbage-collect)
  (let ((gc-start gc-elapsed)
        (start (float-time)))
    (smtpmail-native-bench--repeat count function args)
    (- (float-time) start (- gc-elapsed gc-start))))

(defun smtpmail-native-bench--median (numbers)
  "Return the median of NUMBERS."
  (let* ((sorted (sort (copy-sequence numbers) #'<))
         (n (length sorted)))
    (if (= (% n 2) 1)
        (nth (/ n 2) sorted)
      (/ (+ (nth (1- (/ n 2)) sorted) (nth (/ n 2) sorted)) 2.0))))

(defun smtpmail-native-bench--seconds-per-call (function args)
  "Return the median seconds one call of FUNCTION with ARGS takes."
  (let* ((once (max 1e-7 (smtpmail-native-bench--time 1 function args)))
         (count (max 1 (min 1000000 (ceiling (/ smtpmail-native-bench-batch-seconds once)))))
         (batches nil))
    (dotimes (_ smtpmail-native-bench-batches)
      (push (/ (smtpmail-native-bench--time count function args) count) batches))
    (smtpmail-native-bench--median batches)))

(defun smtpmail-native-bench--text (length)
  "Return a multibyte string of LENGTH bytes of UTF-8 text.
Mostly ASCII, with one two-byte letter in every 16 characters."
  (let ((s (make-string (/ (* length 16) 17) ?a)))
    (dotimes (i (length s))
      (aset s i (if (= (% i 16) 15) ?é (+ ?a (random 26)))))
    s))

(defun smtpmail-native-bench--cases (size)
  "Return the benchmark cases for SIZE bytes of payload.
Each is (NAME (NATIVE-FUNCTION . ARGS) (EMACS-FUNCTION . ARGS)).
Both take unibyte and multibyte strings: \"mb\" is multibyte ASCII,
which both encode as is; \"utf8\" multibyte text with non-ASCII
letters, which the module encodes as UTF-8 and Emacs only once
`encode-coding-string' made it bytes (what a mail's body needs)."
  (let* ((data (smtpmail-native-dev-random-bytes size))
         ;; A key of a CRAM-MD5 password's size, within rfc2104-hash's block.
         (key (smtpmail-native-dev-random-bytes 16))
         (encoded (base64-encode-string data t))
         (encoded-mb (string-to-multibyte encoded))
         (ascii-mb (string-to-multibyte (substring encoded 0 size)))
         (text (smtpmail-native-bench--text size)))
    `(("hmac-md5" (smtpmail-native-hmac-md5 ,key ,data)
       (rfc2104-hash md5 64 16 ,key ,data))
      ("base64-encode" (smtpmail-native-base64-encode ,data)
       (base64-encode-string ,data t))
      ("base64-encode mb" (smtpmail-native-base64-encode ,ascii-mb)
       (base64-encode-string ,ascii-mb t))
      ("base64-encode utf8" (smtpmail-native-base64-encode ,text)
       (smtpmail-native-bench--emacs-base64-utf-8 ,text))
      ("base64-decode" (smtpmail-native-base64-decode ,encoded)
       (base64-decode-string ,encoded))
      ("base64-decode mb" (smtpmail-native-base64-decode ,encoded-mb)
       (base64-decode-string ,encoded-mb)))))

(defun smtpmail-native-bench--emacs-base64-utf-8 (text)
  "Return TEXT as UTF-8 in base64, with Emacs's own functions."
  (base64-encode-string (encode-coding-string text 'utf-8 t) t))

(defun smtpmail-native-bench--size-name (size)
  "Return SIZE in bytes as a short name such as \"1 KiB\"."
  (cond ((>= size (* 1024 1024)) (format "%d MiB" (/ size (* 1024 1024))))
        ((>= size 1024) (format "%d KiB" (/ size 1024)))
        (t (format "%d B" size))))

(defun smtpmail-native-bench-crypto ()
  "Print the throughput table of the module's crypto against Emacs's."
  (random "smtpmail-native-bench")
  (princ (format "smtpmail-native %s, %s, %s\n" (smtpmail-native-version)
                 (car (split-string (emacs-version) "\n")) system-configuration))
  (princ (format "module: %s\n" (smtpmail-native-module-file-name)))
  (princ (format "median of %d batches of ~%.2f s, GC time excluded; \
MB/s = 10^6 payload bytes per second\n\n"
                 smtpmail-native-bench-batches smtpmail-native-bench-batch-seconds))
  (let ((row "%-18s %7s %14s %14s %9s\n"))
    (princ (format row "operation" "size" "native MB/s" "Emacs MB/s" "ratio"))
    (princ (format row "------------------" "-------" "--------------" "--------------" "---------"))
    (dolist (size (list 1024 (* 10 1024 1024)))
      (pcase-dolist (`(,name ,native ,emacs) (smtpmail-native-bench--cases size))
        (let* ((native-rate (/ size 1e6 (smtpmail-native-bench--seconds-per-call
                                         (car native) (cdr native))))
               (emacs-rate (/ size 1e6 (smtpmail-native-bench--seconds-per-call
                                        (car emacs) (cdr emacs)))))
          (princ (format row name (smtpmail-native-bench--size-name size)
                         (format "%.1f" native-rate) (format "%.1f" emacs-rate)
                         (format "%.2fx" (/ native-rate emacs-rate)))))))
    (princ "\nratio = native MB/s / Emacs MB/s; Emacs: rfc2104-hash 'md5 64 16, \
base64-encode-string (NO-LINE-BREAK t), base64-decode-string;
mb = multibyte ASCII input, utf8 = multibyte text (Emacs: encode-coding-string 'utf-8 first).\n")))

(provide 'bench-crypto)

;;; bench-crypto.el ends here
