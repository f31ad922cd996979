;;; smtpmail-native-dev.el --- What the ERT suites and the benchmarks share  -*- lexical-binding: t; -*-

;;; Commentary:
;; Helpers for the development code of test-lisp/ and bench/, which load this file with
;; dev-lisp/ on `load-path' (a benchmark never loads a test file).  Not part of the
;; package: never installed, packaged or byte-compiled by the build.

;;; Code:

(defun smtpmail-native-dev-random-bytes (length)
  "Return a unibyte string of LENGTH bytes from `random'."
  (let ((s (make-string length 0)))
    (dotimes (i length)
      (aset s i (random 256)))
    s))

(provide 'smtpmail-native-dev)

;;; smtpmail-native-dev.el ends here
