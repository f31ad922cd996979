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

;; The list of background sends (smtpmail-native-async.el's jobs), with
;; cancel and retry.

;;; Code:

(require 'tabulated-list)
(require 'subr-x)
(require 'smtpmail-native-async)
(require 'smtpmail-native-queue)
(require 'smtpmail-native-flush)

(declare-function smtpmail-native-cancel-job "ext:smtpmail-native-module" (job))

(defvar smtpmail-native-jobs-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map "c" #'smtpmail-native-jobs-cancel)
    (define-key map "r" #'smtpmail-native-jobs-retry)
    map)
  "Keymap of `smtpmail-native-jobs-mode'.")

(define-derived-mode smtpmail-native-jobs-mode tabulated-list-mode "SMTP Jobs"
  "The background sends of smtpmail-native.
\\<smtpmail-native-jobs-mode-map>\\[smtpmail-native-jobs-cancel] cancels the send at point (its message is queued),
\\[smtpmail-native-jobs-retry] sends a failed or cancelled one again (a held one,
which the server may have, after confirmation),
\\[revert-buffer] refreshes.

\\{smtpmail-native-jobs-mode-map}"
  (setq tabulated-list-format [("Id" 4 smtpmail-native-jobs--id< :right-align t)
                               ("State" 10 t)
                               ("Progress" 9 nil :right-align t)
                               ("Server" 18 t)
                               ("To" 28 t)
                               ("Subject" 24 t)
                               ("Reply or error" 0 nil)]
        tabulated-list-sort-key nil)
  (add-hook 'tabulated-list-revert-hook #'smtpmail-native-jobs--refresh nil t)
  (tabulated-list-init-header))

(defun smtpmail-native-jobs--id< (a b)
  "Non-nil when the job of entry A was started before that of entry B."
  (< (smtpmail-native-async--job-id (car a)) (smtpmail-native-async--job-id (car b))))

(defun smtpmail-native-jobs--row (job)
  "The tabulated-list entry of JOB."
  (let ((progress (smtpmail-native-async--progress job)))
    (list job
          (vector (number-to-string (smtpmail-native-async--job-id job))
                  (symbol-name (smtpmail-native-async--job-state job))
                  (if (> (cdr progress) 0)
                      (format "%d%%" (floor (* 100.0 (car progress)) (cdr progress)))
                    "")
                  (smtpmail-native-async--job-host job)
                  (string-join (smtpmail-native-async--job-recipients job) ", ")
                  (or (smtpmail-native-async--job-subject job) "")
                  (or (smtpmail-native-async--job-message job)
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

(defun smtpmail-native-jobs-cancel (job)
  "Cancel the background send JOB (at point); its message is queued."
  (interactive (list (smtpmail-native-jobs--at-point)) smtpmail-native-jobs-mode)
  (pcase (smtpmail-native-async--job-state job)
    ('sending (smtpmail-native-cancel-job (smtpmail-native-async--job-handle job)))
    ('waiting (smtpmail-native-async--failed
               job (list 'smtpmail-native-cancelled "cancelled while waiting to retry"
                        :delivery 'not-sent)))
    (state (user-error "This send has ended (%s)" state))))

(defun smtpmail-native-jobs-retry (job)
  "Send the failed, cancelled or held JOB (at point) again, in the background.
It is sent from the queue, with the settings stored there, and leaves
the queue when the server accepts it.  A held job's message may have
reached the server already; interactively that is confirmed first."
  (interactive
   (let ((job (smtpmail-native-jobs--at-point)))
     (when (and (eq (smtpmail-native-async--job-state job) 'held)
                (not (yes-or-no-p "The server may already have this message.  Send it again? ")))
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
