;;; smtpmail-native-jobs.el --- M-x smtpmail-native-jobs: the background sends, listed  -*- lexical-binding: t; -*-

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

;; The list of background sends (smtpmail-native-async.el's jobs): when
;; each started and how long it took, the server's final reply (with its
;; queue id) or the error, each job's transcript; cancel, retry what can
;; succeed, take back a delayed send, forget finished rows.

;;; Code:

(require 'tabulated-list)
(require 'subr-x)
(require 'smtpmail-native-async)
(require 'smtpmail-native-queue)
(require 'smtpmail-native-flush)

(declare-function smtpmail-native-cancel-job "ext:smtpmail-native-module" (job))

(defvar smtpmail-native-jobs-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "RET") #'smtpmail-native-jobs-trace)
    (define-key map "c" #'smtpmail-native-jobs-cancel)
    (define-key map "r" #'smtpmail-native-jobs-retry)
    (define-key map "d" #'smtpmail-native-jobs-delete)
    (define-key map "u" #'smtpmail-native-jobs-undo)
    (define-key map "q" #'quit-window)
    map)
  "Keymap of `smtpmail-native-jobs-mode'.")

(define-derived-mode smtpmail-native-jobs-mode tabulated-list-mode "SMTP Jobs"
  "The background sends of smtpmail-native.
\\<smtpmail-native-jobs-mode-map>
\\[smtpmail-native-jobs-trace] shows the transcript of the send at point,
\\[smtpmail-native-jobs-cancel] cancels it (its message is queued),
\\[smtpmail-native-jobs-retry] sends a failed or cancelled one again (a refused or held
one only after you confirm: it would be refused again, or the server
may have it),
\\[smtpmail-native-jobs-undo] takes back a send still waiting `smtpmail-native-send-delay',
\\[smtpmail-native-jobs-delete] removes a finished row, \\[revert-buffer] refreshes,
\\[quit-window] quits.

\\{smtpmail-native-jobs-mode-map}"
  (setq tabulated-list-format [("Id" 4 smtpmail-native-jobs--id< :right-align t)
                               ("State" 9 t)
                               ("Started" 8 t)
                               ("Took" 6 smtpmail-native-jobs--duration< :right-align t)
                               ("Progress" 8 nil :right-align t)
                               ("Server" 16 t)
                               ("To" 24 t)
                               ("Subject" 20 t)
                               ("Reply or error" 0 nil)]
        tabulated-list-sort-key nil)
  (add-hook 'tabulated-list-revert-hook #'smtpmail-native-jobs--refresh nil t)
  (tabulated-list-init-header))

(defun smtpmail-native-jobs--id< (a b)
  "Non-nil when the job of entry A was started before that of entry B."
  (< (smtpmail-native-async--job-id (car a)) (smtpmail-native-async--job-id (car b))))

(defun smtpmail-native-jobs--duration (job)
  "Seconds JOB took, or has taken so far."
  (float-time (time-subtract (or (smtpmail-native-async--job-finished job) (current-time))
                             (smtpmail-native-async--job-started job))))

(defun smtpmail-native-jobs--duration< (a b)
  "Non-nil when the job of entry A took less time than that of entry B."
  (< (smtpmail-native-jobs--duration (car a)) (smtpmail-native-jobs--duration (car b))))

(defun smtpmail-native-jobs--row (job)
  "The tabulated-list entry of JOB."
  (let ((progress (smtpmail-native-async--progress job))
        (took (smtpmail-native-jobs--duration job)))
    (list job
          (vector (number-to-string (smtpmail-native-async--job-id job))
                  (symbol-name (smtpmail-native-async--job-state job))
                  (format-time-string "%H:%M:%S" (smtpmail-native-async--job-started job))
                  (if (< took 10) (format "%.1fs" took) (format "%ds" (round took)))
                  (if (> (cdr progress) 0)
                      (format "%d%%" (floor (* 100.0 (car progress)) (cdr progress)))
                    "")
                  (smtpmail-native-async--job-host job)
                  (string-join (smtpmail-native-async--job-recipients job) ", ")
                  (or (smtpmail-native-async--job-subject job) "")
                  (or (smtpmail-native-async--job-reply job)
                      (smtpmail-native-async--job-message job)
                      (smtpmail-native-async--job-error-text job)
                      "")))))

(defun smtpmail-native-jobs--refresh ()
  "Recompute the rows of the jobs list."
  (setq tabulated-list-entries (mapcar #'smtpmail-native-jobs--row smtpmail-native-async--jobs)))

;;;###autoload (autoload 'smtpmail-native-jobs "smtpmail-native" nil t)
(defun smtpmail-native-jobs ()
  "List the background sends: running, waiting, sent, failed and cancelled."
  (interactive)
  (let ((buffer (get-buffer-create "*smtpmail-native jobs*")))
    (with-current-buffer buffer
      (smtpmail-native-jobs-mode)
      (smtpmail-native-jobs--refresh)
      (tabulated-list-print))
    (pop-to-buffer buffer)))

(defun smtpmail-native-jobs--at-point ()
  "The job on this line, or an error."
  (or (tabulated-list-get-id) (user-error "No send on this line")))

(defun smtpmail-native-jobs-trace (job)
  "Show the transcript of the background send JOB (at point).
It is the module's transcript, with every secret already replaced by
<redacted>, the last lines of each attempt of this one send."
  (interactive (list (smtpmail-native-jobs--at-point)) smtpmail-native-jobs-mode)
  (let ((buffer (get-buffer-create (format "*smtpmail-native trace of send %d*"
                                           (smtpmail-native-async--job-id job)))))
    (with-current-buffer buffer
      (let ((inhibit-read-only t))
        (erase-buffer)
        (dolist (line (reverse (smtpmail-native-async--job-trace job)))
          (insert line "\n"))
        (when (zerop (buffer-size))
          (insert "(no transcript: the send has not started)\n"))
        (goto-char (point-min)))
      (special-mode))
    (pop-to-buffer buffer)
    buffer))

(defun smtpmail-native-jobs-cancel (job)
  "Cancel the background send JOB (at point); its message is queued."
  (interactive (list (smtpmail-native-jobs--at-point)) smtpmail-native-jobs-mode)
  (pcase (smtpmail-native-async--job-state job)
    ('sending (smtpmail-native-cancel-job (smtpmail-native-async--job-handle job)))
    ((or 'waiting 'delayed)
     (when-let ((timer (smtpmail-native-async--job-timer job))) (cancel-timer timer))
     (smtpmail-native-async--failed
      job (list 'smtpmail-native-cancelled "cancelled before it was sent" :delivery 'not-sent)))
    (state (user-error "This send has ended (%s)" state))))

(defun smtpmail-native-jobs-undo (job)
  "Take back the send JOB (at point, or else the most recent delayed one).
See `smtpmail-native-undo-send'."
  (interactive (list (let ((job (tabulated-list-get-id)))
                       (and job (eq (smtpmail-native-async--job-state job) 'delayed) job)))
               smtpmail-native-jobs-mode)
  (smtpmail-native-undo-send job))

(defun smtpmail-native-jobs-delete (job)
  "Remove the finished background send JOB (at point) from the list."
  (interactive (list (smtpmail-native-jobs--at-point)) smtpmail-native-jobs-mode)
  (when (smtpmail-native-async--active-p job)
    (user-error "This send has not ended; %s cancels it"
                (substitute-command-keys "\\<smtpmail-native-jobs-mode-map>\\[smtpmail-native-jobs-cancel]")))
  (setq smtpmail-native-async--jobs (delq job smtpmail-native-async--jobs))
  (smtpmail-native-async--update))

(defconst smtpmail-native-jobs--transient
  '(smtpmail-native-temporary-error smtpmail-native-connection-error smtpmail-native-timeout
    smtpmail-native-cancelled)
  "Errors after which the same message, sent again unchanged, can succeed.")

(defun smtpmail-native-jobs--retry-question (job)
  "The question to ask before retrying JOB, or nil when a retry can succeed."
  (let ((error-symbol (smtpmail-native-async--job-error-symbol job))
        (why (or (smtpmail-native-async--job-error-text job) "")))
    (cond ((eq (smtpmail-native-async--job-state job) 'held)
           "The server may already have this message.  Send it again? ")
          ((memq (smtpmail-native-async--job-state job) '(cancelled)) nil)
          ((memq error-symbol smtpmail-native-jobs--transient) nil)
          ((eq error-symbol 'smtpmail-native-permanent-error)
           (format "The server refused this message for good (%s): sent unchanged, it will be \
refused again.  Fix the address or the message first (M-x smtpmail-native-queue, e edits it).  \
Send it unchanged anyway? " why))
          (t (format "This send failed with %s: unless the settings changed, it will fail again.  \
Send it anyway? " why)))))

(defun smtpmail-native-jobs-retry (job)
  "Send the failed, cancelled or held JOB (at point) again, in the background.
It is sent from the queue, with the settings stored there, and leaves
the queue when the server accepts it.  A transient failure (4xx, no
connection, a timeout) or a cancelled send is retried at once; one
that cannot succeed unchanged (a 5xx refusal, a refused login) and a
held one, which the server may have, only after you confirm."
  (interactive
   (let* ((job (smtpmail-native-jobs--at-point))
          (question (and (memq (smtpmail-native-async--job-state job) '(failed cancelled held))
                         (smtpmail-native-jobs--retry-question job))))
     (when (and question (not (yes-or-no-p question)))
       (user-error "Not sent"))
     (list job))
   smtpmail-native-jobs-mode)
  (let ((file (smtpmail-native-async--job-queue-file job)))
    (unless (memq (smtpmail-native-async--job-state job) '(failed cancelled held))
      (user-error "Only a failed, cancelled or held send can be retried"))
    (unless (and file (file-exists-p file))
      (user-error "The message is no longer in the queue"))
    (smtpmail-native-flush--with-settings
     file (smtpmail-native-queue--read-variables (concat file ".el"))
     (lambda (recipients) (smtpmail-native-async--submit recipients file)))
    ;; The new job carries the message on; this row stays as history.
    (setf (smtpmail-native-async--job-state job) 'retried)
    (smtpmail-native-async--update)))

(provide 'smtpmail-native-jobs)

;;; smtpmail-native-jobs.el ends here
