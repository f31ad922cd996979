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
;; (mode 0600) and renamed into place, in a directory kept at 0700; a
;; message that fails stays queued with its error recorded in its .el
;; file (as variables smtpmail ignores) and the flush goes on with the
;; next one.  A message the server may have (delivery status unknown: no
;; verdict after the final dot) is marked held there, with the reason; a
;; flush leaves it alone until the user asks for it (Emacs's own
;; `smtpmail-send-queued-mail' does not know the mark).
;;
;; A flush marks a sent message by deleting its files, at once, and
;; rewrites the index once at the end: an index line whose data file is
;; gone is a message already sent (or deleted), and every reader here
;; drops it.  Before each session the flush writes the journal,
;; `smtpmail-native-queue--journal-name', naming the messages it is about
;; to send in order; a message decided without leaving the queue
;; (refused, held) is added to it as done.  A journal still there when
;; the next flush starts means the last one was cut short (Emacs killed):
;; its first message still queued and not done may be at the server, so
;; it is held (`smtpmail-native-queue--recover').
;;
;; This file owns the files only; smtpmail-native-flush.el sends them.

;;; Code:

(require 'smtpmail)
(require 'cl-lib)
(require 'subr-x)

;;;; Files

(defun smtpmail-native-queue--directory ()
  "Return `smtpmail-queue-dir', made (or kept) private: mode 0700."
  (let ((dir (file-name-as-directory (expand-file-name smtpmail-queue-dir))))
    (unless (file-directory-p dir)
      (with-file-modes #o700 (make-directory dir t)))
    (unless (zerop (logand (file-modes dir) #o077))
      (set-file-modes dir #o700))
    dir))

(defun smtpmail-native-queue--write (file bytes &optional no-sync)
  "Replace FILE with BYTES (unibyte, or ASCII only) atomically, mode 0600.
BYTES go to a temporary file in FILE's directory, which is renamed
over FILE: a reader sees the old file or the new one, never a part.
The temporary file is synced to disk first, unless NO-SYNC."
  (let ((temp (with-file-modes #o600
                (make-temp-file (expand-file-name ".smtpmail-native-" (file-name-directory file))
                                nil ".tmp"))))
    (condition-case err
        (let ((coding-system-for-write 'no-conversion)
              (write-region-inhibit-fsync no-sync))
          (write-region bytes nil temp nil 'silent)
          (set-file-modes temp #o600)
          (rename-file temp file t))
      ((error quit)
       (ignore-errors (delete-file temp))
       (signal (car err) (cdr err))))))

(defun smtpmail-native-queue--index-file ()
  "Return the file name of the queue's index."
  (expand-file-name smtpmail-queue-index-file (smtpmail-native-queue--directory)))

(defun smtpmail-native-queue--index-lines ()
  "Return the lines of the index, in order (nil without an index)."
  (let ((index (smtpmail-native-queue--index-file)))
    (and (file-exists-p index)
         (with-temp-buffer
           (let ((coding-system-for-read 'utf-8-unix))
             (insert-file-contents index))
           (split-string (buffer-string) "\n" t)))))

(defun smtpmail-native-queue--entries ()
  "Return the queued data files the index lists, in order.
A line whose data file is gone names a message a flush sent (its
files are deleted first, the index rewritten at the end): left out."
  (cl-remove-if-not #'file-exists-p (smtpmail-native-queue--index-lines)))

(defun smtpmail-native-queue--write-index (entries)
  "Replace the index with the data files ENTRIES."
  (smtpmail-native-queue--write
   (smtpmail-native-queue--index-file)
   (encode-coding-string (mapconcat (lambda (file) (concat file "\n")) entries "")
                         'utf-8-unix)))

(defun smtpmail-native-queue--update-index (function)
  "Rewrite the index as FUNCTION transforms its list of entries."
  (smtpmail-native-queue--write-index (funcall function (smtpmail-native-queue--entries))))

(defun smtpmail-native-queue--prune-index ()
  "Rewrite the index without the lines of sent messages, when it has any.
A sent message's data file is gone; its .el file, if a crash left it,
goes too.  Quitting is held off: the index is replaced whole or not."
  (let* ((inhibit-quit t)
         (lines (smtpmail-native-queue--index-lines))
         (kept (cl-remove-if-not #'file-exists-p lines)))
    (unless (= (length kept) (length lines))
      (dolist (file (cl-set-difference lines kept :test #'equal))
        (ignore-errors (delete-file (concat file ".el"))))
      (smtpmail-native-queue--write-index kept))))

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
    ('smtpmail-native-queue-attempts (natnump value))
    (_ (or (null value) (stringp value)))))

(defun smtpmail-native-queue--read-variables (file)
  "Return the (VARIABLE . VALUE) pairs of the queued .el FILE.
The form is read, never evaluated; like `smtpmail-send-queued-mail',
anything but one setq is refused."
  (with-temp-buffer (smtpmail-native-queue--variables-here file)))

(defun smtpmail-native-queue--variables-here (file)
  "As `smtpmail-native-queue--read-variables', FILE read into this buffer.
Whatever the buffer held is replaced; a flush reads every message's
.el file in the one buffer."
  (let ((form (progn
                (erase-buffer)
                (set-buffer-multibyte t)
                (let ((coding-system-for-read 'utf-8))
                  (insert-file-contents file))
                (goto-char (point-min))
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

(defun smtpmail-native-queue--mark-sent (file)
  "Mark the queued FILE sent: delete it, then its .el file.
The index is left as it is: the flush that sent FILE rewrites it once,
at its end (`smtpmail-native-queue--prune-index')."
  (let ((inhibit-quit t))
    (delete-file file)
    (delete-file (concat file ".el"))))

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
unless the user asks for that message.  Without, any held mark goes.
The count of failed attempts, `smtpmail-native-queue-attempts', goes up."
  (let ((attempts (1+ (smtpmail-native-queue--attempts pairs)))
        (pairs (cl-remove-if (lambda (p) (memq (car p) '(smtpmail-native-queue-error
                                                         smtpmail-native-queue-error-time
                                                         smtpmail-native-queue-held
                                                         smtpmail-native-queue-attempts)))
                             pairs)))
    (smtpmail-native-queue--write
     (concat file ".el")
     (smtpmail-native-queue--format
      (append pairs
              `((smtpmail-native-queue-error . ,text)
                (smtpmail-native-queue-error-time . ,(format-time-string "%FT%T%z"))
                (smtpmail-native-queue-attempts . ,attempts))
              (and held `((smtpmail-native-queue-held . ,text))))))))

(defun smtpmail-native-queue--attempts (pairs)
  "Return how many sends of the queued message with PAIRS failed (0 when none)."
  (or (alist-get 'smtpmail-native-queue-attempts pairs) 0))

(defun smtpmail-native-queue--held (pairs)
  "Return why the queued message with PAIRS is held, or nil when it is not."
  (alist-get 'smtpmail-native-queue-held pairs))

;;;; The journal of a flush: which message may be at the server after a crash

(defconst smtpmail-native-queue--journal-name ".smtpmail-native-sending"
  "The journal's file name in `smtpmail-queue-dir'.")

(defun smtpmail-native-queue--journal-file ()
  "Return the file name of the journal."
  (expand-file-name smtpmail-native-queue--journal-name (smtpmail-native-queue--directory)))

(defun smtpmail-native-queue--journal-start (files)
  "Write the journal: the queued FILES are about to be sent, in this order.
Not synced to disk: it guards against Emacs being killed, and so do
the deletions that mark messages sent."
  (let ((print-length nil) (print-level nil) (print-escape-newlines t))
    (smtpmail-native-queue--write (smtpmail-native-queue--journal-file)
                                  (encode-coding-string (prin1-to-string (list :order files))
                                                        'utf-8-unix)
                                  t)))

(defun smtpmail-native-queue--journal-done (file)
  "Add to the journal that FILE was decided and stays queued (refused, held)."
  (let ((print-escape-newlines t)
        (coding-system-for-write 'utf-8-unix)
        (write-region-inhibit-fsync t))
    (write-region (prin1-to-string (list :done file)) nil
                  (smtpmail-native-queue--journal-file) t 'silent)))

(defun smtpmail-native-queue--journal-clear ()
  "Delete the journal: every message it names is decided and recorded."
  (let ((inhibit-quit t))
    (delete-file (smtpmail-native-queue--journal-file))))

(defun smtpmail-native-queue--journal-read ()
  "Return the journal's (ORDER . DONE) lists of files, or nil when none.
A record cut short by a crash is ignored."
  (let ((journal (smtpmail-native-queue--journal-file))
        (order nil) (done nil))
    (when (file-exists-p journal)
      (with-temp-buffer
        (let ((coding-system-for-read 'utf-8-unix))
          (insert-file-contents journal))
        (condition-case nil
            (while t
              (let ((form (read (current-buffer))))
                (pcase form
                  (`(:order ,files) (setq order files))
                  (`(:done ,file) (push file done)))))
          ((end-of-file invalid-read-syntax))))
      (cons order done))))

(defun smtpmail-native-queue--recover (&optional reason)
  "Hold the message a cut-short flush may have sent, and clear its journal.
That is the journal's first message still queued and not done: the
ones before it are decided, the ones after it were not begun.  REASON
is the text recorded; by default it says a flush was cut short.
Return the file held, or nil.  Stale index lines go too."
  (let ((inhibit-quit t)
        (journal (smtpmail-native-queue--journal-read))
        (held nil))
    (when journal
      (let ((file (cl-find-if (lambda (f) (and (file-exists-p f) (not (member f (cdr journal)))))
                              (car journal))))
        ;; An unreadable .el file cannot be sent by any flush: nothing to hold.
        (when-let ((pairs (and file (ignore-errors
                                      (smtpmail-native-queue--read-variables (concat file ".el"))))))
          (smtpmail-native-queue--record-failure
           file pairs (or reason "a flush was cut short while this message may have been \
sent: delivery status unknown, the server may have it")
           t)
          (setq held file)))
      (smtpmail-native-queue--journal-clear)
      (smtpmail-native-queue--prune-index))
    held))

(provide 'smtpmail-native-queue)

;;; smtpmail-native-queue.el ends here
