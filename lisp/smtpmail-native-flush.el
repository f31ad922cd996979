;;; smtpmail-native-flush.el --- Send the queued mail, grouped into sessions  -*- lexical-binding: t; -*-

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

;; `smtpmail-native-send-queued-mail': each queued message goes with
;; the server settings it was queued with; messages for the same server
;; and account share one SMTP session.  Each queued message is read
;; once.  A sent message leaves the queue as soon as the server accepted
;; it: its files are deleted, which is what marks it sent; the index is
;; rewritten once, when the flush ends (also by \[keyboard-quit] or an
;; error).  A refused one stays with its error recorded and the flush
;; goes on with the next.  The journal of smtpmail-native-queue.el
;; names the messages of each session, so that a flush cut short (Emacs
;; killed) never sends again the one that may have reached the server.

;;; Code:

(require 'smtpmail)
(require 'cl-lib)
(require 'smtpmail-native-config)
(require 'smtpmail-native-send)
(require 'smtpmail-native-queue)

(declare-function smtpmail-native-send-batch "ext:smtpmail-native-module" (&rest args))
(defvar smtpmail-native-trust-file)

(defconst smtpmail-native-flush--connection-variables
  (append smtpmail--stored-queue-variables '(smtpmail-auth-supported))
  "Variables a queued message may carry to choose its server.")

(defun smtpmail-native-flush--in-settings (pairs function)
  "Call FUNCTION with the recipients and sender of the queued message here.
The message is in this buffer; PAIRS are its .el variables.  FUNCTION
runs under the server settings the message was queued with; without
them, the current ones and `smtpmail-native-accounts'.  Return what
FUNCTION returns."
  (let ((recipients (alist-get 'smtpmail-recipient-address-list pairs))
        (stored (cl-remove-if-not (lambda (p) (memq (car p) smtpmail-native-flush--connection-variables))
                                  pairs)))
    (unless recipients
      (error "Sending failed; no recipients"))
    (let ((smtpmail-mail-address (alist-get 'smtpmail-mail-address pairs)))
      (cl-progv (mapcar #'car stored) (mapcar #'cdr stored)
        ;; Found once: parsing the From field is most of the cost of reading a message.
        (let* ((from (smtpmail-native--envelope-from))
               (account (and (not (assq 'smtpmail-smtp-server stored))
                             (smtpmail-native--account-settings from))))
          (cl-progv (mapcar #'car account) (mapcar #'cdr account)
            (funcall function recipients from)))))))

(defun smtpmail-native-flush--with-message (bytes pairs function)
  "Call FUNCTION with the recipients of a queued message, in a buffer holding it.
BYTES are the message, PAIRS its .el variables; as
`smtpmail-native-flush--in-settings', but FUNCTION gets the recipients
only."
  (with-temp-buffer
    (set-buffer-multibyte nil)
    (insert bytes)
    (smtpmail-native-flush--in-settings pairs (lambda (recipients _from) (funcall function recipients)))))

(defun smtpmail-native-flush--insert (file)
  "Replace this buffer's text with the bytes of the queued message FILE.
The buffer is made unibyte."
  (erase-buffer)
  (set-buffer-multibyte nil)
  ;; Literally: the file holds the message already encoded.
  (let ((coding-system-for-read 'no-conversion))
    (insert-file-contents file)))

(defun smtpmail-native-flush--with-settings (file pairs function)
  "Call FUNCTION with the recipients of the queued message FILE.
As `smtpmail-native-flush--with-message', the message read from FILE,
whose .el variables are PAIRS."
  (with-temp-buffer
    (smtpmail-native-flush--insert file)
    (smtpmail-native-flush--in-settings pairs (lambda (recipients _from) (funcall function recipients)))))

(defun smtpmail-native-flush--connection-key ()
  "What decides the connection, from the variables as bound now.
Messages with equal keys can share one SMTP session."
  (list smtpmail-smtp-server smtpmail-smtp-service smtpmail-stream-type smtpmail-smtp-user
        smtpmail-auth-supported smtpmail-native-trust-file))

(defun smtpmail-native-flush--read (file &optional buffer)
  "Read the queued FILE and its .el file, once; return its item, a plist.
:file FILE, :pairs (the .el variables), :bytes (the message), :held
\(why it is held, or nil), :key (what decides its connection) and
:message (the module's message plist); or :file and :missing t when a
file is gone; or :file and :error TEXT when they cannot be read.
They are read in BUFFER, whose text is replaced (one buffer serves a
whole flush); by default in a temporary one."
  (if (not buffer)
      (with-temp-buffer (smtpmail-native-flush--read file (current-buffer)))
    (with-current-buffer buffer
      (condition-case err
          (let ((pairs (smtpmail-native-queue--variables-here (concat file ".el"))))
            (smtpmail-native-flush--insert file)
            (smtpmail-native-flush--in-settings
             pairs
             (lambda (recipients from)
               ;; The buffer is unibyte: its bytes are what goes, as they are.
               (let ((bytes (buffer-string)))
                 (list :file file :pairs pairs :bytes bytes
                       :held (smtpmail-native-queue--held pairs)
                       :key (smtpmail-native-flush--connection-key)
                       :message (list :from from
                                      :recipients (mapcar #'smtpmail-maybe-append-domain recipients)
                                      :data bytes))))))
        (file-missing (list :file file :missing t))
        (error (list :file file :error (error-message-string err)))))))

(defun smtpmail-native-flush--groups (items)
  "Group the ITEMS that can share a session, keeping the queue's order.
Return a list of (KEY ITEM...); items that cannot be read stand alone."
  (let ((groups nil))
    (dolist (item items)
      (let* ((key (or (plist-get item :key) (list 'alone item)))
             (group (assoc key groups)))
        (if group
            (push item (cdr group))
          (push (list key item) groups))))
    (mapcar (lambda (group) (cons (car group) (nreverse (cdr group)))) (nreverse groups))))

(defun smtpmail-native-flush--journalled (files function)
  "Call FUNCTION, the queued FILES journalled as about to be sent in this order.
When FUNCTION returns, every one is decided and recorded: the journal
goes.  After any other exit, the first of FILES not recorded may be at
the server, and is held (`smtpmail-native-queue--recover'), unless
FUNCTION cleared the journal, knowing better (a \\[keyboard-quit] the
module reports with what became of the message, or one before any
message was sent)."
  (smtpmail-native-queue--journal-start files)
  (unwind-protect
      (prog1 (funcall function)
        (smtpmail-native-queue--journal-clear))
    (smtpmail-native-queue--recover
     "the flush stopped while this message may have been sent: \
delivery status unknown, the server may have it")))

(defun smtpmail-native-flush--interrupted (item err)
  "Record a \\[keyboard-quit], the module's ERR, that stopped sending ITEM; quit.
ITEM is held when the server may have it; the journal is cleared, as
ERR says what became of ITEM."
  (when (and item (smtpmail-native--delivery-unknown-p err))
    (smtpmail-native-flush--failed item err))
  (smtpmail-native-queue--journal-clear)
  (signal 'quit nil))

(defun smtpmail-native-flush--retry-alone-p (err)
  "Non-nil when the failed ERR deserves a session of its own.
A 4xx that left the message unsent is retried per `smtpmail-retries',
and a 530 asks for credentials, as a message sent alone would."
  (and (eq (smtpmail-native--outcome err :delivery) 'not-sent)
       (or (eq (car err) 'smtpmail-native-temporary-error)
           (eql (smtpmail-native--outcome err :code) 530))))

(defun smtpmail-native-flush--failed (item err)
  "Record the failure ERR of the queued ITEM; return its outcome.
The outcome is (held . TEXT) when the server may have the message, which
then stays queued but held; else the error TEXT.  The journal notes
ITEM as decided."
  (let ((inhibit-quit t)
        (text (smtpmail-native--error-text err))
        (held (smtpmail-native--delivery-unknown-p err))
        (file (plist-get item :file)))
    (smtpmail-native-queue--record-failure file (plist-get item :pairs) text held)
    (smtpmail-native-queue--journal-done file)
    (if held (cons 'held text) text)))

(defun smtpmail-native-flush--group (items)
  "Send the queued ITEMS over one SMTP session; return their outcomes.
Each outcome is (FILE . t) when sent, (FILE held . ERROR-TEXT) when the
server may have it, or (FILE . ERROR-TEXT).  A sent message leaves the
queue as soon as the server accepted it; a refused one stays with its
error recorded; a 4xx or 530 is retried alone."
  (let* ((items (vconcat items))
         (decided (make-bool-vector (length items) nil))
         (outcomes nil)
         (alone nil)
         (on-outcome
          (lambda (index outcome)
            (let* ((inhibit-quit t)
                   (item (aref items index))
                   (file (plist-get item :file)))
              (cond ((keywordp (car outcome)) ; a result plist, not (ERROR-SYMBOL MESSAGE . PLIST)
                     (smtpmail-native-queue--mark-sent file)
                     (push (cons file t) outcomes))
                    ((smtpmail-native-flush--retry-alone-p outcome)
                     (smtpmail-native-queue--journal-done file)
                     (push item alone))
                    (t (push (cons file (smtpmail-native-flush--failed item outcome)) outcomes)))
              (aset decided index t)))))
    (let ((first (aref items 0)))
      (smtpmail-native-flush--with-message
       (plist-get first :bytes) (plist-get first :pairs)
       (lambda (_)
         (let ((session (smtpmail-native--session)))
           (smtpmail-native-flush--journalled
            (mapcar (lambda (item) (plist-get item :file)) items)
            (lambda ()
              (condition-case err
                  (smtpmail-native--call-module
                   #'smtpmail-native-send-batch session
                   ;; Without a transcript to keep, the module makes no lines at all.
                   (and smtpmail-debug-info (smtpmail-native--trace-writer (plist-get session :host)))
                   (list :messages (mapcar (lambda (item) (plist-get item :message)) items)
                         :on-outcome on-outcome))
                (smtpmail-native-interrupted
                 ;; The module stopped at the first message not decided.
                 (let ((index (cl-position nil decided)))
                   (smtpmail-native-flush--interrupted (and index (aref items index)) err)))
                (smtpmail-native-error
                 ;; Refused before connecting: the failures of a session are outcomes.
                 (smtpmail-native-queue--journal-clear)
                 (signal (car err) (cdr err)))
                (quit
                 ;; Raised in a password prompt or the trace function, which the module
                 ;; calls before a message's dot or after its verdict (a C-g pending
                 ;; when a message is decided comes as `smtpmail-native-interrupted').
                 ;; Any other exit, our own records failing, leaves it to the journal.
                 (smtpmail-native-queue--journal-clear)
                 (signal 'quit nil)))))))))
    (dolist (item (nreverse alone))
      (push (cons (plist-get item :file) (smtpmail-native-flush--send-one item)) outcomes))
    (nreverse outcomes)))

(defun smtpmail-native-flush--send-one (item)
  "Send the queued ITEM, held or not, in its own session; return its outcome.
That is t when sent (it leaves the queue at once), (held . ERROR-TEXT)
when the server may have it, or the ERROR-TEXT (it stays queued with
the error recorded).  A message whose files are gone leaves the index,
and the outcome is `missing'.  A \\[keyboard-quit] is passed on, once
the message is recorded as held if the server may have it."
  (let ((file (plist-get item :file)))
    (cond
     ((plist-get item :missing)
      (smtpmail-native-queue--drop file)
      (message "Queued mail %s is missing; removed from the index" file)
      'missing)
     ((plist-get item :error))            ; unreadable: it stays as it is
     (t
      (smtpmail-native-flush--journalled
       (list file)
       (lambda ()
         ;; Quitting is let in only while sending: nothing comes between the
         ;; server's acceptance and the mark.
         (let* ((inhibit-quit t)
                (outcome
                 (condition-case err
                     (let ((inhibit-quit nil))
                       (smtpmail-native-flush--with-message
                        (plist-get item :bytes) (plist-get item :pairs)
                        (lambda (recipients)
                          (smtpmail-native--deliver recipients (current-buffer))))
                       t)
                   (smtpmail-native-interrupted (smtpmail-native-flush--interrupted item err))
                   (smtpmail-native-error (smtpmail-native-flush--failed item err))
                   (quit
                    ;; Not the module's: a password prompt, a retry's wait, before
                    ;; anything was sent.
                    (smtpmail-native-queue--journal-clear)
                    (signal 'quit nil))
                   (error
                    (let ((text (error-message-string err)))
                      (smtpmail-native-queue--record-failure file (plist-get item :pairs) text)
                      (smtpmail-native-queue--journal-done file)
                      text)))))
           ;; Outside the handlers: a failure to mark it sent must not read as not sent.
           (when (eq outcome t) (smtpmail-native-queue--mark-sent file))
           outcome)))))))

(defun smtpmail-native-flush--one (file)
  "Send the queued message FILE, held or not; return its outcome.
As `smtpmail-native-flush--send-one'; the index loses FILE's line when
it is sent."
  (smtpmail-native-queue--recover)
  (unwind-protect
      (smtpmail-native-flush--send-one (smtpmail-native-flush--read file))
    (smtpmail-native-queue--prune-index)))

;;;###autoload (autoload 'smtpmail-native-send-queued-mail "smtpmail-native" nil t)
(defun smtpmail-native-send-queued-mail ()
  "Send the mail queued by `smtpmail-queue-mail' (by smtpmail or natively).
Messages queued for the same server and account share one SMTP
session (RSET between them); each goes with the server settings it
was queued with.  A sent message's files are deleted at once and the
index is rewritten when the flush ends, also when it is interrupted,
so the next run resumes where this one stopped.  A message that fails
stays queued, its error recorded in its .el file, and the others are
still sent.  A held message (the server may already have it: its
delivery status is unknown) is not sent: \\[smtpmail-native-send-queued-message]
sends one when you know it did not arrive.  Return a plist
\(:sent N :failed ((FILE . ERROR) ...) :held (FILE ...))."
  (interactive)
  (smtpmail-native-queue--recover)
  (let* ((entries (smtpmail-native-queue--entries))
         ;; A flush makes about 8 KB of garbage a message besides the messages: room for
         ;; it, so that the heap is not scanned several times while the server waits.
         (gc-cons-threshold (max gc-cons-threshold (min (* 16 1024 (length entries)) (* 64 1024 1024))))
         (items (with-temp-buffer
                  (let ((buffer (current-buffer)))
                    (mapcar (lambda (file) (smtpmail-native-flush--read file buffer)) entries))))
         (held (cl-loop for item in items
                        when (plist-get item :held) collect (plist-get item :file)))
         (items (cl-remove-if (lambda (item) (plist-get item :held)) items))
         (total (length items))
         (reporter (make-progress-reporter "Sending queued mail..." 0 total))
         (done 0)
         (sent 0)
         (failed nil))
    (unwind-protect
        (dolist (group (smtpmail-native-flush--groups items))
          (dolist (result (if (and (cddr group) (plist-get (cadr group) :key))
                              (smtpmail-native-flush--group (cdr group))
                            (mapcar (lambda (item)
                                      (cons (plist-get item :file) (smtpmail-native-flush--send-one item)))
                                    (cdr group))))
            (let ((file (car result)) (outcome (cdr result)))
              (cond ((eq outcome t) (cl-incf sent))
                    ((eq outcome 'missing))
                    ((eq (car-safe outcome) 'held)
                     (push file held)
                     (message "Queued mail %s is held: %s" (file-name-nondirectory file) (cdr outcome)))
                    (t (push (cons file outcome) failed)
                       (message "Queued mail %s not sent: %s" (file-name-nondirectory file) outcome))))
            (progress-reporter-update reporter (cl-incf done))))
      (smtpmail-native-queue--prune-index))
    (progress-reporter-done reporter)
    (setq failed (nreverse failed))
    (message "%s%s"
             (cond ((and (zerop total) (null held)) "No queued mail")
                   ((null failed) (format "Sent %d queued message%s" sent (if (= sent 1) "" "s")))
                   (t (format "Sent %d queued message%s; %d stay queued (first error: %s)"
                              sent (if (= sent 1) "" "s") (length failed) (cdar failed))))
             (if held
                 (format (substitute-command-keys "; %d held (delivery status unknown), \
not sent: \\[smtpmail-native-send-queued-message] sends one")
                         (length held))
               ""))
    (list :sent sent :failed failed :held held)))

;;;###autoload (autoload 'smtpmail-native-send-queued-message "smtpmail-native" nil t)
(defun smtpmail-native-send-queued-message (file)
  "Send the one queued message FILE now, even when it is held.
A held message is one the server may already have (the connection
ended after the message was sent, before the server's verdict): send
it again only when you know it did not arrive.  Interactively, choose
among the queued messages, and confirm for a held one.  Return t when
sent; signal an error saying why when not (it stays queued)."
  (interactive
   (let* ((_ (smtpmail-native-queue--recover))
          (entries (or (smtpmail-native-queue--entries) (user-error "No queued mail")))
          (file (completing-read "Send queued message: " entries nil t nil nil (car entries)))
          (held (smtpmail-native-queue--held
                 (smtpmail-native-queue--read-variables (concat file ".el")))))
     (when (and held (not (yes-or-no-p (format "The server may already have this message (%s).  \
Send it again? " held))))
       (user-error "Not sent"))
     (list file)))
  (let ((outcome (smtpmail-native-flush--one file)))
    (pcase outcome
      ('t (message "Sent queued mail %s" (file-name-nondirectory file)) t)
      ('missing (error "Queued mail %s is missing" file))
      (`(held . ,text) (error "Queued mail %s is held again: %s" (file-name-nondirectory file) text))
      (text (error "Queued mail %s not sent: %s" (file-name-nondirectory file) text)))))

(provide 'smtpmail-native-flush)

;;; smtpmail-native-flush.el ends here
