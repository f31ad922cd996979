;;; smtpmail-native-setup.el --- M-x smtpmail-native-setup: a guided first configuration  -*- lexical-binding: t; -*-

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

;; `smtpmail-native-setup' asks for the address, proposes the server
;; (from the domain; editable), probes implicit TLS and STARTTLS ports
;; and picks the secure one that works, offers to trust an untrusted
;; certificate (as a send would), asks the password and tests the login,
;; stores the secret with auth-source, saves smtpmail's settings with
;; Customize, makes smtpmail-native the mail sender if the user agrees,
;; and sends a test mail to the user's own address if they want.  Every
;; question goes through `smtpmail-native-setup--ask', which takes its
;; answers from `smtpmail-native-setup--answers' when that is set (tests).

;;; Code:

(require 'cl-lib)
(require 'subr-x)
(require 'smtpmail)
(require 'auth-source)
(require 'smtpmail-native-dropin)      ; and through it -trust, -config and -send

(defvar message-send-mail-function)
(defvar smtpmail-auth-credentials)
(defvar smtpmail-native-timeout)

(defvar smtpmail-native-setup-ports '((465 . ssl) (587 . starttls) (25 . starttls))
  "The ports `smtpmail-native-setup' tries, in order, with their stream types.
The first one whose connection is encrypted wins.")

(defvar smtpmail-native-setup-probe-timeout 10
  "Seconds `smtpmail-native-setup' waits for each port it tries.")

(defvar smtpmail-native-setup--answers nil
  "Canned answers for `smtpmail-native-setup', in the order it asks, or nil.
While non-nil, each question takes the next answer from this list
instead of asking (for tests and scripted setups).")

(defun smtpmail-native-setup--ask (kind prompt &optional default)
  "Ask PROMPT; KIND is `string', `password' or `yes-no'; DEFAULT for strings.
With `smtpmail-native-setup--answers', return the next canned answer."
  (if smtpmail-native-setup--answers
      (pop smtpmail-native-setup--answers)
    (pcase kind
      ('string (read-string (if default (format "%s (default %s): " prompt default)
                              (concat prompt ": "))
                            nil nil default))
      ('password (read-passwd (concat prompt ": ")))
      ('yes-no (y-or-n-p (concat prompt "? "))))))

(defun smtpmail-native-setup--session (host port type &optional user password)
  "Return a session plist for HOST, PORT and stream TYPE, with USER and PASSWORD."
  (let ((smtpmail-smtp-server host)
        (smtpmail-smtp-service port)
        (smtpmail-stream-type type)
        (smtpmail-smtp-user user)
        (smtpmail-servers-requiring-authorization nil)
        (smtpmail-auth-credentials (and user (list (list host port user password))))
        (auth-sources nil))
    (smtpmail-native--session)))

(defun smtpmail-native-setup--probe-ports (host)
  "Try `smtpmail-native-setup-ports' of HOST; return (PORT TYPE INFO) or nil.
The first port whose connection is encrypted wins; an untrusted
certificate still counts (the user is asked about it next)."
  (cl-loop for (port . type) in smtpmail-native-setup-ports
           for info = (progn
                        (message "Trying %s port %d (%s)..." host port type)
                        (condition-case err
                            (let ((smtpmail-native-timeout smtpmail-native-setup-probe-timeout))
                              (smtpmail-native--probe (smtpmail-native-setup--session host port type)
                                                      :untrusted-ok t))
                          (smtpmail-native-error
                           (message "%s port %d: %s" host port (smtpmail-native--failure-text err))
                           nil)))
           when (plist-get info :tls-version)
           return (list port type info)))

(defun smtpmail-native-setup--store-secret (host port user password)
  "Store USER's PASSWORD for HOST and PORT with auth-source; return the file.
The first writable source of `auth-sources' is used (a .gpg file is
encrypted when written)."
  (let* ((file (cl-find-if #'stringp auth-sources))
         (auth-source-save-behavior t)
         (auth-sources (and file (list file))))
    (unless file
      (user-error "No file in `auth-sources' to store the password in"))
    (auth-source-forget+ :host host :port (format "%s" port))
    (let ((entry (car (auth-source-search :host host :port (format "%s" port) :user user
                                          :secret password :create t :max 1))))
      (when-let ((save (plist-get entry :save-function)))
        (funcall save)))
    file))

