;;; smtpmail-native-trust.el --- Trusting a server's certificate, per server  -*- lexical-binding: t; -*-

;; Copyright (C) 2026 The smtpmail-native developers

;; Author: The smtpmail-native developers

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

;; Pins: a server whose certificate the user chose to trust is accepted
;; by that certificate's SHA-256 fingerprint alone (the module's
;; :fingerprint).  "Always" pins live in `smtpmail-native-pinned-certificates'
;; (saved with Customize), "once" pins in this Emacs session only.  This
;; file owns the pins, the words for a certificate the module refused
;; (the facts come as data: :verify-error, :certificate, :fingerprint),
;; and the question the Network Security Manager would ask.  No network
;; and no module here: the send core and the commands bring the facts.

;;; Code:

(require 'cl-lib)
(require 'subr-x)

(defvar smtpmail-native-pinned-certificates)

(defvar smtpmail-native-trust--session-pins nil
  "Pins accepted \"once\": an alist (\"HOST:PORT\" . SHA256-HEX), this session only.")

;;;; Pins

(defun smtpmail-native-trust--key (host port)
  "Return the pin key \"HOST:PORT\" for HOST and PORT."
  (format "%s:%s" host port))

(defun smtpmail-native-trust--normalize (fingerprint)
  "Return FINGERPRINT as lowercase hex without colons, or nil."
  (and (stringp fingerprint)
       (downcase (replace-regexp-in-string "[: ]" "" fingerprint))))

(defun smtpmail-native-trust--pin (host port)
  "Return the pinned SHA-256 fingerprint of HOST and PORT, or nil.
`smtpmail-native-pinned-certificates' first, then this session's pins."
  (let ((key (smtpmail-native-trust--key host port)))
    (or (cdr (assoc key smtpmail-native-pinned-certificates))
        (cdr (assoc key smtpmail-native-trust--session-pins)))))

