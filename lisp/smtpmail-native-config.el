;;; smtpmail-native-config.el --- Which server, which account, which credentials  -*- lexical-binding: t; -*-

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

;; The configuration of one send, from what smtpmail users already set:
;; an X-Message-SMTP-Method header or `smtpmail-native-accounts' choose
;; the server (as variable bindings over smtpmail's own variables), the
;; message buffer gives the envelope sender and the bytes, and
;; `smtpmail-auth-credentials' or auth-source give the credentials.
;; `smtpmail-native--session' turns all of it into one plist that the
;; send core makes module arguments of.  No network, no module here.

;;; Code:

(require 'smtpmail)
(require 'auth-source)
(require 'network-stream)
(require 'password-cache)
(require 'cl-lib)
(require 'subr-x)
(require 'smtpmail-native-sasl)

;; As smtpmail.el does for `message-narrow-to-headers': message.el loads on first use.
(autoload 'message-narrow-to-headers-or-head "message")

;; smtpmail removed this variable in Emacs 24; users of the original
;; CRAM-MD5 patch still set it, and this package reads it again.
(defvar smtpmail-auth-credentials)
(defvar smtpmail-native-accounts)

(defvar smtpmail-native--account-trust-file nil
  "The :trust-file of the account chosen for this send, or nil.")

(defvar smtpmail-native--account-fingerprint nil
  "The :fingerprint of the account chosen for this send, or nil.")

(defvar smtpmail-native--method-header nil
  "Non-nil when an X-Message-SMTP-Method header already chose the server.")

;;;; The message in the current buffer

(defun smtpmail-native--envelope-from ()
  "Return the envelope sender for the message in this buffer.
The order of `smtpmail-via-smtp': `smtpmail-mail-address', the
address `mail-specify-envelope-from' asks for, the From address,
`user-mail-address' when it looks like an address."
  (save-restriction
    (message-narrow-to-headers-or-head)
    (or smtpmail-mail-address
        (and mail-specify-envelope-from (mail-envelope-from))
        (let ((from (mail-fetch-field "from")))
          (and from (cadr (mail-extract-address-components from))))
        (smtpmail-user-mail-address))))

(defvar smtpmail-native--body nil
  "The body of the message being sent, left out of its preparation, or nil.
While `smtpmail-native-send-it' runs: (BUFFER START END), the text after
the header separator of the mail buffer, which `smtpmail-send-it' was
not given: the message it prepared (the headers) is followed by this
text, and by a newline when the text does not end with one.")

(defun smtpmail-native--piece (start end coding)
  "Return the text from START to END in this buffer as a piece of the message.
That is (BUFFER START END) when the text is its own bytes: a unibyte
buffer, or ASCII text, which CODING (`smtpmail-code-conv-from') leaves
as it is when it is nil or ASCII-compatible.  Otherwise the bytes, a
unibyte string: the text encoded with CODING, or as raw text."
  (if (or (not enable-multibyte-characters)
          (and (= (- end start) (- (position-bytes end) (position-bytes start)))
               (or (null coding) (coding-system-get coding :ascii-compatible-p))))
      (list (current-buffer) start end)
    (encode-coding-string (buffer-substring-no-properties start end)
                          (if coding (coding-system-change-eol-conversion coding 'unix)
                            'raw-text-unix))))

(defun smtpmail-native--message-pieces ()
  "Return this buffer's message as the pieces to send, in order.
Each is a unibyte string or (BUFFER START END), text that is its own
bytes (see `smtpmail-native--piece'): this buffer, then the text of
`smtpmail-native--body' and the newline it may need."
  (let ((coding smtpmail-code-conv-from))
    (cons (smtpmail-native--piece (point-min) (point-max) coding)
          (pcase smtpmail-native--body
            (`(,buffer ,start ,end)
             (with-current-buffer buffer
               (cons (smtpmail-native--piece start end coding)
                     (unless (eq (char-before end) ?\n)
                       (list (if (or (null coding) (coding-system-get coding :ascii-compatible-p))
                                 "\n"
                               (encode-coding-string
                                "\n" (coding-system-change-eol-conversion coding 'unix))))))))))))

(defun smtpmail-native--piece-size (piece)
  "Return the number of bytes of PIECE (see `smtpmail-native--message-pieces')."
  (if (stringp piece) (string-bytes piece) (- (nth 2 piece) (nth 1 piece))))

(defun smtpmail-native--message-bytes ()
  "Return this buffer's message as the bytes `smtpmail-send-data' would send.
Text is encoded with `smtpmail-code-conv-from' when set (the coding
system `smtpmail-send-it' selected), else as raw text.  ASCII-only
text, which no such encoding changes, is returned as it is."
  (let ((pieces (smtpmail-native--message-pieces)))
    (cond ((cdr pieces)
           (with-temp-buffer
             (set-buffer-multibyte nil)
             (dolist (piece pieces)
               (if (stringp piece) (insert piece) (apply #'insert-buffer-substring piece)))
             (buffer-substring-no-properties (point-min) (point-max))))
          ((stringp (car pieces)) (car pieces))
          (t (buffer-substring-no-properties (point-min) (point-max))))))

(defun smtpmail-native--header (name)
  "Return the header NAME of the message in this buffer, or nil."
  (save-restriction
    (message-narrow-to-headers-or-head)
    (mail-fetch-field name)))

(defun smtpmail-native--queue-variables ()
  "Return the (VARIABLE . VALUE) pairs to store with a queued message.
Like `smtpmail-send-it': the recipients always, the server settings
with `smtpmail-store-queue-variables'.  The envelope sender is stored
too; `smtpmail-send-queued-mail' ignores what it does not know."
  (append (and smtpmail-store-queue-variables
               (mapcar (lambda (var) (cons var (symbol-value var)))
                       (append smtpmail--stored-queue-variables '(smtpmail-auth-supported))))
          (list (cons 'smtpmail-mail-address (smtpmail-native--envelope-from)))))

;;;; Which server: X-Message-SMTP-Method, then `smtpmail-native-accounts'

(defun smtpmail-native--settings ()
  "Return the variable bindings that choose the server for this buffer.
An X-Message-SMTP-Method header (removed here) comes first, then the
first of `smtpmail-native-accounts' matching the envelope sender."
  (let ((method (smtpmail-native--header "X-Message-SMTP-Method")))
    (cond (method
           (smtpmail-native--remove-header "X-Message-SMTP-Method")
           (smtpmail-native--method-settings method))
          (smtpmail-native--method-header nil)
          (t (smtpmail-native--account-settings (smtpmail-native--envelope-from))))))

(defun smtpmail-native--remove-header (name)
  "Delete the header NAME, with its continuation lines, from this buffer."
  (save-excursion
    (save-restriction
      (message-narrow-to-headers-or-head)
      (goto-char (point-min))
      (let ((case-fold-search t))
        (while (re-search-forward (concat "^" (regexp-quote name) ":.*\n\\([ \t].*\n\\)*") nil t)
          (replace-match ""))))))

(defun smtpmail-native--method-settings (method)
  "Return the bindings for an X-Message-SMTP-Method header value METHOD.
This is `message-multi-smtp-send-mail''s reading of \"smtp HOST PORT
USER\", which message.el keeps inline and so cannot be called."
  (let ((parts (split-string method)))
    (unless (and (equal (car parts) "smtp") (nth 1 parts))
      (error "X-Message-SMTP-Method %s: smtpmail-native-send-it sends only \"smtp HOST PORT [USER]\""
             method))
    (let* ((service (or (nth 2 parts) (format "%s" smtpmail-smtp-service)))
           (port (string-to-number service)))
      `((smtpmail-store-queue-variables . t)
        (smtpmail-smtp-server . ,(nth 1 parts))
        (smtpmail-stream-type . ,(if (= port 465) 'tls smtpmail-stream-type))
        (smtpmail-smtp-service . ,(if (> port 0) port service))
        (smtpmail-smtp-user . ,(or (nth 3 parts) smtpmail-smtp-user))))))

(defun smtpmail-native--account (address)
  "Return the first element of `smtpmail-native-accounts' matching ADDRESS."
  (and address
       (cl-find-if (lambda (account)
                     (let ((match (car account)))
                       (if (functionp match)
                           (funcall match address)
                         (let ((case-fold-search t))
                           (string-match-p match address)))))
                   smtpmail-native-accounts)))

(defun smtpmail-native--account-settings (address)
  "Return the bindings of the account for ADDRESS, or nil."
  (when-let ((plist (cdr (smtpmail-native--account address))))
    (cons '(smtpmail-store-queue-variables . t)
          (cl-loop for (key var) in '((:server smtpmail-smtp-server)
                                      (:port smtpmail-smtp-service)
                                      (:stream-type smtpmail-stream-type)
                                      (:user smtpmail-smtp-user)
                                      (:mechanisms smtpmail-auth-supported)
                                      (:trust-file smtpmail-native--account-trust-file)
                                      (:fingerprint smtpmail-native--account-fingerprint))
                   when (plist-member plist key)
                   collect (cons var (plist-get plist key))))))

;;;; Credentials: `smtpmail-auth-credentials', then auth-source

(defun smtpmail-native--secret (secret)
  "Return SECRET, calling it first when it is a function."
  (if (functionp secret) (funcall secret) secret))

(defun smtpmail-native--prompted-password (user host port)
  "Return a function asking for USER's password on HOST and PORT once.
The answer is kept in the password cache after a successful AUTH,
as smtpmail did when `smtpmail-auth-credentials' had no password."
  (let ((key (format "smtp:%s:%s:%s" host port user)))
    (list :password (lambda ()
                      (password-read (format "SMTP password for %s@%s: " user host) key))
          :remember (lambda (password) (password-cache-add key password))
          :forget (lambda () (password-cache-remove key)))))

(defun smtpmail-native--list-credentials (entries host port)
  "Return credentials for HOST and PORT from ENTRIES, or nil.
ENTRIES is the list form of `smtpmail-auth-credentials': elements
\(SERVER PORT USER PASSWORD), PORT a number or a string, PASSWORD a
string, a function returning one, or nil to ask."
  (when-let ((entry (cl-find-if (lambda (cred)
                                  (and (equal (smtpmail-cred-server cred) host)
                                       (equal (format "%s" (smtpmail-cred-port cred))
                                              (format "%s" port))))
                                entries)))
    (let ((user (smtpmail-cred-user entry))
          (password (smtpmail-cred-passwd entry)))
      (append (if password
                  (list :user user :password (lambda () (smtpmail-native--secret password)))
                (cons :user (cons user (smtpmail-native--prompted-password user host port))))
              (list :source (if password 'smtpmail-auth-credentials 'prompt))))))

(defun smtpmail-native--auth-source-credentials (host port ask &optional file)
  "Search auth-source for HOST and PORT the way `smtpmail-try-auth-methods' does.
ASK non-nil requires a user and secret and may create them (prompting).
With FILE, search only that netrc/authinfo file (.gpg included)."
  (let* ((auth-sources (if file (list file) auth-sources))
         (auth-source-creation-prompts '((user . "SMTP user name for %h: ")
                                         (secret . "SMTP password for %u@%h: ")))
         (ask (and ask (not file)))
         ;; :source keeps a file's answers apart in auth-source's cache.
         (spec (append (list :host host :port port :user smtpmail-smtp-user :max 1)
                       (and file (list :source file))))
         (info (car (apply #'auth-source-search
                           (append spec (and ask (list :require '(:user :secret) :create t))))))
         (user (plist-get info :user))
         (secret (plist-get info :secret))
         (save (and ask (plist-get info :save-function)))
         (credentials (list :user user
                            ;; A secret with a save function was just asked for.
                            :source (cond (file (list 'file file))
                                          ((and secret (not save)) 'auth-source)
                                          (t 'prompt))
                            :mechanism (plist-get info :smtp-auth)
                            :forget (lambda () (auth-source-forget+ :host host :port port)))))
    (cond ((not user) nil)
          (secret
           (append (list :password (lambda () (smtpmail-native--secret secret))
                         :remember (and save (lambda (_) (funcall save))))
                   credentials))
          (file (append (cdr (smtpmail-native--prompted-password user host port)) credentials))
          (t
           ;; A user without a secret: ask for the secret, as smtpmail does,
           ;; but only once a mechanism needs it.
           (append
            (list :password
                  (lambda ()
                    (let ((info (car (auth-source-search :max 1 :host host :port port
                                                         :user smtpmail-smtp-user
                                                         :require '(:user :secret)
                                                         :create t))))
                      (setq save (plist-get info :save-function))
                      (smtpmail-native--secret (plist-get info :secret))))
                  :remember (lambda (_) (when save (funcall save))))
            credentials)))))

(defun smtpmail-native--credentials (host port ask)
  "Return the credentials for HOST and PORT as a plist, or nil.
`smtpmail-auth-credentials' wins when it matches the server; else
auth-source is searched as smtpmail does (ASK as in smtpmail).  Keys:
:user, :password (a function, called only when a mechanism needs the
secret), :mechanism (auth-source's smtp-auth), :source (where they came from:
`smtpmail-auth-credentials', `auth-source', (file FILE) or `prompt'),
:remember (called with the password after a successful AUTH) and
:forget (after a failed one)."
  (let ((creds (bound-and-true-p smtpmail-auth-credentials))
        (port (if port (format "%s" port) "smtp")))
    (or (and (consp creds) (smtpmail-native--list-credentials creds host port))
        (and (stringp creds)
             (smtpmail-native--auth-source-credentials host port nil (expand-file-name creds)))
        (smtpmail-native--auth-source-credentials host port ask))))

;;;; One session

(defun smtpmail-native--credential-source-text (source host port user)
  "Return where credentials from SOURCE for USER on HOST:PORT came from, in words.
SOURCE is the :source of `smtpmail-native--credentials'.  For
`auth-source' the file is found by searching each of `auth-sources'."
  (pcase source
    ('smtpmail-auth-credentials "`smtpmail-auth-credentials'")
    ('prompt "the password prompt")
    (`(file ,file) (format "the file %s (`smtpmail-auth-credentials')" (abbreviate-file-name file)))
    ('auth-source
     (let ((found (cl-find-if
                   (lambda (src)
                     (let ((auth-sources (list src)))
                       (auth-source-search :host host :port (format "%s" port) :user user :max 1)))
                   auth-sources)))
       (if (stringp found)
           (format "auth-source (%s)" (abbreviate-file-name found))
         (format "auth-source (`auth-sources': %S)" (or found auth-sources)))))
    (_ "nowhere: no user name is configured")))

(defun smtpmail-native--client-certificate (host port)
  "Return (:client-cert CERT :client-key KEY) for HOST and PORT, or nil.
As smtpmail does (it opens its connection with :client-certificate t),
the certificate comes from the auth-source entry of the server, its
\"key\" and \"cert\" fields: `network-stream-certificate' reads them.
With it the server can ask for a certificate, and EXTERNAL can log in."
  (pcase (network-stream-certificate host (or port "smtp") '(:client-certificate t))
    (`(,key ,cert) (list :client-cert (expand-file-name cert) :client-key (expand-file-name key)))))

(defun smtpmail-native--session (&optional ask)
  "Return the session smtpmail's variables, as bound now, describe.
ASK non-nil means a password may be asked for even when
`smtpmail-servers-requiring-authorization' does not name the server
\(smtpmail's retry after a 530).  The plist has :host, :port,
:stream-type, :helo, the SASL keywords of `smtpmail-native-sasl-arguments'
\(:user, :password, :mechanisms, ...), :ask (whether a password may
be asked for), :credential-source (as :source of
`smtpmail-native--credentials'), :trust-file and :fingerprint (from the
account, when it sets them), :client-cert and :client-key (from the
server's auth-source entry, as smtpmail finds them), and :settle, a
function to call once the session ended with `accepted' when AUTH
succeeded (smtpmail saves the credentials then, even if the mail
fails), `refused' when the server
refused them (they are forgotten), or nil."
  (unless smtpmail-smtp-server
    (smtpmail-query-smtp-server))
  (let* ((host (or smtpmail-smtp-server (error "`smtpmail-smtp-server' not defined")))
         (ask (or ask (and smtpmail-servers-requiring-authorization
                           (string-match-p smtpmail-servers-requiring-authorization host))))
         (credentials (smtpmail-native--credentials host smtpmail-smtp-service ask))
         (user (plist-get credentials :user))
         (asked nil)
         (password (and credentials
                        (lambda ()
                          (setq asked (funcall (plist-get credentials :password)))
                          (unless (stringp asked)
                            (error "No SMTP password for %s@%s" user host))
                          asked))))
    (append (list :host host :port smtpmail-smtp-service
                  ;; smtpmail takes `tls' for `ssl'; the module knows `ssl'.
                  :stream-type (if (eq smtpmail-stream-type 'tls) 'ssl smtpmail-stream-type)
                  :helo (smtpmail-fqdn) :ask ask
                  :credential-source (plist-get credentials :source)
                  :settle (lambda (verdict)
                            (pcase verdict
                              ('accepted (when-let ((remember (plist-get credentials :remember)))
                                           (funcall remember asked)))
                              ('refused (when-let ((forget (plist-get credentials :forget)))
                                          (funcall forget))))
                            (setq asked nil)))
            (and smtpmail-native--account-trust-file
                 (list :trust-file (expand-file-name smtpmail-native--account-trust-file)))
            (and smtpmail-native--account-fingerprint
                 (list :fingerprint smtpmail-native--account-fingerprint))
            (smtpmail-native--client-certificate host smtpmail-smtp-service)
            (smtpmail-native-sasl-arguments
             host smtpmail-smtp-service user password
             (plist-get credentials :mechanism) smtpmail-auth-supported))))

(provide 'smtpmail-native-config)

;;; smtpmail-native-config.el ends here
