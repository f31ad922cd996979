;;; smtpmail-native-queue-ui.el --- M-x smtpmail-native-queue: the queued mail, listed  -*- lexical-binding: t; -*-

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

;; A browser for smtpmail's mail queue (`smtpmail-queue-dir'), whoever
;; wrote it -- `smtpmail-send-it' or smtpmail-native: one row per
;; message with its date, sender, recipients, subject, size, failed
;; attempts and state (queued; held: delivery unknown; failed: the last
;; error).  From there a message is read, edited and sent again, deleted,
;; or sent now.  The files are read and written through
;; smtpmail-native-queue.el, in smtpmail's format, so Emacs's own
;; `smtpmail-send-queued-mail' can still send whatever is left.

;;; Code:

(require 'tabulated-list)
(require 'cl-lib)
(require 'subr-x)
(require 'mail-utils)
(require 'rfc2047)
(require 'mm-bodies)
(require 'mm-util)
(require 'smtpmail-native-queue)
(require 'smtpmail-native-flush)

(autoload 'message-mode "message" nil t)
(defvar message-send-actions)

(defconst smtpmail-native-queue-ui--buffer "*smtpmail-native queue*"
  "Name of the queue browser's buffer.")

;;;; One queued message, read

(defun smtpmail-native-queue-ui--read-bytes (file)
  "Return the bytes of the queued message FILE, as a unibyte string."
  (with-temp-buffer
    (set-buffer-multibyte nil)
    (let ((coding-system-for-read 'no-conversion))
      (insert-file-contents file))
    (buffer-string)))

(defun smtpmail-native-queue-ui--split (bytes)
  "Split the message BYTES into (HEADER . BODY), decoded for reading.
Header fields are decoded as RFC 2047 says; the body is decoded
as `undecided', the way smtpmail wrote it (already MIME-encoded)."
  (let* ((end (string-search "\n\n" bytes))
         (header (decode-coding-string (if end (substring bytes 0 (1+ end)) bytes) 'undecided))
         (body (if end (substring bytes (+ 2 end)) "")))
    (cons (with-temp-buffer
            (insert header)
            (rfc2047-decode-region (point-min) (point-max))
            (buffer-string))
          body)))

(defun smtpmail-native-queue-ui--field (header name)
  "The field NAME of the decoded HEADER text, unfolded, or nil."
  (with-temp-buffer
    (insert header)
    (let ((value (mail-fetch-field name nil t)))
      (and value (string-trim (replace-regexp-in-string "[ \t]*\n[ \t]*" " " value))))))

(defun smtpmail-native-queue-ui--message (file)
  "Return a plist describing the queued FILE.
Keys: :file, :time (from its Date field, else the file's), :from,
:to (the envelope recipients), :subject, :size, :attempts, :held (the
reason, or nil), :error (the last error text, or nil), :pairs (its .el
variables), :broken (why it cannot be read, or nil)."
  (condition-case err
      (let* ((pairs (smtpmail-native-queue--read-variables (concat file ".el")))
             (attributes (file-attributes file))
             (header (car (smtpmail-native-queue-ui--split
                           (with-temp-buffer
                             (set-buffer-multibyte nil)
                             (let ((coding-system-for-read 'no-conversion))
                               (insert-file-contents file nil 0 65536))
                             (buffer-string)))))
             (date (smtpmail-native-queue-ui--field header "date")))
        (list :file file
              :time (or (and date (ignore-errors (date-to-time date)))
                        (file-attribute-modification-time attributes))
              :from (or (smtpmail-native-queue-ui--field header "from") "")
              :to (alist-get 'smtpmail-recipient-address-list pairs)
              :subject (or (smtpmail-native-queue-ui--field header "subject") "")
              :size (file-attribute-size attributes)
              :attempts (smtpmail-native-queue--attempts pairs)
              :held (smtpmail-native-queue--held pairs)
              :error (alist-get 'smtpmail-native-queue-error pairs)
              :pairs pairs))
    (error (list :file file :time nil :from "" :to nil :subject "" :size 0 :attempts 0
                 :broken (error-message-string err)))))

(defun smtpmail-native-queue-ui--state (message)
  "The state column for MESSAGE, a plist of `smtpmail-native-queue-ui--message'."
  (cond ((plist-get message :broken) (concat "unreadable: " (plist-get message :broken)))
        ((plist-get message :held) "held: delivery unknown")
        ((plist-get message :error) (concat "failed: " (plist-get message :error)))
        (t "queued")))

;;;; The list

(defvar smtpmail-native-queue-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "RET") #'smtpmail-native-queue-view)
    (define-key map "v" #'smtpmail-native-queue-view)
    (define-key map "e" #'smtpmail-native-queue-edit)
    (define-key map "d" #'smtpmail-native-queue-mark-delete)
    (define-key map "u" #'smtpmail-native-queue-unmark)
    (define-key map "x" #'smtpmail-native-queue-execute)
    (define-key map "s" #'smtpmail-native-queue-send)
    (define-key map "S" #'smtpmail-native-queue-send-all)
    map)
  "Keymap of `smtpmail-native-queue-mode'.")

(define-derived-mode smtpmail-native-queue-mode tabulated-list-mode "SMTP Queue"
  "The mail in smtpmail's queue, `smtpmail-queue-dir'.
\\<smtpmail-native-queue-mode-map>
\\[smtpmail-native-queue-view] shows the message at point,
\\[smtpmail-native-queue-edit] edits it to send (or queue) again,
\\[smtpmail-native-queue-mark-delete] marks it for deletion, \\[smtpmail-native-queue-unmark] unmarks,
\\[smtpmail-native-queue-execute] deletes the marked ones,
\\[smtpmail-native-queue-send] sends the message at point now (a held one after you confirm),
\\[smtpmail-native-queue-send-all] sends every message that is not held,
\\[revert-buffer] refreshes.
A held message is one the server may already have: the connection
ended after it was sent, before the server's verdict.

\\{smtpmail-native-queue-mode-map}"
  (setq tabulated-list-format
        `[("Date" 16 smtpmail-native-queue-ui--time<)
          ("From" 22 t)
          ("To" 24 t)
          ("Subject" 24 t)
          ("Size" 7 smtpmail-native-queue-ui--size< :right-align t)
          ("Tries" 5 smtpmail-native-queue-ui--attempts< :right-align t)
          ("State" 0 t)]
        tabulated-list-sort-key nil
        tabulated-list-padding 2)
  (add-hook 'tabulated-list-revert-hook #'smtpmail-native-queue-ui--refresh nil t)
  (tabulated-list-init-header))

(defun smtpmail-native-queue-ui--time< (a b)
  "Non-nil when the message of entry A is older than that of entry B."
  (time-less-p (or (plist-get (car a) :time) 0) (or (plist-get (car b) :time) 0)))

(defun smtpmail-native-queue-ui--size< (a b)
  "Non-nil when the message of entry A is smaller than that of entry B."
  (< (plist-get (car a) :size) (plist-get (car b) :size)))

(defun smtpmail-native-queue-ui--attempts< (a b)
  "Non-nil when the message of entry A failed fewer times than that of entry B."
  (< (plist-get (car a) :attempts) (plist-get (car b) :attempts)))

(defun smtpmail-native-queue-ui--row (message)
  "The tabulated-list entry of MESSAGE (a plist); its id is the plist."
  (list message
        (vector (if (plist-get message :time)
                    (format-time-string "%Y-%m-%d %H:%M" (plist-get message :time))
                  "")
                (plist-get message :from)
                (string-join (plist-get message :to) ", ")
                (plist-get message :subject)
                (file-size-human-readable (plist-get message :size))
                (number-to-string (plist-get message :attempts))
                (smtpmail-native-queue-ui--state message))))

(defun smtpmail-native-queue-ui--refresh ()
  "Read the queue again into the rows."
  (setq tabulated-list-entries
        (mapcar (lambda (file) (smtpmail-native-queue-ui--row (smtpmail-native-queue-ui--message file)))
                (smtpmail-native-queue--entries))))

;;;###autoload (autoload 'smtpmail-native-queue "smtpmail-native" nil t)
(defun smtpmail-native-queue ()
  "List the mail in smtpmail's queue: read, edit, delete or send it.
The queue is `smtpmail-queue-dir', as written by `smtpmail-send-it'
with `smtpmail-queue-mail' set or by smtpmail-native (also when a
background send failed).  See `smtpmail-native-queue-mode' for the keys."
  (interactive)
  (let ((buffer (get-buffer-create smtpmail-native-queue-ui--buffer)))
    (with-current-buffer buffer
      (unless (derived-mode-p 'smtpmail-native-queue-mode)
        (smtpmail-native-queue-mode))
      (smtpmail-native-queue-ui--refresh)
      (tabulated-list-print t))
    (pop-to-buffer buffer)
    buffer))

(defun smtpmail-native-queue-ui--redisplay ()
  "Refresh the queue browser, if it is open."
  (when-let ((buffer (get-buffer smtpmail-native-queue-ui--buffer)))
    (with-current-buffer buffer
      (revert-buffer))))

(defun smtpmail-native-queue-ui--at-point ()
  "The message on this line (a plist), or an error."
  (or (tabulated-list-get-id) (user-error "No queued message on this line")))

(defun smtpmail-native-queue-ui--readable (message)
  "Return MESSAGE's file, or signal a `user-error' when it cannot be read."
  (when (plist-get message :broken)
    (user-error "This queued message cannot be read: %s" (plist-get message :broken)))
  (plist-get message :file))

;;;; Reading, editing

(defun smtpmail-native-queue-view (message)
  "Show the queued MESSAGE (at point), read-only.
The header is decoded; the body is shown as it will be sent."
  (interactive (list (smtpmail-native-queue-ui--at-point)) smtpmail-native-queue-mode)
  (let* ((file (smtpmail-native-queue-ui--readable message))
         (parts (smtpmail-native-queue-ui--split (smtpmail-native-queue-ui--read-bytes file)))
         (buffer (get-buffer-create (format "*queued mail %s*" (file-name-nondirectory file)))))
    (with-current-buffer buffer
      (let ((inhibit-read-only t))
        (erase-buffer)
        (insert (car parts) "\n" (decode-coding-string (cdr parts) 'undecided))
        (goto-char (point-min)))
      (set-buffer-modified-p nil)
      (view-mode 1))
    (pop-to-buffer buffer)
    buffer))

(defun smtpmail-native-queue-ui--decoded-body (header body)
  "BODY decoded for editing, with the HEADER fields that still apply.
Return (HEADER . BODY).  A single text part in quoted-printable or
base64 is decoded and loses its MIME fields (message.el encodes it
again when it is sent); anything else is kept as it is."
  (let ((type (or (smtpmail-native-queue-ui--field header "content-type") "text/plain"))
        (encoding (downcase (or (smtpmail-native-queue-ui--field header "content-transfer-encoding")
                                "7bit"))))
    (if (not (string-match-p "\\`text/plain" (downcase type)))
        (cons header (decode-coding-string body 'undecided))
      (let* ((charset (and (string-match "charset=\"?\\([^\";]+\\)" type) (match-string 1 type)))
             (coding (or (and charset (mm-charset-to-coding-system charset)) 'undecided))
             (raw (with-temp-buffer
                    (set-buffer-multibyte nil)
                    (insert body)
                    (mm-decode-content-transfer-encoding
                     (intern encoding) (and (member encoding '("base64" "quoted-printable")) type))
                    (buffer-string))))
        (cons (with-temp-buffer
                (insert header)
                (goto-char (point-min))
                (while (re-search-forward "^\\(content-type\\|content-transfer-encoding\\|mime-version\\):.*\n\\([ \t].*\n\\)*"
                                          nil t)
                  (replace-match ""))
                (buffer-string))
              (decode-coding-string raw (if (eq coding 'ascii) 'undecided coding)))))))

(defun smtpmail-native-queue-edit (message)
  "Edit the queued MESSAGE (at point) in a `message-mode' buffer.
Sending that buffer (\\<message-mode-map>\\[message-send-and-exit]) sends it, or queues it again when
`smtpmail-queue-mail' is set, and then removes the old copy from the
queue.  Recipients only in the envelope (Bcc) come back as a Bcc field."
  (interactive (list (smtpmail-native-queue-ui--at-point)) smtpmail-native-queue-mode)
  (let* ((file (smtpmail-native-queue-ui--readable message))
         (parts (smtpmail-native-queue-ui--split (smtpmail-native-queue-ui--read-bytes file)))
         (edit (smtpmail-native-queue-ui--decoded-body (car parts) (cdr parts)))
         (visible (mapcar (lambda (a) (downcase (or (cadr a) "")))
                          (mail-extract-address-components
                           (string-join (delq nil (mapcar (lambda (f) (smtpmail-native-queue-ui--field
                                                                       (car parts) f))
                                                          '("to" "cc" "bcc")))
                                        ", ")
                           t)))
         (bcc (cl-remove-if (lambda (r) (member (downcase r) visible)) (plist-get message :to)))
         (buffer (generate-new-buffer (format "*mail %s*" (file-name-nondirectory file)))))
    (with-current-buffer buffer
      (insert (car edit))
      (when bcc (insert "Bcc: " (string-join bcc ", ") "\n"))
      (insert mail-header-separator "\n" (cdr edit))
      (message-mode)
      (goto-char (point-min))
      (set-buffer-modified-p nil)
      (setq-local message-send-actions
                  (append message-send-actions
                          (list (lambda ()
                                  (smtpmail-native-queue--drop file)
                                  (smtpmail-native-queue-ui--redisplay))))))
    (pop-to-buffer buffer)
    buffer))

;;;; Deleting

(defun smtpmail-native-queue-mark-delete ()
  "Mark the queued message at point for deletion, and move down."
  (interactive nil smtpmail-native-queue-mode)
  (smtpmail-native-queue-ui--at-point)
  (tabulated-list-put-tag "D" t))

(defun smtpmail-native-queue-unmark ()
  "Remove the mark of the queued message at point, and move down."
  (interactive nil smtpmail-native-queue-mode)
  (smtpmail-native-queue-ui--at-point)
  (tabulated-list-put-tag " " t))

(defun smtpmail-native-queue-ui--marked ()
  "The messages marked for deletion, in the order shown."
  (let (marked)
    (save-excursion
      (goto-char (point-min))
      (while (not (eobp))
        (when (eq (char-after) ?D)
          (push (tabulated-list-get-id) marked))
        (forward-line 1)))
    (nreverse marked)))

(defun smtpmail-native-queue-execute ()
  "Delete the queued messages marked for deletion, after confirmation.
With none marked, offer to delete the message at point."
  (interactive nil smtpmail-native-queue-mode)
  (let ((messages (or (smtpmail-native-queue-ui--marked)
                      (list (smtpmail-native-queue-ui--at-point)))))
    (when (yes-or-no-p (format "Delete %d queued message%s for good? " (length messages)
                               (if (cdr messages) "s" "")))
      (dolist (message messages)
        (smtpmail-native-queue--drop (plist-get message :file)))
      (revert-buffer)
      (message "Deleted %d queued message%s" (length messages) (if (cdr messages) "s" "")))))

;;;; Sending

(defun smtpmail-native-queue-send (message)
  "Send the queued MESSAGE (at point) now.
A held message -- the server may already have it -- is sent only
after you confirm.  It leaves the queue when the server accepts it;
otherwise it stays, with the new error."
  (interactive
   (let* ((message (smtpmail-native-queue-ui--at-point))
          (held (plist-get message :held)))
     (when (and held (not (yes-or-no-p (format "The server may already have this message (%s).  \
Send it again? " held))))
       (user-error "Not sent"))
     (list message))
   smtpmail-native-queue-mode)
  (let ((file (smtpmail-native-queue-ui--readable message)))
    (unwind-protect
        (condition-case err
            (smtpmail-native-send-queued-message file)
          (error (message "%s" (error-message-string err)) nil))
      (smtpmail-native-queue-ui--redisplay))))

(defun smtpmail-native-queue-send-all ()
  "Send every queued message that is not held, as \\[smtpmail-native-send-queued-mail] does."
  (interactive nil smtpmail-native-queue-mode)
  (unwind-protect (smtpmail-native-send-queued-mail)
    (smtpmail-native-queue-ui--redisplay)))

(provide 'smtpmail-native-queue-ui)

;;; smtpmail-native-queue-ui.el ends here