(defun smtpmail-native-setup--save (variable value)
  "Set VARIABLE to VALUE and save it with Customize."
  (customize-save-variable variable value))

(defun smtpmail-native-setup--test-mail (address)
  "Send a test mail to ADDRESS, from ADDRESS, with the saved settings."
  (with-temp-buffer
    (insert "From: " address "\nTo: " address
            "\nSubject: smtpmail-native test\n" mail-header-separator
            "\nThis is the test mail of M-x smtpmail-native-setup.\n")
    (let ((user-mail-address address))
      (smtpmail-native-send-it))))

;;;###autoload (autoload 'smtpmail-native-setup "smtpmail-native" nil t)
(defun smtpmail-native-setup ()
  "Configure sending mail with smtpmail-native, step by step.
Ask the address and the server, find the secure port that works,
offer to trust an untrusted certificate, test the login, store the
password with auth-source, save the settings with Customize, and
optionally make smtpmail-native the mail sender and send a test mail."
  (interactive)
  (smtpmail-native--ensure-module)
  (let* ((address (smtpmail-native-setup--ask 'string "Your e-mail address" user-mail-address))
         (domain (if (string-match "@\\(.+\\)\\'" address) (match-string 1 address)
                   (user-error "Not an e-mail address: %s" address)))
         (host (smtpmail-native-setup--ask 'string "SMTP server" (concat "smtp." domain)))
         (found (or (smtpmail-native-setup--probe-ports host)
                    (user-error "No encrypted SMTP port answered on %s (tried %s): \
check the server name, or use M-x smtpmail-native-check-server with a prefix argument"
                                host (mapconcat (lambda (p) (format "%d" (car p)))
                                                smtpmail-native-setup-ports ", "))))
         (port (nth 0 found))
         (type (nth 1 found))
         (info (nth 2 found)))
    (message "Port %d (%s) works, %s" port type (plist-get info :tls-version))
    (unless (plist-get info :verified)
      (unless (smtpmail-native-trust--query host port info)
        (user-error "%s" (smtpmail-native-trust--refusal host port info))))
    (let* ((user (smtpmail-native-setup--ask 'string "User name" address))
           (password (smtpmail-native-setup--ask 'password (format "Password of %s" user)))
           (login (let ((smtpmail-native-timeout smtpmail-native-setup-probe-timeout))
                    (smtpmail-native--probe (smtpmail-native-setup--session host port type user password)
                                            :login-only t))))
      (unless (plist-get login :auth)
        (user-error "The login failed: %s"
                    (smtpmail-native--failure-text
                     (smtpmail-native--error-with (plist-get login :auth-error)
                                                  :user user :credential-source 'prompt
                                                  :host host :port port))))
      (message "Logged in as %s with %s" user (upcase (format "%s" (plist-get login :auth))))
      (let ((file (smtpmail-native-setup--store-secret host port user password)))
        (message "Password stored in %s" (abbreviate-file-name file)))
      (pcase-dolist (`(,var . ,value) `((smtpmail-smtp-server . ,host) (smtpmail-smtp-service . ,port)
                                        (smtpmail-stream-type . ,type) (smtpmail-smtp-user . ,user)))
        (smtpmail-native-setup--save var value))
      (unless (equal user-mail-address address)
        (smtpmail-native-setup--save 'user-mail-address address))
      (when (smtpmail-native-setup--ask 'yes-no "Send all mail with smtpmail-native")
        (smtpmail-native-setup--save 'send-mail-function #'smtpmail-native-send-it)
        (smtpmail-native-setup--save 'message-send-mail-function #'smtpmail-native-send-it))
      (when (smtpmail-native-setup--ask 'yes-no (format "Send a test mail to %s" address))
        (smtpmail-native-setup--test-mail address)
        (message "Test mail sent to %s" address))
      (message "smtpmail-native is set up for %s via %s:%d (%s)" address host port type))))

(provide 'smtpmail-native-setup)

;;; smtpmail-native-setup.el ends here
