;;; smtpmail-native-dropin.el --- smtpmail-native-send-it, the drop-in for smtpmail-send-it  -*- lexical-binding: t; -*-

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

;; `smtpmail-native-send-it' runs Emacs's own `smtpmail-send-it', so the
;; message is prepared exactly as smtpmail prepares it (From, Message-Id,
;; Date, MIME, RFC 2047, aliases, Fcc, Bcc, Resent-*), with one change:
;; while it runs, `smtpmail-via-smtp' -- the function smtpmail calls to
;; talk SMTP -- is `smtpmail-native--via-smtp', which sends through the
;; module, hands the message to a background job, or writes the queue.
;; message.el's X-Message-SMTP-Method sends come here too.
;;
;; A body smtpmail would only copy (ASCII text, or a unibyte buffer's,
;; without Fcc) is not given to it: it prepares the headers, and the
;; body follows them as it is, written by Emacs into a memory file the
;; module maps.  A 10 MB message then blocks Emacs for milliseconds, not
;; the tens spent copying, scanning and collecting it.

;;; Code:

(require 'smtpmail)
(require 'cl-lib)
(require 'subr-x)
(require 'smtpmail-native-async)       ; and through it -config, -send and -queue

(defvar message-send-mail-function)
(defvar smtpmail-native-async)

(defvar smtpmail-native-send-delay)

(defvar smtpmail-native--queue-mail nil
  "The user's `smtpmail-queue-mail' while `smtpmail-native-send-it' runs.")

(defvar-local smtpmail-native--composed nil
  "The message as composed, when message.el sends it with a send delay.
Set in the composition buffer by `message-send-hook'; message.el copies
it (a local variable named smtp...) into the buffer it sends from.")

(defvar smtpmail-native--composition nil
  "While `smtpmail-native-send-it' runs: the message as composed, for an undo.
nil unless a background send is to wait `smtpmail-native-send-delay'.")

(defun smtpmail-native--remember-composition ()
  "Keep this buffer's text for `smtpmail-native-undo-send' (`message-send-hook')."
  (setq smtpmail-native--composed
        (and smtpmail-native-async (> smtpmail-native-send-delay 0)
             (buffer-substring-no-properties (point-min) (point-max)))))

(add-hook 'message-send-hook #'smtpmail-native--remember-composition)


;;;###autoload (autoload 'smtpmail-native-send-it "smtpmail-native")
(defun smtpmail-native-send-it ()
  "Send the current mail buffer like `smtpmail-send-it', natively.
The message is prepared by `smtpmail-send-it' itself (its headers
only, when the body is ASCII or unibyte and there is no Fcc: the
body follows them as it is), then sent
through the smtpmail-native module (or queued, with
`smtpmail-queue-mail').  smtpmail's variables apply, and so do
`smtpmail-auth-credentials', auth-source and `smtpmail-native-accounts'.
A failure signals an error \"Sending failed: ...\" as smtpmail does;
the mail buffer is left as it was.
Use it as `send-mail-function' and `message-send-mail-function'."
  (let* ((smtpmail-native--queue-mail smtpmail-queue-mail)
         (smtpmail-queue-mail nil)
         ;; message.el sends from a copy; sendmail.el from the mail buffer itself.
         (smtpmail-native--composition
          (and smtpmail-native-async (> smtpmail-native-send-delay 0)
               (or smtpmail-native--composed
                   (buffer-substring-no-properties (point-min) (point-max)))))
         (body (smtpmail-native--separate-body))
         (smtpmail-native--body (and body (list (current-buffer) (car body) (cdr body)))))
    (save-restriction
      ;; smtpmail-send-it copies, scans and encodes what it is given: the headers will do.
      (when body (narrow-to-region (point-min) (car body)))
      (cl-letf (((symbol-function 'smtpmail-via-smtp) #'smtpmail-native--via-smtp))
        (smtpmail-send-it)))))

(defun smtpmail-native--separate-body ()
  "Return (START . END) of the body `smtpmail-send-it' can do without, or nil.
That is the text after the header separator line, when smtpmail would
only copy it: it is ASCII, or in a unibyte buffer, so it changes
neither the coding system smtpmail chooses nor whether it adds a MIME
header, and there is no Fcc header to copy it to a file.  nil when
the body is empty or there is no separator before the first empty line."
  (save-excursion
    (goto-char (point-min))
    (when (and (not (string-empty-p mail-header-separator))
               (let ((case-fold-search nil))
                 (re-search-forward (concat "^\\(?:" (regexp-quote mail-header-separator) "\\)?$")
                                    nil t))
               (< (match-beginning 0) (match-end 0)) ; the separator, not an empty line
               (eq (char-after) ?\n))
      (let ((start (1+ (point)))
            (end (point-max)))
        (and (< start end)
             (or (not enable-multibyte-characters)
                 (= (- end start) (- (position-bytes end) (position-bytes start))))
             (progn (goto-char (point-min))
                    (let ((case-fold-search t))
                      (not (re-search-forward "^Fcc:" start t))))
             (cons start end))))))

(defun smtpmail-native--via-smtp (recipients buffer &rest _)
  "Send or queue BUFFER for RECIPIENTS; stands in for `smtpmail-via-smtp'.
`smtpmail-send-it' calls it with the prepared message.  Return nil
on success; signal \"Sending failed: ...\" otherwise, without the
AUTH truncation smtpmail applies (no secret reaches the message).
When the server may have the message (the connection ended after it
was sent, before the verdict), it is also held in the queue, where a
flush leaves it alone.  \\[keyboard-quit] is passed on as a quit."
  (when smtpmail-native--body
    ;; The mail buffer as it was, while a password may be asked for.
    (with-current-buffer (car smtpmail-native--body)
      (narrow-to-region (point-min) (nth 2 smtpmail-native--body))))
  (with-current-buffer buffer
    (let ((settings (smtpmail-native--settings)))
      (cl-progv (mapcar #'car settings) (mapcar #'cdr settings)
        (cond
         (smtpmail-native--queue-mail
          (smtpmail-native-queue--add (smtpmail-native--message-bytes) recipients
                                      (smtpmail-native--queue-variables))
          (smtpmail-native--say-queued recipients))
         (smtpmail-native-async
          (smtpmail-native-async--submit recipients nil smtpmail-native--composition))
         (t
          (let ((message-id (smtpmail-native--header "message-id")))
            (condition-case err
                (smtpmail-native--run-after-send
                 message-id (smtpmail-native--deliver recipients buffer))
              (smtpmail-native-error
               (let* ((text (smtpmail-native--failure-text err))
                      (held (and (smtpmail-native--delivery-unknown-p err)
                                 (smtpmail-native--hold recipients text)))
                      (queued (and (not held) (smtpmail-native--offer-queue-p err text)
                                   (smtpmail-native--hold recipients text 'queue))))
                 (smtpmail-native--run-failure message-id err (or held queued))
                 (when (eq (car err) 'smtpmail-native-interrupted)
                   (signal 'quit nil))
                 (cond
                  (queued (smtpmail-native--say-queued recipients))
                  (held
                   (error (substitute-command-keys "Sending failed: %s; it is held in the queue \
as %s, and \\[smtpmail-native-send-queued-message] sends it again if it did not arrive")
                          text (file-name-nondirectory held)))
                  (t (error "Sending failed: %s" text))))))))))))
  nil)

(defun smtpmail-native--say-queued (recipients)
  "Say in the echo area that the mail to RECIPIENTS was queued, not sent."
  (let* ((n (length (smtpmail-native-queue--entries)))
         (text (format (substitute-command-keys "Queued mail to %s (%d message%s in the queue; \
\\[smtpmail-native-queue])")
                       (string-join recipients ", ") n (if (= n 1) "" "s"))))
    (smtpmail-native-async--say text)))

(defun smtpmail-native--hold (recipients reason &optional queue)
  "Queue this buffer's message for RECIPIENTS as held, for REASON; return the file.
With QUEUE, it is queued to be sent again by the next flush, not held."
  (let ((file (smtpmail-native-queue--add (smtpmail-native--message-bytes) recipients
                                          (let ((smtpmail-store-queue-variables t))
                                            (smtpmail-native--queue-variables)))))
    (smtpmail-native-queue--record-failure
     file (smtpmail-native-queue--read-variables (concat file ".el")) reason (not queue))
    file))

(defun smtpmail-native--offer-queue-p (err text)
  "Non-nil when the user wants the message ERR refused for now to be queued.
Asked only in an interactive Emacs, for a temporary failure (a 4xx
the brief retry did not get past); TEXT says what happened."
  (and (memq 'smtpmail-native-temporary-error (get (car err) 'error-conditions))
       (smtpmail-native-trust--can-ask-p)
       (y-or-n-p (format "The server refused the message for now (%s).  Queue it to send later? "
                         text))))

(defun smtpmail-native--message-sending-method (orig &rest args)
  "Around `message-smtpmail-send-it' (ORIG, with ARGS): send natively.
`message-multi-smtp-send-mail' calls `message-smtpmail-send-it' for an
X-Message-SMTP-Method \"smtp\" header, having bound smtpmail's server
variables.  When message.el sends with `smtpmail-native-send-it' (set
as `message-send-mail-function', or as `send-mail-function' which
message.el's default uses), send with it too."
  (if (not (eq (if (memq message-send-mail-function
                         '(message--default-send-mail-function message-use-send-mail-function))
                   send-mail-function
                 message-send-mail-function)
               #'smtpmail-native-send-it))
      (apply orig args)
    (run-hooks 'message-send-mail-hook)
    (let ((smtpmail-native--method-header t))
      (smtpmail-native-send-it))))

(advice-add 'message-smtpmail-send-it :around #'smtpmail-native--message-sending-method)

(provide 'smtpmail-native-dropin)

;;; smtpmail-native-dropin.el ends here
