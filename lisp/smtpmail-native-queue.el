;;; smtpmail-native-queue.el --- smtpmail's mail queue: its files, written safely  -*- lexical-binding: t; -*-

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
;; goes on with the next one.  A message the server may have (delivery
;; status unknown: no verdict after the final dot) is marked held there,
;; with the reason; a flush leaves it alone until the user asks for it
;; (Emacs's own `smtpmail-send-queued-mail' does not know the mark).
;;
;; This file owns the files only; smtpmail-native-flush.el sends them.

;;; Code:

(require 'smtpmail)
(require 'cl-lib)

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

;;;; Leaving the queue, recording failures

(defun smtpmail-native-queue--drop (file)
  "Remove FILE from the index, then delete it and its .el file.
Quitting is held off so that the index never lists a deleted file."
  (let ((inhibit-quit t))
    (smtpmail-native-queue--update-index (lambda (entries) (remove file entries)))
    (dolist (f (list file (concat file ".el")))
      (when (file-exists-p f) (delete-file f)))))

(defun smtpmail-native-queue--record-failure (file pairs text &optional held)
  "Record the error TEXT in the .el file of the queued FILE, given its PAIRS.
With HELD non-nil the message is also marked held: the server may
have it (delivery status unknown), so a flush must not send it again
unless the user asks for that message.  Without, any held mark goes."
  (let ((pairs (cl-remove-if (lambda (p) (memq (car p) '(smtpmail-native-queue-error
                                                         smtpmail-native-queue-error-time
                                                         smtpmail-native-queue-held)))
                             pairs)))
    (smtpmail-native-queue--write
     (concat file ".el")
     (smtpmail-native-queue--format
      (append pairs
              `((smtpmail-native-queue-error . ,text)
                (smtpmail-native-queue-error-time . ,(format-time-string "%FT%T%z")))
              (and held `((smtpmail-native-queue-held . ,text))))))))

(defun smtpmail-native-queue--held (pairs)
  "Return why the queued message with PAIRS is held, or nil when it is not."
  (alist-get 'smtpmail-native-queue-held pairs))

(provide 'smtpmail-native-queue)

;;; smtpmail-native-queue.el ends here