(defun smtpmail-native-trust--add-pin (host port fingerprint how)
  "Trust FINGERPRINT for HOST and PORT; HOW is `always' or `session'.
`always' saves `smtpmail-native-pinned-certificates' with Customize."
  (let ((key (smtpmail-native-trust--key host port))
        (fingerprint (smtpmail-native-trust--normalize fingerprint)))
    (if (eq how 'always)
        (customize-save-variable
         'smtpmail-native-pinned-certificates
         (cons (cons key fingerprint)
               (cl-remove key smtpmail-native-pinned-certificates :key #'car :test #'equal)))
      (setf (alist-get key smtpmail-native-trust--session-pins nil nil #'equal) fingerprint))))

;;;; Words

(defconst smtpmail-native-trust--reasons
  '((self-signed . "The certificate is self-signed: nobody vouches for it but the server itself.")
    (unknown-issuer . "The certificate was issued by an authority this Emacs does not trust.")
    (expired . "The certificate has expired.")
    (not-yet-valid . "The certificate is not valid yet.")
    (hostname-mismatch . "The certificate was issued for a different host name.")
    (revoked . "The certificate has been revoked.")
    (pin-mismatch . "The certificate is NOT the one you pinned: it changed since you trusted it.")
    (other . "The certificate could not be verified."))
  "The plain words for each :verify-error of the module.")

(defun smtpmail-native-trust--reason (verify-error)
  "Return the sentence for the module's VERIFY-ERROR symbol."
  (or (alist-get verify-error smtpmail-native-trust--reasons)
      (alist-get 'other smtpmail-native-trust--reasons)))

(defun smtpmail-native-trust--fingerprint (facts)
  "Return the SHA-256 fingerprint in FACTS (a report or an error plist)."
  (or (plist-get facts :fingerprint)
      (plist-get (plist-get facts :certificate) :sha256)))

(defun smtpmail-native-trust--describe-certificate (cert &optional indent)
  "Return the lines describing CERT (a plist of the module), INDENT spaces in."
  (let ((pad (make-string (or indent 2) ?\s)))
    (mapconcat (lambda (row)
                 (format "%s%-12s %s\n" pad (car row) (or (cdr row) "?")))
               `(("Subject:" . ,(plist-get cert :subject))
                 ("Issued by:" . ,(plist-get cert :issuer))
                 ("Valid:" . ,(format "from %s to %s" (plist-get cert :not-before)
                                      (plist-get cert :not-after)))
                 ("SHA-256:" . ,(plist-get cert :sha256)))
               "")))

(defun smtpmail-native-trust--setting (host port fingerprint)
  "Return the Lisp form that pins FINGERPRINT for HOST and PORT, as text."
  (format "(add-to-list 'smtpmail-native-pinned-certificates '(%S . %S))"
          (smtpmail-native-trust--key host port)
          (smtpmail-native-trust--normalize fingerprint)))

(defun smtpmail-native-trust--refusal (host port facts)
  "Return what to tell the user when HOST:PORT's certificate is not trusted.
FACTS is the module's plist (:verify-error, :certificate, :fingerprint):
the reason in words, the fingerprint and how to trust it, or, for a
changed pinned certificate, that it changed."
  (let ((reason (plist-get facts :verify-error))
        (fingerprint (smtpmail-native-trust--fingerprint facts)))
    (if (eq reason 'pin-mismatch)
        (format "the certificate of %s:%s CHANGED: it is not the pinned one (%s); it now has \
SHA-256 %s.  If you expected the change, check it with M-x smtpmail-native-check-server \
and replace the entry in `smtpmail-native-pinned-certificates'"
                host port (smtpmail-native-trust--pin host port) fingerprint)
      (format "the certificate of %s:%s is not trusted: %s  Its SHA-256 fingerprint is %s.  To \
trust it, look at it with M-x smtpmail-native-check-server, or add it with %s"
              host port (smtpmail-native-trust--reason reason) fingerprint
              (smtpmail-native-trust--setting host port fingerprint)))))

;;;; The question

(defun smtpmail-native-trust--can-ask-p ()
  "Non-nil when there is a user to ask (not in batch)."
  (not noninteractive))

(defun smtpmail-native-trust--query (host port facts)
  "Ask whether to trust HOST:PORT's certificate described by FACTS.
Show what the Network Security Manager shows (the reason in words,
subject, issuer, validity, SHA-256 fingerprint) and ask \"always\",
\"session only\" or \"no\".  Return `always' or `session' after
storing the pin, nil for no.  A pin mismatch is never asked about."
  (let ((fingerprint (smtpmail-native-trust--fingerprint facts))
        (reason (plist-get facts :verify-error)))
    (when (and fingerprint reason (not (eq reason 'pin-mismatch))
               (smtpmail-native-trust--can-ask-p))
      (let ((buffer (get-buffer-create "*smtpmail-native certificate*"))
            answer)
        (save-window-excursion
          (with-current-buffer buffer
            (let ((inhibit-read-only t))
              (erase-buffer)
              (insert (format "The TLS connection to %s:%s is insecure\nfor the following reason:\n\n"
                              host port)
                      (smtpmail-native-trust--reason reason) "\n\n"
                      (propertize "Certificate information" 'face 'underline) "\n"
                      (smtpmail-native-trust--describe-certificate (plist-get facts :certificate))
                      "\n\"always\" pins this certificate for " host ":" (format "%s" port)
                      " in `smtpmail-native-pinned-certificates':\nthat server is then trusted \
by this fingerprint alone, and a different\ncertificate is refused.\n")
              (goto-char (point-min))
              (special-mode)))
          (pop-to-buffer buffer)
          (setq answer
                (condition-case nil
                    (car (read-multiple-choice
                          "Continue connecting?"
                          '((?a "always" "Trust this certificate now and in future sessions.")
                            (?s "session only" "Trust this certificate this session only.")
                            (?n "no" "Refuse the certificate and do not send."))))
                  (quit ?n))))
        (kill-buffer buffer)
        (pcase answer
          (?a (smtpmail-native-trust--add-pin host port fingerprint 'always)
              (message "Permanently trusting the certificate of %s:%s" host port)
              'always)
          (?s (smtpmail-native-trust--add-pin host port fingerprint 'session)
              (message "Trusting the certificate of %s:%s this session only" host port)
              'session)
          (_ (message "Not trusting the certificate of %s:%s" host port)
             nil))))))

(provide 'smtpmail-native-trust)

;;; smtpmail-native-trust.el ends here
