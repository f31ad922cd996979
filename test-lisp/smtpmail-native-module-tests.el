;;; smtpmail-native-module-tests.el --- ERT tests of the smtpmail-native module's API  -*- lexical-binding: t; -*-

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

;; What Lisp sees of the module: the crypto primitives against the
;; RFCs' known answers (RFC 2202, 2195, 4648) and against Emacs's own
;; implementations, the string rules (unibyte byte-exact, multibyte as
;; UTF-8), the error hierarchy and its signal data, the docstrings, and
;; the loader's refusals of a missing or stale module.
;;
;; ctest runs this file twice, with and without --module-assertions,
;; in a batch Emacs started with -Q, after setting
;; `smtpmail-native-module-file' to the module it just built; see
;; CMakeLists.txt next to this file.

;;; Code:

(require 'ert)
(require 'hex-util)
(require 'hmac-md5)
(require 'lisp-mnt)
(require 'rfc2104)
(require 'sasl)
(require 'sasl-cram)
(require 'cl-lib)
(require 'seq)
(require 'smtpmail-native)
(require 'smtpmail-native-dev)
(require 'smtpmail-native-test-servers)

;; `require' does not load the module; these tests are about it, so load it now.
(smtpmail-native-module-load)

;; Defined by the module, which is not loaded when this file is linted.
(declare-function smtpmail-native-version "ext:smtpmail-native-module" ())
(declare-function smtpmail-native-hmac-md5 "ext:smtpmail-native-module"
                  (key data &optional binary))
(declare-function smtpmail-native-base64-encode "ext:smtpmail-native-module" (string))
(declare-function smtpmail-native-base64-decode "ext:smtpmail-native-module" (string))
(declare-function smtpmail-native-cram-md5-response "ext:smtpmail-native-module"
                  (user password challenge))
(declare-function smtpmail-native-send "ext:smtpmail-native-module" (&rest args))
(declare-function smtpmail-native-server-info "ext:smtpmail-native-module" (&rest args))
(declare-function smtpmail-native-send-async "ext:smtpmail-native-module" (callback &rest args))

;;;; Helpers

