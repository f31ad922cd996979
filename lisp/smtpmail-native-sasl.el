;;; smtpmail-native-sasl.el --- SASL settings: OAuth tokens, SASLprep, mechanism lists  -*- lexical-binding: t; -*-

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

;; The Lisp side of authentication; the mechanisms themselves (SCRAM,
;; OAuth, DIGEST-MD5, ...) run in the module, which also owns the order
;; in which they are tried; Lisp passes only what the user asked for.
;;
;; OAuth 2 (XOAUTH2, OAUTHBEARER): set `smtpmail-native-oauth2-token-function'
;; to a function of (HOST PORT USER) returning an access token, e.g. one
;; built on auth-source-xoauth2 or oauth2.el.  With it, the module
;; tries the OAuth mechanisms first when the server offers them.  Without it, an
;; auth-source entry whose smtp-auth is xoauth2 (or oauthbearer) has the
;; token in its password field, as with smtpmail.
;;
;; SASLprep (RFC 4013) is the module's, whole: the user name and password
;; are passed as the user gave them.
;;
;; `smtpmail-native-scram-max-iterations' bounds the work a SCRAM server
;; can ask for.

;;; Code:

(require 'subr-x)

(defvar smtpmail-native-oauth2-token-function)
(defvar smtpmail-native-scram-max-iterations)

(defconst smtpmail-native-sasl--smtpmail-default '(cram-md5 plain login)
  "The default value of `smtpmail-auth-supported' in every Emacs since 22.")

(defun smtpmail-native-sasl-mechanisms (smtp-auth preference)
  "Return the :mechanisms for an auth-source SMTP-AUTH and the user's PREFERENCE.
SMTP-AUTH is a symbol, or a string naming one or more mechanisms
separated by spaces or commas; it wins when given.  PREFERENCE is
`smtpmail-auth-supported' (or an account's :mechanisms): an ordered
allow-list the user chose.  smtpmail's standard value, which the user
did not choose, is no preference: nil, and the module's own order
applies (the one owner of that order)."
  (cond ((null smtp-auth)
         (unless (equal preference smtpmail-native-sasl--smtpmail-default)
           preference))
        ((symbolp smtp-auth) (list smtp-auth))
        (t (mapcar #'intern (split-string (downcase smtp-auth) "[ ,]+" t)))))

(defun smtpmail-native-sasl-arguments (host port user password smtp-auth default-mechanisms)
  "Return the module's authentication keyword arguments as a plist.
HOST, PORT and USER identify the login; PASSWORD is a function
returning the password (or nil); SMTP-AUTH is the auth-source entry's
smtp-auth, DEFAULT-MECHANISMS what to allow without one.  The user
name and password go as they are (the module applies SASLprep); the
OAuth token comes from `smtpmail-native-oauth2-token-function' when
it is set."
  (append
   (list :user user
         :password password
         :mechanisms (smtpmail-native-sasl-mechanisms smtp-auth default-mechanisms))
   (and user smtpmail-native-oauth2-token-function
        (list :oauth2-token
              (lambda ()
                (or (funcall smtpmail-native-oauth2-token-function host port user)
                    (error "No OAuth 2 token for %s@%s" user host)))))
   (and smtpmail-native-scram-max-iterations
        (list :scram-max-iterations smtpmail-native-scram-max-iterations))))

(provide 'smtpmail-native-sasl)

;;; smtpmail-native-sasl.el ends here
