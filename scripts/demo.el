;;; demo.el --- What scripts/demo runs inside Emacs  -*- lexical-binding: t; -*-

;;; Commentary:
;; Loads smtpmail-native and shows its primitives next to Emacs's own.

;;; Code:

(require 'smtpmail-native)
(require 'rfc2104)
(require 'sasl-cram)

(let* ((challenge "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+")
       (native (smtpmail-native-cram-md5-response "tim" "tanstaaftanstaaf" challenge))
       (decoded (smtpmail-native-base64-decode native)))
  (princ (format "smtpmail-native module %s loaded from %s\n\n"
                 (smtpmail-native-version) (smtpmail-native-module-file-name)))
  (princ "CRAM-MD5 (RFC 2195 example)\n")
  (princ (format "  S: 334 %s\n" challenge))
  (princ (format "      = %s\n" (smtpmail-native-base64-decode challenge)))
  (princ (format "  C: %s\n" native))
  (princ (format "      = %s\n" decoded))
  (princ (format "  RFC 2195 expects: %s\n\n"
                 (if (equal native "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw")
                     "match" "MISMATCH"))))

(let ((native (smtpmail-native-hmac-md5 "Jefe" "what do ya want for nothing?"))
      (lisp (rfc2104-hash 'md5 64 16 "Jefe" "what do ya want for nothing?")))
  (princ "HMAC-MD5 (RFC 2202 case 2)\n")
  (princ (format "  smtpmail-native: %s\n  rfc2104.el:      %s\n  %s\n"
                 native lisp (if (equal native lisp) "agree" "DISAGREE"))))

(condition-case err
    (smtpmail-native-base64-decode "dGlt IGI5")
  (smtpmail-native-decode-error
   (princ (format "\nStrict base64: %S\n  signals %S\n" "dGlt IGI5" err))))

;;; demo.el ends here
