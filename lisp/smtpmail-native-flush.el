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
;; and account share one SMTP session.  A sent message leaves the queue
;; as soon as the server accepted it; a refused one stays with its error
;; recorded and the flush goes on with the next.

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

(defun smtpmail-native-flush--with-settings (file pairs function)
  "Call FUNCTION with the recipients of the queued FILE, whose variables are PAIRS.
It runs in a buffer holding the message, under the server settings the
message was queued with; without them, the current ones and
`smtpmail-native-accounts'.  Return what FUNCTION returns."
  (let ((recipients (alist-get 'smtpmail-recipient-address-list pairs))
        (stored (cl-remove-if-not (lambda (p) (memq (car p) smtpmail-native-flush--connection-variables))
                                  pairs)))
    (unless recipients
      (error "Sending failed; no recipients"))
    (with-temp-buffer
      (set-buffer-multibyte nil)
      ;; Literally: the file holds the message already encoded.
      (let ((coding-system-for-read 'no-conversion))
        (insert-file-contents file))
      (let ((smtpmail-mail-address (alist-get 'smtpmail-mail-address pairs)))
        (cl-progv (mapcar #'car stored) (mapcar #'cdr stored)
          (let ((account (and (not (assq 'smtpmail-smtp-server stored))
                              (smtpmail-native--account-settings (smtpmail-native--envelope-from)))))
            (cl-progv (mapcar #'car account) (mapcar #'cdr account)
              (funcall function recipients))))))))

(defun smtpmail-native-flush--send (file pairs)
  "Send the queued message FILE (stored variables PAIRS) in its own session."
  (smtpmail-native-flush--with-settings
   file pairs (lambda (recipients) (smtpmail-native--deliver recipients (current-buffer)))))

(defun smtpmail-native-flush--connection-key ()
  "What decides the connection, from the variables as bound now.
Messages with equal keys can share one SMTP session."
  (list smtpmail-smtp-server smtpmail-smtp-service smtpmail-stream-type smtpmail-smtp-user
        smtpmail-auth-supported smtpmail-native-trust-file))

(defun smtpmail-native-flush--groups (files)
  "Group the queued FILES that can share a session, keeping the queue's order.
Return a list of (KEY FILE...); files that cannot be read stand alone."
  (let ((groups nil))
    (dolist (file files)
      (let ((key (condition-case nil
                     (smtpmail-native-flush--with-settings
                      file (smtpmail-native-queue--read-variables (concat file ".el"))
                      (lambda (_) (smtpmail-native-flush--connection-key)))
                   (error (list 'alone file))))
            (group nil))
        (if (setq group (assoc key groups))
            (setcdr group (append (cdr group) (list file)))
          (push (list key file) groups))))
    (nreverse groups)))

(defun smtpmail-native-flush--retry-alone-p (err)
  "Non-nil when the failed ERR deserves a session of its own.
A 4xx that left the message unsent is retried per `smtpmail-retries',
and a 530 asks for credentials, as a message sent alone would."
  (and (eq (smtpmail-native--outcome err :delivery) 'not-sent)
       (or (eq (car err) 'smtpmail-native-temporary-error)
           (eql (smtpmail-native--outcome err :code) 530))))

(defun smtpmail-native-flush--failed (file pairs err)
  "Record the failure ERR of the queued FILE (with PAIRS); return its outcome.
The outcome is (held . TEXT) when the server may have the message, which
then stays queued but held; else the error TEXT."
  (let ((text (smtpmail-native--error-text err))
        (held (smtpmail-native--delivery-unknown-p err)))
    (smtpmail-native-queue--record-failure file pairs text held)
    (if held (cons 'held text) text)))

(defun smtpmail-native-flush--group (files)
  "Send the queued FILES over one SMTP session; return their outcomes.
Each outcome is (FILE . t) when sent, (FILE held . ERROR-TEXT) when the
server may have it, or (FILE . ERROR-TEXT).  A sent message leaves the
queue as soon as the server accepted it; a refused one stays with its
error recorded; a 4xx or 530 is retried alone."
  (let* ((pairs (mapcar (lambda (f) (smtpmail-native-queue--read-variables (concat f ".el"))) files))
         (messages (cl-mapcar
                    (lambda (file p)
                      (smtpmail-native-flush--with-settings
                       file p (lambda (recipients)
                                (list :from (smtpmail-native--envelope-from)
                                      :recipients (mapcar #'smtpmail-maybe-append-domain recipients)
                                      :data (smtpmail-native--message-bytes)))))
                    files pairs))
         (outcomes nil)
         (alone nil)
         (on-outcome
          (lambda (index outcome)
            (let ((file (nth index files)))
              (cond ((keywordp (car outcome))  ; a result plist, not (ERROR-SYMBOL MESSAGE . PLIST)
                     (smtpmail-native-queue--drop file)
                     (push (cons file t) outcomes))
                    ((smtpmail-native-flush--retry-alone-p outcome) (push file alone))
                    (t (push (cons file (smtpmail-native-flush--failed file (nth index pairs) outcome))
                             outcomes)))))))
    (smtpmail-native-flush--with-settings
     (car files) (car pairs)
     (lambda (_)
       (let ((session (smtpmail-native--session)))
         (smtpmail-native--call-module
          #'smtpmail-native-send-batch session
          (smtpmail-native--trace-writer (plist-get session :host))
          (list :messages messages :on-outcome on-outcome)))))
    (dolist (file (nreverse alone))
      (push (cons file (smtpmail-native-flush--one file)) outcomes))
    (nreverse outcomes)))

(defun smtpmail-native-flush--one (file)
  "Send the queued message FILE, held or not; return its outcome.
That is t when sent (it leaves the queue at once), (held . ERROR-TEXT)
when the server may have it, or the ERROR-TEXT (it stays queued with
the error recorded).  A message whose files are gone leaves the index,
and the outcome is `missing'.  A \\[keyboard-quit] is passed on, once
the message is recorded as held if the server may have it."
  (let ((el (concat file ".el")))
    (if (not (and (file-exists-p file) (file-exists-p el)))
        (progn (smtpmail-native-queue--drop file)
               (message "Queued mail %s is missing; removed from the index" file)
               'missing)
      (let ((pairs (smtpmail-native-queue--read-variables el)))
        (condition-case err
            (progn (smtpmail-native-flush--send file pairs)
                   (smtpmail-native-queue--drop file)
                   t)
          (smtpmail-native-interrupted
           (when (smtpmail-native--delivery-unknown-p err)
             (smtpmail-native-flush--failed file pairs err))
           (signal 'quit nil))
          (smtpmail-native-error (smtpmail-native-flush--failed file pairs err))
          (error
           (let ((text (error-message-string err)))
             (smtpmail-native-queue--record-failure file pairs text)
             text)))))))

;;;###autoload (autoload 'smtpmail-native-send-queued-mail "smtpmail-native" nil t)
(defun smtpmail-native-send-queued-mail ()
  "Send the mail queued by `smtpmail-queue-mail' (by smtpmail or natively).
Messages queued for the same server and account share one SMTP
session (RSET between them); each goes with the server settings it
was queued with.  The index is rewritten after every message, so
an interrupted run resumes where it stopped.  A message that fails
stays queued, its error recorded in its .el file, and the others are
still sent.  A held message (the server may already have it: its
delivery status is unknown) is not sent: \\[smtpmail-native-send-queued-message]
sends one when you know it did not arrive.  Return a plist
\(:sent N :failed ((FILE . ERROR) ...) :held (FILE ...))."
  (interactive)
  (let* ((entries (smtpmail-native-queue--entries))
         (held (cl-remove-if-not
                (lambda (file)
                  (ignore-errors
                    (smtpmail-native-queue--held
                     (smtpmail-native-queue--read-variables (concat file ".el")))))
                entries))
         (entries (cl-set-difference entries held :test #'equal))
         (total (length entries))
         (reporter (make-progress-reporter "Sending queued mail..." 0 total))
         (done 0)
         (sent 0)
         (failed nil))
    (dolist (group (smtpmail-native-flush--groups entries))
      (dolist (result (if (cddr group)
                          (smtpmail-native-flush--group (cdr group))
                        (list (cons (cadr group) (smtpmail-native-flush--one (cadr group))))))
        (let ((file (car result)) (outcome (cdr result)))
          (cond ((eq outcome t) (cl-incf sent))
                ((eq outcome 'missing))
                ((eq (car-safe outcome) 'held)
                 (push file held)
                 (message "Queued mail %s is held: %s" (file-name-nondirectory file) (cdr outcome)))
                (t (push (cons file outcome) failed)
                   (message "Queued mail %s not sent: %s" (file-name-nondirectory file) outcome))))
        (progress-reporter-update reporter (cl-incf done))))
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
   (let* ((entries (or (smtpmail-native-queue--entries) (user-error "No queued mail")))
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