(defun smtpmail-native-test--bytes (&rest bytes)
  "Return a unibyte string of BYTES; a list among them is spliced in."
  (apply #'unibyte-string (flatten-tree bytes)))

(defun smtpmail-native-test--repeat (count byte)
  "Return a unibyte string of COUNT copies of BYTE."
  (apply #'unibyte-string (make-list count byte)))


(defun smtpmail-native-test--random-ascii (length)
  "Return a string of LENGTH printable ASCII characters from `random'."
  (let ((s (make-string length ?a)))
    (dotimes (i length)
      (aset s i (+ ?! (random (- ?~ ?!)))))
    s))

(defun smtpmail-native-test--decode-error (input)
  "Decode INPUT, which must fail, and return the signal as (SYMBOL . DATA).
The signal is caught under `smtpmail-native-error', as users catch it."
  (condition-case err
      (progn
        (smtpmail-native-base64-decode input)
        (ert-fail (list "decoding succeeded" input)))
    (smtpmail-native-error err)))

(defun smtpmail-native-test--emacs-batch (&rest forms)
  "Evaluate FORMS in a fresh `emacs -Q --batch' and return (EXIT-CODE . OUTPUT).
The child has the directory of smtpmail-native.el on its `load-path'."
  (with-temp-buffer
    (let ((code (apply #'call-process
                       (expand-file-name invocation-name invocation-directory)
                       nil t nil
                       "-Q" "--batch" "-L" smtpmail-native--lisp-directory
                       "--eval" "(setq load-prefer-newer t)"
                       (mapcan (lambda (form) (list "--eval" (prin1-to-string form)))
                               forms))))
      (cons code (buffer-string)))))

;;;; HMAC-MD5 (RFC 2104), known answers of RFC 2202

(defconst smtpmail-native-test--rfc2202-hmac-md5
  `((1 ,(smtpmail-native-test--repeat 16 #x0b) "Hi There"
       "9294727a3638bb1c13f48ef8158bfc9d")
    (2 "Jefe" "what do ya want for nothing?"
       "750c783e6ab0b503eaa86e310a5db738")
    (3 ,(smtpmail-native-test--repeat 16 #xaa) ,(smtpmail-native-test--repeat 50 #xdd)
       "56be34521d144c88dbb8c733f0e8b3f6")
    (4 ,(smtpmail-native-test--bytes (number-sequence 1 25))
       ,(smtpmail-native-test--repeat 50 #xcd)
       "697eaf0aca3a3aea3a75164746ffaa79")
    (5 ,(smtpmail-native-test--repeat 16 #x0c) "Test With Truncation"
       "56461ef2342edc00f9bab995690efd4c")
    (6 ,(smtpmail-native-test--repeat 80 #xaa)
       "Test Using Larger Than Block-Size Key - Hash Key First"
       "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd")
    (7 ,(smtpmail-native-test--repeat 80 #xaa)
       "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"
       "6f630fad67cda0ee1fb1f562db3aa53e"))
  "RFC 2202 section 2's HMAC-MD5 test cases: (NUMBER KEY DATA HEX-DIGEST).")

(ert-deftest smtpmail-native-test-hmac-md5-rfc2202 ()
  "The seven HMAC-MD5 test cases of RFC 2202, as lowercase hex."
  (pcase-dolist (`(,number ,key ,data ,digest) smtpmail-native-test--rfc2202-hmac-md5)
    (ert-info ((format "RFC 2202 test case %d" number))
      (should (equal (smtpmail-native-hmac-md5 key data) digest))
      (should (equal (smtpmail-native-hmac-md5 key data nil) digest)))))

(ert-deftest smtpmail-native-test-hmac-md5-rfc2202-binary ()
  "With BINARY, the RFC 2202 digests come back as 16 raw bytes, unibyte."
  (pcase-dolist (`(,number ,key ,data ,digest) smtpmail-native-test--rfc2202-hmac-md5)
    (ert-info ((format "RFC 2202 test case %d" number))
      (let ((mac (smtpmail-native-hmac-md5 key data t)))
        (should (stringp mac))
        (should-not (multibyte-string-p mac))
        (should (= (length mac) 16))
        (should (equal mac (decode-hex-string digest)))))))

(ert-deftest smtpmail-native-test-hmac-md5-agrees-with-emacs ()
  "HMAC-MD5 equals Emacs's `rfc2104-hash' and `hmac-md5' on random input.
Emacs 28's `rfc2104-hash' hashes a key longer than the block to hex
instead of to binary, so it only serves as the reference for keys of
at most 64 bytes; `hmac-md5' (hmac-def.el) covers every key length."
  (random "smtpmail-native-test-hmac-md5")
  (dotimes (i 200)
    (let ((key (smtpmail-native-dev-random-bytes (random 150)))
          (data (smtpmail-native-dev-random-bytes (random 300))))
      (ert-info ((format "sample %d: key %S, data %S" i key data))
        (should (equal (smtpmail-native-hmac-md5 key data)
                       (encode-hex-string (hmac-md5 data key))))
        (should (equal (smtpmail-native-hmac-md5 key data t) (hmac-md5 data key)))
        (when (<= (length key) 64)
          (should (equal (smtpmail-native-hmac-md5 key data)
                         (rfc2104-hash 'md5 64 16 key data))))))))

;;;; CRAM-MD5 (RFC 2195)

(ert-deftest smtpmail-native-test-cram-md5-rfc2195 ()
  "The example exchange of RFC 2195 section 2."
  (should (equal (smtpmail-native-cram-md5-response
                  "tim" "tanstaaftanstaaf"
                  "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+")
                 "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"))
  (should (equal (base64-decode-string "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw")
                 "tim b913a602c7eda7a495b4e6e7334d3890")))

(ert-deftest smtpmail-native-test-cram-md5-invalid-challenge ()
  "A challenge that is not strict base64 signals `smtpmail-native-decode-error'."
  (dolist (case '(("PDE4OTYu Njk3" . 8) ("PDE4OTYuNjk3MTcw!" . 16) ("PDE" . 3)
                  ("PD==PD==" . 4)))
    (ert-info ((format "challenge %S" (car case)))
      (let ((err (should-error (smtpmail-native-cram-md5-response "tim" "secret" (car case))
                               :type 'smtpmail-native-decode-error)))
        (should (eq (car err) 'smtpmail-native-decode-error))
        (should (stringp (nth 1 err)))
        (should (equal (cddr err) (list :offset (cdr case))))))))

(ert-deftest smtpmail-native-test-cram-md5-oversized-challenge ()
  "A challenge over 4096 characters signals `smtpmail-native-protocol-error'."
  (should (stringp (smtpmail-native-cram-md5-response "u" "p" (make-string 4096 ?A))))
  (let ((err (should-error (smtpmail-native-cram-md5-response "u" "p" (make-string 4100 ?A))
                           :type 'smtpmail-native-protocol-error)))
    (should (eq (car err) 'smtpmail-native-protocol-error))))

(ert-deftest smtpmail-native-test-cram-md5-agrees-with-sasl-cram ()
  "The response equals what Emacs's sasl-cram.el sends, on random input.
sasl-cram returns the plain \"USER HEXDIGEST\" that smtpmail then
base64-encodes, so that is what the module's answer decodes to."
  (random "smtpmail-native-test-cram-md5")
  (dotimes (i 100)
    (let* ((user (smtpmail-native-test--random-ascii (1+ (random 30))))
           (password (smtpmail-native-dev-random-bytes (random 100)))
           (challenge (smtpmail-native-dev-random-bytes (1+ (random 200))))
           (client (sasl-make-client (sasl-find-mechanism '("CRAM-MD5"))
                                     user "smtp" "mail.example.org"))
           ;; sasl-cram wipes the passphrase it was given: hand it a copy.
           (sasl-read-passphrase (lambda (_prompt) (copy-sequence password)))
           (step (sasl-next-step client nil))
           (expected (progn (sasl-step-set-data step challenge)
                            (sasl-step-data (sasl-next-step client step)))))
      (ert-info ((format "sample %d: user %S, password %S, challenge %S"
                         i user password challenge))
        (should (string-prefix-p (concat user " ") expected))
        (should (equal (base64-decode-string
                        (smtpmail-native-cram-md5-response
                         user password (base64-encode-string challenge t)))
                       expected))))))

;;;; Base64 (RFC 4648)

(defconst smtpmail-native-test--rfc4648-vectors
  '(("" . "") ("f" . "Zg==") ("fo" . "Zm8=") ("foo" . "Zm9v")
    ("foob" . "Zm9vYg==") ("fooba" . "Zm9vYmE=") ("foobar" . "Zm9vYmFy"))
  "RFC 4648 section 10's base64 test vectors: (DATA . ENCODED).")

(ert-deftest smtpmail-native-test-base64-rfc4648 ()
  "RFC 4648's test vectors encode and decode both ways."
  (pcase-dolist (`(,data . ,encoded) smtpmail-native-test--rfc4648-vectors)
    (ert-info ((format "%S <-> %S" data encoded))
      (should (equal (smtpmail-native-base64-encode data) encoded))
      (let ((decoded (smtpmail-native-base64-decode encoded)))
        (should (equal decoded data))
        (should-not (multibyte-string-p decoded))))))

(ert-deftest smtpmail-native-test-base64-decode-strict ()
  "Every kind of malformed base64 signals `smtpmail-native-decode-error'.
The signal data is (MESSAGE OFFSET), OFFSET being where the input is
at fault, and the error is caught as a `smtpmail-native-error'."
  (dolist (case '(;; whitespace
                  ("Zm9v YmFy" 4) ("Zm9v\nYmFy" 4) ("Zm9vYmFy\r\n" 8) ("\tZm9v" 0)
                  (" " 0) ("Zg==\n" 4)
                  ;; characters outside the standard alphabet (base64url's too)
                  ("Zm9v!mFy" 4) ("Zm9v-_8=" 4) ("Zm9vYmF\0" 7) ("Zm9vé" 4)
                  ;; a length that is not a multiple of 4
                  ("Z" 1) ("Zm9vY" 5) ("Zg=" 3) ("Zm9vYmE" 7)
                  ;; padding in the wrong place or with unused bits set
                  ("=AAA" 0) ("Z===" 1) ("Zg=a" 2) ("Zm=v" 2) ("Zh==" 1) ("Zm9=" 2)
                  ;; data after the final padded group
                  ("Zg==Zg==" 4) ("Zm9vYg==AAAA" 8) ("Zg===" 4)))
    (pcase-let ((`(,input ,offset) case))
      (ert-info ((format "input %S" input))
        (let ((err (smtpmail-native-test--decode-error input)))
          (should (eq (car err) 'smtpmail-native-decode-error))
          (should (stringp (nth 1 err)))
          (should (equal (cddr err) (list :offset offset)))
          (should (string-match-p "base64" (error-message-string err))))))))

(ert-deftest smtpmail-native-test-base64-unibyte-is-byte-exact ()
  "A unibyte string is encoded byte for byte, bytes 128-255 included."
  (should (equal (smtpmail-native-base64-encode (unibyte-string 200 201)) "yMk="))
  (should (equal (smtpmail-native-base64-encode (unibyte-string 0 255 128)) "AP+A"))
  (let ((all (apply #'unibyte-string (number-sequence 0 255))))
    (should (equal (smtpmail-native-base64-encode all) (base64-encode-string all t)))
    (should (equal (smtpmail-native-base64-decode (smtpmail-native-base64-encode all)) all)))
  (should (equal (smtpmail-native-base64-decode "yMk=") (unibyte-string 200 201)))
  (should (equal (smtpmail-native-hmac-md5 (unibyte-string 200) (unibyte-string 201))
                 (rfc2104-hash 'md5 64 16 (unibyte-string 200) (unibyte-string 201)))))

(ert-deftest smtpmail-native-test-multibyte-is-utf-8 ()
  "A multibyte string is taken as its UTF-8 encoding."
  (should (multibyte-string-p "é"))
  (should (equal (smtpmail-native-base64-encode "é") "w6k="))
  (should (equal (smtpmail-native-base64-encode "€ and 😀")
                 (base64-encode-string (encode-coding-string "€ and 😀" 'utf-8) t)))
  (should (equal (smtpmail-native-base64-decode "w6k=") (encode-coding-string "é" 'utf-8)))
  ;; A multibyte string of pure ASCII is the same text as its unibyte twin.
  (should (equal (smtpmail-native-base64-encode (string-to-multibyte "foobar")) "Zm9vYmFy"))
  ;; U+00AA is two bytes in UTF-8, unlike the unibyte byte #xaa.
  (should (equal (smtpmail-native-hmac-md5 (make-string 16 #xaa) "data")
                 (smtpmail-native-hmac-md5 (encode-coding-string (make-string 16 #xaa) 'utf-8)
                                           "data")))
  (should-not (equal (smtpmail-native-hmac-md5 (make-string 16 #xaa) "data")
                     (smtpmail-native-hmac-md5 (smtpmail-native-test--repeat 16 #xaa) "data")))
  (should (equal (smtpmail-native-cram-md5-response "tïm" "pässword" "PDE4OTYuNjk3MTcwOTUyQHBvc3Q+")
                 (smtpmail-native-cram-md5-response
                  (encode-coding-string "tïm" 'utf-8) (encode-coding-string "pässword" 'utf-8)
                  "PDE4OTYuNjk3MTcwOTUyQHBvc3Q+"))))

(ert-deftest smtpmail-native-test-raw-bytes-in-multibyte-rejected ()
  "A multibyte string holding raw 8-bit bytes is a `wrong-type-argument'."
  (let ((raw (string-to-multibyte (unibyte-string 200))))
    (should (multibyte-string-p raw))
    (should-error (smtpmail-native-base64-encode raw) :type 'wrong-type-argument)
    (should-error (smtpmail-native-base64-encode (concat "abc" raw)) :type 'wrong-type-argument)
    (should-error (smtpmail-native-base64-decode (concat "Zm9v" raw)) :type 'wrong-type-argument)
    (should-error (smtpmail-native-hmac-md5 raw "data") :type 'wrong-type-argument)
    (should-error (smtpmail-native-hmac-md5 "key" raw) :type 'wrong-type-argument)
    (should-error (smtpmail-native-cram-md5-response raw "p" "Zm9v") :type 'wrong-type-argument)
    (should-error (smtpmail-native-cram-md5-response "u" raw "Zm9v") :type 'wrong-type-argument)))

(ert-deftest smtpmail-native-test-non-strings-rejected ()
  "Integers, nil, symbols and vectors are a `wrong-type-argument'."
  (dolist (bad '(42 nil foo [1 2] 1.5))
    (ert-info ((format "argument %S" bad))
      (should-error (smtpmail-native-base64-encode bad) :type 'wrong-type-argument)
      (should-error (smtpmail-native-base64-decode bad) :type 'wrong-type-argument)
      (should-error (smtpmail-native-hmac-md5 bad "data") :type 'wrong-type-argument)
      (should-error (smtpmail-native-hmac-md5 "key" bad) :type 'wrong-type-argument)
      (should-error (smtpmail-native-cram-md5-response bad "p" "Zm9v")
                    :type 'wrong-type-argument)
      (should-error (smtpmail-native-cram-md5-response "u" bad "Zm9v")
                    :type 'wrong-type-argument)
      (should-error (smtpmail-native-cram-md5-response "u" "p" bad)
                    :type 'wrong-type-argument))))

(ert-deftest smtpmail-native-test-binary-results-are-unibyte ()
  "Decoded base64 and binary HMACs are unibyte strings, even from multibyte input."
  (should-not (multibyte-string-p (smtpmail-native-base64-decode "yMk=")))
  (should-not (multibyte-string-p (smtpmail-native-base64-decode (string-to-multibyte "yMk="))))
  (should-not (multibyte-string-p (smtpmail-native-base64-decode "")))
  (should-not (multibyte-string-p (smtpmail-native-hmac-md5 "kéy" "dätä" t)))
  (should (equal (smtpmail-native-base64-decode (string-to-multibyte "yMk="))
                 (unibyte-string 200 201))))

(ert-deftest smtpmail-native-test-base64-agrees-with-emacs ()
  "Encode and decode equal Emacs's base64 functions on random unibyte strings."
  (random "smtpmail-native-test-base64")
  (dotimes (i 200)
    (let* ((s (smtpmail-native-dev-random-bytes (random 1000)))
           (encoded (base64-encode-string s t)))
      (ert-info ((format "sample %d: %S" i s))
        (should (equal (smtpmail-native-base64-encode s) encoded))
        (should (equal (smtpmail-native-base64-decode encoded) (base64-decode-string encoded)))
        (should (equal (smtpmail-native-base64-decode encoded) s))))))

(defun smtpmail-native-test--difference (actual expected &optional text)
  "Return nil when ACTUAL is EXPECTED, else a short description of how not.
Unless TEXT is non-nil, ACTUAL must also be as multibyte as EXPECTED.
Big strings must not reach `should' directly: ERT would print them."
  (cond ((not (stringp actual)) (format "not a string but %s" (type-of actual)))
        ((and (not text)
              (not (eq (multibyte-string-p actual) (multibyte-string-p expected))))
         (format "multibyte-string-p is %S, expected %S"
                 (multibyte-string-p actual) (multibyte-string-p expected)))
        ((/= (length actual) (length expected))
         (format "length %d, expected %d" (length actual) (length expected)))
        (t (let ((cmp (compare-strings actual nil nil expected nil nil)))
             (unless (eq cmp t)
               (format "first difference at index %d" (1- (abs cmp))))))))

(ert-deftest smtpmail-native-test-base64-10mb-round-trip ()
  "Ten megabytes of bytes survive encode then decode, and match Emacs's encoding."
  (random "smtpmail-native-test-10mb")
  ;; 65537 bytes per chunk, so that the repeats do not line up with base64's groups.
  (let* ((chunk (smtpmail-native-dev-random-bytes 65537))
         (data (apply #'concat (make-list 160 chunk)))
         (encoded (smtpmail-native-base64-encode data))
         (encoding-difference
          (smtpmail-native-test--difference encoded (base64-encode-string data t) t))
         (round-trip-difference
          (smtpmail-native-test--difference (smtpmail-native-base64-decode encoded) data)))
    (should (>= (length data) (* 10 1000 1000)))
    (should-not encoding-difference)
    (should-not round-trip-difference)))

;;;; Errors

(defconst smtpmail-native-test--error-children
  '(smtpmail-native-connection-error smtpmail-native-tls-error
    smtpmail-native-auth-error smtpmail-native-protocol-error smtpmail-native-timeout
    smtpmail-native-temporary-error smtpmail-native-permanent-error
    smtpmail-native-decode-error smtpmail-native-cancelled smtpmail-native-interrupted)
  "Every error the module signals below `smtpmail-native-error'.")

(ert-deftest smtpmail-native-test-error-hierarchy ()
  "Every error is an `smtpmail-native-error' and an `error', with a message."
  (should (memq 'error (get 'smtpmail-native-error 'error-conditions)))
  (should (memq 'smtpmail-native-error (get 'smtpmail-native-error 'error-conditions)))
  (dolist (symbol (cons 'smtpmail-native-error smtpmail-native-test--error-children))
    (ert-info ((symbol-name symbol))
      (let ((conditions (get symbol 'error-conditions))
            (message (get symbol 'error-message)))
        (should (eq (car conditions) symbol))
        (should (memq 'smtpmail-native-error conditions))
        (should (memq 'error conditions))
        (should (stringp message))
        (should (> (length message) 0))
        ;; What a user's handler sees: caught by the root, printed with the message.
        (should (equal (condition-case err (signal symbol '("detail"))
                         (smtpmail-native-error (car err)))
                       symbol))
        (should (string-prefix-p message (error-message-string (list symbol "detail"))))))))

;;;; Callbacks and server bytes, through a real session

(define-error 'smtpmail-native-test--own-error "A test's own error")

(defun smtpmail-native-test--sink-send (port &rest args)
  "Send a small message to the sink on PORT with ARGS; return (RESULT . TRACE).
TRACE is every line the :trace function was given, in order; each call
must hand over a list of strings."
  (let* ((trace nil)
         (result (apply #'smtpmail-native-send
                        (append args
                                (list :host "127.0.0.1" :port port :helo "client.test"
                                      :from "a@example.org" :recipients '("b@example.org")
                                      :data "Subject: t\n\nhello\n" :timeout 10
                                      :trace (lambda (lines)
                                               (should (proper-list-p lines))
                                               (dolist (l lines)
                                                 (should (stringp l))
                                                 (push l trace))))))))
    (cons result (nreverse trace))))

(ert-deftest smtpmail-native-test-password-exit-comes-back-intact ()
  "A :password function's signal or throw is raised again exactly, after QUIT.
It is called once; no mail command follows it."
  (let ((port (smtpmail-native-test-servers-start-sink "--auth"))
        (calls 0)
        (trace nil))
    (unwind-protect
        (let ((send (lambda (password)
                      (smtpmail-native-send
                       :host "127.0.0.1" :port port :helo "client.test" :user "u"
                       :password password :mechanisms '(plain)
                       :from "a@example.org" :recipients '("b@example.org")
                       :data "x\n" :timeout 10
                       :trace (lambda (lines) (setq trace (append trace lines)))))))
          ;; A signal, with its data as it was.
          (should (equal (condition-case err
                             (funcall send (lambda ()
                                             (cl-incf calls)
                                             (signal 'smtpmail-native-test--own-error '("boom" 42))))
                           (smtpmail-native-test--own-error err))
                         '(smtpmail-native-test--own-error "boom" 42)))
          (should (= calls 1))
          (should (member "C: QUIT" trace))
          (should-not (seq-find (lambda (l) (string-prefix-p "C: AUTH" l)) trace))
          (should-not (seq-find (lambda (l) (string-prefix-p "C: MAIL" l)) trace))
          ;; A throw, with its tag and value.
          (setq trace nil calls 0)
          (should (equal (catch 'smtpmail-native-test--tag
                           (funcall send (lambda ()
                                           (cl-incf calls)
                                           (throw 'smtpmail-native-test--tag 'thrown)))
                           'not-thrown)
                         'thrown))
          (should (= calls 1))
          (should (member "C: QUIT" trace))
          ;; A non-string is the function's fault, raised as Emacs raises it.
          (should (eq (car (should-error (funcall send (lambda () 42)))) 'wrong-type-argument)))
      (smtpmail-native-test-servers-stop-sink port))))

(ert-deftest smtpmail-native-test-outcome-plist ()
  "A result and an error carry the contract's keys, with :delivery and :phase."
  (let ((port (smtpmail-native-test-servers-start-sink)))
    (unwind-protect
        (progn
          (pcase-let ((`(,result . ,trace) (smtpmail-native-test--sink-send port)))
            (should (eq (plist-get result :delivery) 'sent))
            (should (eql (plist-get result :code) 250))
            (should (equal (plist-get result :enhanced) "2.0.0"))
            (should (string-prefix-p "2.0.0 OK" (plist-get result :reply)))
            (should (equal (plist-get result :accepted) '("b@example.org")))
            (should (eql (plist-get result :port) port))
            (should (equal (plist-get result :host) "127.0.0.1"))
            (should (member "C: QUIT" trace)))
          (let ((err (should-error (smtpmail-native-test--sink-send
                                    port :recipients '("b@example.org" "reject-me@example.org"))
                                   :type 'smtpmail-native-permanent-error)))
            (should (stringp (nth 1 err)))
            (should (string-match-p "reject-me@example.org" (nth 1 err)))
            (let ((plist (cddr err)))
              (should (eq (plist-get plist :phase) 'envelope))
              (should (eq (plist-get plist :delivery) 'not-sent))
              (should (eql (plist-get plist :code) 550))
              (should (equal (plist-get plist :enhanced) "5.1.1"))
              (should (equal (mapcar #'car (plist-get plist :rejected)) '("reject-me@example.org")))
              (should (eql (plist-get (cdar (plist-get plist :rejected)) :code) 550))))
          (let ((err (should-error (smtpmail-native-send :host "127.0.0.1" :port port
                                                         :from "a\nb@example.org" :recipients '("b@c")
                                                         :data "x")
                                   :type 'smtpmail-native-error)))
            (should (eq (plist-get (cddr err) :phase) 'arguments))
            (should (eq (plist-get (cddr err) :delivery) 'not-sent))))
      (smtpmail-native-test-servers-stop-sink port))))

(ert-deftest smtpmail-native-test-default-helo-is-system-name ()
  "Without :helo the client names itself with `system-name', asked once a minute.
Two sends in a row say the same EHLO and ask Emacs for the name at most once."
  (let ((port (smtpmail-native-test-servers-start-sink))
        (asked 0)
        (ehlos nil))
    (unwind-protect
        (let ((name (system-name)))
          (advice-add 'system-name :before (lambda (&rest _) (cl-incf asked))
                      '((name . smtpmail-native-test--count)))
          (unwind-protect
              (dotimes (_ 2)
                (smtpmail-native-send
                 :host "127.0.0.1" :port port :from "a@example.org" :recipients '("b@example.org")
                 :data "x\n" :timeout 10
                 :trace (lambda (lines)
                          (dolist (l lines) (when (string-prefix-p "C: EHLO " l) (push l ehlos))))))
            (advice-remove 'system-name 'smtpmail-native-test--count))
          (should (equal ehlos (list (concat "C: EHLO " name) (concat "C: EHLO " name))))
          (should (<= asked 1)))
      (smtpmail-native-test-servers-stop-sink port))))

(ert-deftest smtpmail-native-test-server-bytes-not-utf-8 ()
  "A Latin-1 byte in the greeting, an EHLO line and the final 250 breaks nothing.
The strings holding it are unibyte, byte for byte; the message is sent."
  (let ((port (smtpmail-native-test-servers-start-sink "--latin1")))
    (unwind-protect
        (pcase-let ((`(,result . ,trace) (smtpmail-native-test--sink-send port)))
          (should (eq (plist-get result :delivery) 'sent))
          (should (eql (plist-get result :code) 250))
          (let ((reply (plist-get result :reply)))
            (should-not (multibyte-string-p reply))
            (should (string-suffix-p (unibyte-string ?c ?a ?f #xe9) reply)))
          (let ((greeting (seq-find (lambda (l) (string-prefix-p "S: 220" l)) trace)))
            (should greeting)
            (should-not (multibyte-string-p greeting)))
          (should (seq-find (lambda (l) (string-match-p "greets client.test caf" l)) trace))
          (should (member "C: QUIT" trace))
          (let ((info (smtpmail-native-server-info :host "127.0.0.1" :port port :timeout 10)))
            (should (string-suffix-p (unibyte-string #xe9) (plist-get info :greeting)))))
      (smtpmail-native-test-servers-stop-sink port))))

;;;; Numeric options

(ert-deftest smtpmail-native-test-numeric-options-refused ()
  "NaN, infinite, negative, huge or fractional numbers are refused before connecting.
Each is an `smtpmail-native-error' raised at the call (no connection is
tried: port 1 would fail differently), by the synchronous and the
background send alike; converting such a float to an integer would be
undefined behaviour in the module."
  (let ((bad `((:timeout ,(/ 0.0 0.0)) (:timeout 1.0e+INF) (:timeout -1.0e+INF) (:timeout -5)
               (:timeout 0) (:timeout 1e300) (:timeout ,(expt 10 30))
               (:max-reply-line ,(/ 0.0 0.0)) (:max-reply-line 1.0e+INF) (:max-reply-line -1)
               (:max-reply-line 1e30) (:max-reply-line ,(expt 2 80)) (:max-reply-line 4096.5)
               (:max-reply-lines ,(/ 0.0 0.0)) (:max-reply-lines -1.0e+INF) (:max-reply-lines 0)
               (:max-reply-lines 1e19)
               (:scram-max-iterations ,(/ 0.0 0.0)) (:scram-max-iterations 1.0e+INF)
               (:scram-max-iterations -4096) (:scram-max-iterations ,(expt 2 64))
               (:scram-max-iterations 5000.0)
               (:port ,(expt 2 70)) (:port -25) (:port 0))))
    (dolist (option bad)
      (ert-info ((format "%S" option))
        (dolist (send (list (lambda (&rest args) (apply #'smtpmail-native-send args))
                            (lambda (&rest args) (apply #'smtpmail-native-send-async #'ignore args))))
          ;; OPTION first: of a repeated keyword the first counts (so :port overrides 1).
          (let ((err (should-error (apply send (append option
                                                       '(:host "127.0.0.1" :port 1
                                                         :from "a@example.org" :recipients ("b@example.org")
                                                         :data "x")))
                                   :type 'smtpmail-native-error)))
            ;; The root itself: not a connection error from trying port 1.
            (should (eq (car err) 'smtpmail-native-error))
            (should (stringp (nth 1 err)))))))))

(ert-deftest smtpmail-native-test-numeric-options-accepted ()
  "In-range numbers of either type pass validation (and then fail to connect)."
  (dolist (option '((:timeout 0.3) (:timeout 2) (:max-reply-line 64) (:max-reply-lines 1)
                    (:scram-max-iterations 4096)))
    (ert-info ((format "%S" option))
      (should-error (apply #'smtpmail-native-send :host "127.0.0.1" :port 1
                           :from "a@example.org" :recipients '("b@example.org") :data "x" option)
                    :type 'smtpmail-native-connection-error))))

;;;; Version and docstrings

(ert-deftest smtpmail-native-test-version ()
  "The module's version is the Lisp layer's, which is the file's Version header."
  (let ((header (with-temp-buffer
                  (insert-file-contents
                   (expand-file-name "smtpmail-native.el" smtpmail-native--lisp-directory))
                  (lm-header "Version"))))
    (should (stringp (smtpmail-native-version)))
    (should (string-match-p "\\`[0-9]+\\.[0-9]+\\.[0-9]+\\'" (smtpmail-native-version)))
    (should (equal (smtpmail-native-version) smtpmail-native--lisp-version))
    (should (equal (smtpmail-native-version) header))))

(defun smtpmail-native-test--module-functions ()
  "Return the smtpmail-native-... symbols defined as module functions."
  (let (symbols)
    (mapatoms (lambda (symbol)
                (when (and (string-prefix-p "smtpmail-native-" (symbol-name symbol))
                           (fboundp symbol)
                           (module-function-p (indirect-function symbol)))
                  (push symbol symbols))))
    (sort symbols #'string<)))

(ert-deftest smtpmail-native-test-docstrings ()
  "Each module function has a docstring ending in a (fn ...) line matching its arity."
  (let ((functions (smtpmail-native-test--module-functions)))
    (dolist (known '(smtpmail-native-version smtpmail-native-hmac-md5
                     smtpmail-native-base64-encode smtpmail-native-base64-decode
                     smtpmail-native-cram-md5-response))
      (should (memq known functions)))
    (dolist (fn functions)
      (ert-info ((symbol-name fn))
        (let ((doc (documentation fn t)))
          (should (stringp doc))
          (should (string-match "\n\n(fn\\(\\(?: [^ ()\n]+\\)*\\))\\'" doc))
          (let* ((arglist (car (read-from-string (format "(%s)" (match-string 1 doc)))))
                 (summary (car (split-string doc "\n"))))
            ;; The first line is a sentence, as checkdoc wants.
            (should (> (length summary) 10))
            (should (string-suffix-p "." summary))
            ;; Argument names are in upper case in the usage line and mentioned in the text.
            (dolist (arg arglist)
              (unless (memq arg '(&optional &rest))
                (should (equal (symbol-name arg) (upcase (symbol-name arg))))
                (should (string-match-p (concat "\\_<" (regexp-quote (symbol-name arg)) "\\_>")
                                        (substring doc 0 (match-beginning 0))))))
            (let* ((rest (memq '&rest arglist))
                   (optional (memq '&optional arglist))
                   (required (seq-take-while (lambda (a) (not (memq a '(&optional &rest))))
                                             arglist))
                   (max (if rest
                            'many
                          (+ (length required) (if optional (1- (length optional)) 0)))))
              (should (equal (func-arity fn) (cons (length required) max))))))))))

;;;; The loader

(ert-deftest smtpmail-native-test-loader-missing-module ()
  "Without the module, `require' works and a send says to build it.
Runs in a child Emacs, where the module is not loaded yet: `require'
succeeds and loads no module; `smtpmail-native-send-it' and a direct
call of a module function signal a `user-error' naming
\[smtpmail-native-module-compile] before anything connects; once the
module exists (as after that command), the same calls work, with no
restart and no second `require'."
  (pcase-let ((`(,code . ,output)
               (smtpmail-native-test--emacs-batch
                '(setq smtpmail-native-module-file "/nonexistent/smtpmail-native-module.so")
                '(condition-case err
                     (progn (require 'smtpmail-native) (princ "require succeeded\n"))
                   (error (princ (format "require: %s\n" (error-message-string err)))))
                '(princ (format "feature: %S\n" (featurep 'smtpmail-native-module)))
                '(with-temp-buffer
                   (insert "From: me@example.org\nTo: you@example.org\nSubject: s\n\nbody\n")
                   (let ((smtpmail-smtp-server "127.0.0.1") (smtpmail-smtp-service 1))
                     (condition-case err
                         (progn (smtpmail-native-send-it) (princ "send succeeded\n"))
                       (user-error (princ (format "send: user-error: %s\n"
                                                  (error-message-string err))))
                       (error (princ (format "send: other error: %S\n" err))))))
                '(condition-case err
                     (progn (smtpmail-native-base64-encode "x") (princ "call succeeded\n"))
                   (user-error (princ (format "call: user-error: %s\n" (error-message-string err)))))
                `(setq smtpmail-native-module-file ,smtpmail-native-module-file)
                '(princ (format "after build: %S %S\n" (smtpmail-native-base64-encode "x")
                                (featurep 'smtpmail-native-module))))))
    (ert-info ((format "child output:\n%s" output))
      (should (equal code 0))
      (should (string-match-p "^require succeeded$" output))
      (should (string-match-p "^feature: nil$" output))
      (should (string-match-p "^send: user-error: .*not built.*smtpmail-native-module-compile" output))
      (should (string-match-p "^call: user-error: .*not built.*smtpmail-native-module-compile" output))
      (should (string-match-p "^after build: \"eA==\" t$" output)))))

(ert-deftest smtpmail-native-test-loader-stand-ins ()
  "Each public module function has a stand-in until the module loads.
The list of stand-ins is exactly the module's public functions, and
loading the module replaced every one by the module's function."
  (should (equal (sort (copy-sequence smtpmail-native-loader--functions) #'string<)
                 (seq-remove (lambda (f) (string-match-p "--" (symbol-name f)))
                             (smtpmail-native-test--module-functions))))
  (dolist (f smtpmail-native-loader--functions)
    (should (module-function-p (indirect-function f)))))

(ert-deftest smtpmail-native-test-loader-version-mismatch ()
  "A module whose version is not the Lisp layer's is refused, saying to rebuild.
Runs in a child Emacs, so that nothing here sees the rebound version."
  (pcase-let ((`(,code . ,output)
               (smtpmail-native-test--emacs-batch
                `(setq smtpmail-native-module-file ,smtpmail-native-module-file)
                '(require 'smtpmail-native)
                '(princ (format "version: %s\n" (smtpmail-native-version)))
                '(let ((smtpmail-native--lisp-version "0.0.0"))
                   (condition-case err
                       (progn (smtpmail-native--check-module-version) (princ "check accepted\n"))
                     (error (princ (format "check: %s\n" (error-message-string err)))))
                   (condition-case err
                       (progn (smtpmail-native-module-load) (princ "load accepted\n"))
                     (error (princ (format "load: %s\n" (error-message-string err))))))
                '(princ (format "after: %S\n" (smtpmail-native-module-load))))))
    (ert-info ((format "child output:\n%s" output))
      (should (equal code 0))
      (should (string-match-p (format "^version: %s$" (regexp-quote (smtpmail-native-version)))
                              output))
      (dolist (what '("check" "load"))
        (should (string-match-p
                 (format "^%s: .*version %s.*Lisp layer is 0\\.0\\.0.*rebuild.*smtpmail-native-module-compile"
                         what (regexp-quote (smtpmail-native-version)))
                 output)))
      (should-not (string-match-p "accepted" output))
      (should (string-match-p "^after: t$" output)))))

(provide 'smtpmail-native-module-tests)

;;; smtpmail-native-module-tests.el ends here
