;;; smtpmail-native-queue.el --- smtpmail's mail queue, kept safely and flushed natively  -*- lexical-binding: t; -*-

;; Copyright (C) 2026 The smtpmail-native developers

;; Author: The smtpmail-native developers
;; URL: https://example.invalid/smtpmail-native

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

;; The queue of `smtpmail-queue-mail', in smtpmail's own format, so that
;; `smtpmail-send-queued-mail' and `smtpmail-native-send-queued-mail'
;; each send what the other queued:
;;
;;   `smtpmail-queue-dir'/DATE_N       the message, encoded, LF line ends
;;   `smtpmail-queue-dir'/DATE_N.el    (setq smtpmail-recipient-address-list (...) ...)
;;   `smtpmail-queue-dir'/`smtpmail-queue-index-file'   one DATE_N path per line
;;
;; What differs from smtpmail: every file is written to a temporary file
;; (mode 0600) and renamed into place, in a directory kept at 0700; the
;; index is rewritten after each message, so an interrupted flush resumes
;; where it stopped; a message that fails stays queued with its error
;; recorded in its .el file (as variables smtpmail ignores) and the flush
;; goes on with the next one.  smtpmail-native.el loads this file.

;;; Code:

(require 'smtpmail)
(require 'cl-lib)

(declare-function smtpmail-native--deliver "smtpmail-native" (recipients buffer))
(declare-function smtpmail-native--error-text "smtpmail-native" (err))
(declare-function smtpmail-native--quit-if-interrupted "smtpmail-native" (err))
(declare-function smtpmail-native--account-settings "smtpmail-native" (address))
(declare-function smtpmail-native--envelope-from "smtpmail-native" ())
(declare-function smtpmail-native--message-bytes "smtpmail-native" ())
(declare-function smtpmail-native--trace-writer "smtpmail-native" (host))
(declare-function smtpmail-native--call-module "smtpmail-native" (send host ask trace message-args))
(declare-function smtpmail-native-send-batch "ext:smtpmail-native-module" (&rest args))
(defvar smtpmail-native-trust-file)

(defconst smtpmail-native-queue--connection-variables
  (append smtpmail--stored-queue-variables '(smtpmail-auth-supported))
  "Variables a queued message may carry to choose its server.")

;;;; Files

(defun smtpmail-native-queue--directory ()
  "Return `smtpmail-queue-dir', made (or kept) private: mode 0700."
  (let ((dir (file-name-as-directory (expand-file-name smtpmail-queue-dir))))
    (unless (file-directory-p dir)
      (with-file-modes #o700 (make-directory dir t)))
    (unless (zerop (logand (file-modes dir) #o077))
      (set-file-modes dir #o700))
    dir))

(defun smtpmail-native-queue--write (file bytes)
  "Replace FILE with BYTES (unibyte, or ASCII only) atomically, mode 0600.
BYTES go to a temporary file in FILE's directory, which is renamed
over FILE: a reader sees the old file or the new one, never a part."
  (let ((temp (with-file-modes #o600
                (make-temp-file (expand-file-name ".smtpmail-native-" (file-name-directory file))
                                nil ".tmp"))))
    (condition-case err
        (let ((coding-system-for-write 'no-conversion)
              (write-region-inhibit-fsync nil))
          (write-region bytes nil temp nil 'silent)
          (set-file-modes temp #o600)
          (rename-file temp file t))
      ((error quit)
       (ignore-errors (delete-file temp))
       (signal (car err) (cdr err))))))

(defun smtpmail-native-queue--index-file ()
  "Return the file name of the queue's index."
  (expand-file-name smtpmail-queue-index-file (smtpmail-native-queue--directory)))

(defun smtpmail-native-queue--entries ()
  "Return the data files the index lists, in order (nil without an index)."
  (let ((index (smtpmail-native-queue--index-file)))
    (and (file-exists-p index)
         (with-temp-buffer
           (let ((coding-system-for-read 'utf-8-unix))
             (insert-file-contents index))
           (split-string (buffer-string) "\n" t)))))

(defun smtpmail-native-queue--update-index (function)
  "Rewrite the index as FUNCTION transforms its list of entries."
  (smtpmail-native-queue--write
   (smtpmail-native-queue--index-file)
   (encode-coding-string (mapconcat (lambda (file) (concat file "\n"))
                                    (funcall function (smtpmail-native-queue--entries)) "")
                         'utf-8-unix)))

(defun smtpmail-native-queue--format (pairs)
  "Return the .el file text for the (VARIABLE . VALUE) PAIRS, encoded.
The layout is `smtpmail-send-it''s: one setq, one variable a line."
  (let ((print-length nil) (print-level nil) (print-escape-newlines nil))
    (encode-coding-string
     (concat "(setq "
             (mapconcat (lambda (pair) (format "     %s %S\n" (car pair) (cdr pair))) pairs "")
             ")\n")
     'utf-8-unix)))

(defun smtpmail-native-queue--valid-p (variable value)
  "Non-nil when VALUE is acceptable for VARIABLE in a queued .el file."
  (pcase variable
    ('smtpmail-recipient-address-list (and (listp value) (cl-every #'stringp value)))
    ('smtpmail-smtp-service (or (null value) (integerp value) (stringp value)))
    ('smtpmail-stream-type (symbolp value))
    ('smtpmail-auth-supported (and (listp value) (cl-every #'symbolp value)))
    (_ (or (null value) (stringp value)))))

(defun smtpmail-native-queue--read-variables (file)
  "Return the (VARIABLE . VALUE) pairs of the queued .el FILE.
The form is read, never evaluated; like `smtpmail-send-queued-mail',
anything but one setq is refused."
  (let ((form (with-temp-buffer
                (let ((coding-system-for-read 'utf-8))
                  (insert-file-contents file))
                (read (current-buffer)))))
    (unless (and (eq (car-safe form) 'setq) (cl-evenp (length (cdr form))))
      (error "Unexpected code in %S: %S" file form))
    (cl-loop for (var val) on (cdr form) by #'cddr
             unless (and (symbolp var) (smtpmail-native-queue--valid-p var val))
             do (error "Unexpected value in %S: %S %S" file var val)
             collect (cons var val))))

;;;; Queueing (called by `smtpmail-native-send-it')

(defun smtpmail-native-queue--new-file (dir)
  "Return a fresh data file name in DIR, named as smtpmail names them."
  (let (file)
    (while (or (null file) (file-exists-p file) (file-exists-p (concat file ".el")))
      (setq file (convert-standard-filename
                  (expand-file-name (format "%s_%i" (format-time-string "%Y-%m-%d_%H:%M:%S")
                                            (setq smtpmail-queue-counter (1+ smtpmail-queue-counter)))
                                    dir))))
    file))

(defun smtpmail-native-queue--add (data recipients variables)
  "Queue the message DATA (bytes) for RECIPIENTS; return its file name.
VARIABLES are further (VARIABLE . VALUE) pairs to store.  The data and
.el files are in place before the index names them."
  (let ((file (smtpmail-native-queue--new-file (smtpmail-native-queue--directory))))
    (smtpmail-native-queue--write file data)
    (smtpmail-native-queue--write
     (concat file ".el")
     (smtpmail-native-queue--format (cons (cons 'smtpmail-recipient-address-list recipients)
                                          variables)))
    (smtpmail-native-queue--update-index (lambda (entries) (append entries (list file))))
    file))

;;;; Flushing

(defun smtpmail-native-queue--drop (file)
  "Remove FILE from the index, then delete it and its .el file.
Quitting is held off so that the index never lists a deleted file."
  (let ((inhibit-quit t))
    (smtpmail-native-queue--update-index (lambda (entries) (remove file entries)))
    (dolist (f (list file (concat file ".el")))
      (when (file-exists-p f) (delete-file f)))))

(defun smtpmail-native-queue--record-failure (file pairs text)
  "Record the error TEXT in the .el file of the queued FILE, given its PAIRS."
  (let ((pairs (cl-remove-if (lambda (p) (memq (car p) '(smtpmail-native-queue-error
                                                         smtpmail-native-queue-error-time)))
                             pairs)))
    (smtpmail-native-queue--write
     (concat file ".el")
     (smtpmail-native-queue--format
      (append pairs `((smtpmail-native-queue-error . ,text)
                      (smtpmail-native-queue-error-time . ,(format-time-string "%FT%T%z"))))))))

(defun smtpmail-native-queue--with-settings (file pairs function)
  "Call FUNCTION with the recipients of the queued FILE, whose variables are PAIRS.
It runs in a buffer holding the message, under the server settings the
message was queued with; without them, the current ones and
`smtpmail-native-accounts'.  Return what FUNCTION returns."
  (let ((recipients (alist-get 'smtpmail-recipient-address-list pairs))
        (stored (cl-remove-if-not (lambda (p) (memq (car p) smtpmail-native-queue--connection-variables))
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

(defun smtpmail-native-queue--send (file pairs)
  "Send the queued message FILE (stored variables PAIRS) in its own session."
  (smtpmail-native-queue--with-settings
   file pairs (lambda (recipients) (smtpmail-native--deliver recipients (current-buffer)))))

(defun smtpmail-native-queue--connection-key ()
  "What decides the connection, from the variables as bound now.
Messages with equal keys can share one SMTP session."
  (list smtpmail-smtp-server smtpmail-smtp-service smtpmail-stream-type smtpmail-smtp-user
        smtpmail-auth-supported smtpmail-native-trust-file))

(defun smtpmail-native-queue--groups (files)
  "Group the queued FILES that can share a session, keeping the queue's order.
Return a list of (KEY FILE...); files that cannot be read stand alone."
  (let ((groups nil))
    (dolist (file files)
      (let ((key (condition-case nil
                     (smtpmail-native-queue--with-settings
                      file (smtpmail-native-queue--read-variables (concat file ".el"))
                      (lambda (_) (smtpmail-native-queue--connection-key)))
                   (error (list 'alone file))))
            (group nil))
        (if (setq group (assoc key groups))
            (setcdr group (append (cdr group) (list file)))
          (push (list key file) groups))))
    (nreverse groups)))

(defun smtpmail-native-queue--retry-alone-p (err)
  "Non-nil when the failed ERR deserves a session of its own.
A 4xx is retried per `smtpmail-retries', and a 530 asks for
credentials, as a message sent alone would."
  (or (eq (car err) 'smtpmail-native-temporary-error)
      (eql (nth 2 err) 530)))

(defun smtpmail-native-queue--flush-group (files)
  "Send the queued FILES over one SMTP session; return their outcomes.
Each outcome is (FILE . t) when sent or (FILE . ERROR-TEXT).  A sent
message leaves the queue as soon as the server accepted it; a refused
one stays with its error recorded; a 4xx or 530 is retried alone."
  (let* ((pairs (mapcar (lambda (f) (smtpmail-native-queue--read-variables (concat f ".el"))) files))
         (messages (cl-mapcar
                    (lambda (file p)
                      (smtpmail-native-queue--with-settings
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
              (cond ((keywordp (car outcome))  ; a result plist, not (ERROR-SYMBOL . DATA)
                     (smtpmail-native-queue--drop file)
                     (push (cons file t) outcomes))
                    ((smtpmail-native-queue--retry-alone-p outcome) (push file alone))
                    (t (let ((text (smtpmail-native--error-text outcome)))
                         (smtpmail-native-queue--record-failure file (nth index pairs) text)
                         (push (cons file text) outcomes))))))))
    (smtpmail-native-queue--with-settings
     (car files) (car pairs)
     (lambda (_)
       (let* ((host (or smtpmail-smtp-server (error "`smtpmail-smtp-server' not defined")))
              (trace (smtpmail-native--trace-writer host))
              (ask (and smtpmail-servers-requiring-authorization
                        (string-match-p smtpmail-servers-requiring-authorization host))))
         (smtpmail-native--call-module
          #'smtpmail-native-send-batch host ask trace
          (list :messages messages :on-outcome on-outcome)))))
    (dolist (file (nreverse alone))
      (push (cons file (smtpmail-native-queue--flush-one file)) outcomes))
    (nreverse outcomes)))

(defun smtpmail-native-queue--flush-one (file)
  "Send the queued message FILE; return t, or the error text when it failed.
A sent message leaves the queue at once; a failed one stays, with its
error recorded.  A message whose files are gone leaves the index, and
the result is `missing'."
  (let ((el (concat file ".el")))
    (if (not (and (file-exists-p file) (file-exists-p el)))
        (progn (smtpmail-native-queue--drop file)
               (message "Queued mail %s is missing; removed from the index" file)
               'missing)
      (let ((pairs (smtpmail-native-queue--read-variables el)))
        (condition-case err
            (progn (smtpmail-native-queue--send file pairs)
                   (smtpmail-native-queue--drop file)
                   t)
          (smtpmail-native-error
           (smtpmail-native--quit-if-interrupted err)
           (let ((text (smtpmail-native--error-text err)))
             (smtpmail-native-queue--record-failure file pairs text)
             text))
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
still sent.  Return a plist (:sent N :failed ((FILE . ERROR) ...))."
  (interactive)
  (let* ((entries (smtpmail-native-queue--entries))
         (total (length entries))
         (reporter (make-progress-reporter "Sending queued mail..." 0 total))
         (done 0)
         (sent 0)
         (failed nil))
    (dolist (group (smtpmail-native-queue--groups entries))
      (dolist (result (if (cddr group)
                          (smtpmail-native-queue--flush-group (cdr group))
                        (list (cons (cadr group) (smtpmail-native-queue--flush-one (cadr group))))))
        (let ((file (car result)) (outcome (cdr result)))
          (cond ((eq outcome t) (cl-incf sent))
                ((eq outcome 'missing))
                (t (push (cons file outcome) failed)
                   (message "Queued mail %s not sent: %s" (file-name-nondirectory file) outcome))))
        (progress-reporter-update reporter (cl-incf done))))
    (progress-reporter-done reporter)
    (setq failed (nreverse failed))
    (message "%s" (cond ((zerop total) "No queued mail")
                        ((null failed) (format "Sent %d queued message%s" sent (if (= sent 1) "" "s")))
                        (t (format "Sent %d queued message%s; %d stay queued (first error: %s)"
                                   sent (if (= sent 1) "" "s") (length failed) (cdar failed)))))
    (list :sent sent :failed failed)))

(provide 'smtpmail-native-queue)

;;; smtpmail-native-queue.el ends here
