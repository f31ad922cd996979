;;; smtpmail-native-async.el --- Background sends: jobs, progress, no silent failure  -*- lexical-binding: t; -*-

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

;; With `smtpmail-native-async' set, `smtpmail-native-send-it' hands the
;; prepared message to the module's worker threads
;; (`smtpmail-native-send-async') and returns.  This file keeps track of
;; those jobs:
;;
;; - a job that fails goes into smtpmail's queue with its error, and a
;;   warning names the recipients and the server's reply; a 4xx is first
;;   retried (in the background) up to `smtpmail-retries' times;
;; - the mode line shows "Sending 2 mails… 45%" while jobs run, and
;;   M-x smtpmail-native-jobs lists them, with cancel and retry;
;; - exiting Emacs with jobs running asks first, and whatever is still
;;   unsent when Emacs exits is queued;
;; - `smtpmail-native-after-send-functions' and
;;   `smtpmail-native-send-failure-functions' tell mail clients the outcome
;;   of every send, background or not.
;;
;; smtpmail-native.el loads this file.

;;; Code:

(require 'smtpmail)
(require 'tabulated-list)
(require 'cl-lib)
(require 'subr-x)

(declare-function smtpmail-native-send-async "ext:smtpmail-native-module" (callback &rest args))
(declare-function smtpmail-native-job-status "ext:smtpmail-native-module" (job))
(declare-function smtpmail-native-cancel-job "ext:smtpmail-native-module" (job))
(declare-function message-narrow-to-headers-or-head "message" ())
(declare-function smtpmail-native-set-max-jobs "ext:smtpmail-native-module" (n))
(declare-function smtpmail-native--jobs-drain "ext:smtpmail-native-module"
                  (&optional process output))
(declare-function smtpmail-native--module-arguments "smtpmail-native"
                  (host ask trace message-args))
(declare-function smtpmail-native--envelope-from "smtpmail-native" ())
(declare-function smtpmail-native--message-bytes "smtpmail-native" ())
(declare-function smtpmail-native--message-id "smtpmail-native" ())
(declare-function smtpmail-native--queue-variables "smtpmail-native" ())
(declare-function smtpmail-native--trace-writer "smtpmail-native" (host))
(declare-function smtpmail-native--error-text "smtpmail-native" (err))
(declare-function smtpmail-native--ensure-module "smtpmail-native" ())
(declare-function smtpmail-native-queue--add "smtpmail-native-queue" (data recipients variables))
(declare-function smtpmail-native-queue--drop "smtpmail-native-queue" (file))
(declare-function smtpmail-native-queue--read-variables "smtpmail-native-queue" (file))
(declare-function smtpmail-native-queue--record-failure "smtpmail-native-queue" (file pairs text))
(declare-function smtpmail-native-queue--with-settings "smtpmail-native-queue"
                  (file pairs function))

(defcustom smtpmail-native-max-jobs 4
  "How many background sends may talk to servers at once.
Further sends wait for a free worker, in order."
  :type 'natnum
  :version "28.1"
  :group 'smtpmail-native)

(defcustom smtpmail-native-after-send-functions nil
  "Functions called after a message was sent, in the background or not.
Each is called with the message's Message-ID (a string, or nil when
it has none) and the result plist of `smtpmail-native-send'."
  :type 'hook
  :version "28.1"
  :group 'smtpmail-native)

(defcustom smtpmail-native-send-failure-functions nil
  "Functions called after sending a message failed.
Each is called with the message's Message-ID (or nil), the error
\(ERROR-SYMBOL . DATA), and the file the message was queued as (a
background send), or nil (a send that signalled the error itself)."
  :type 'hook
  :version "28.1"
  :group 'smtpmail-native)

(defcustom smtpmail-native-jobs-history 100
  "How many finished background sends `smtpmail-native-jobs' keeps listing."
  :type 'natnum
  :version "28.1"
  :group 'smtpmail-native)

;;;; Jobs

(cl-defstruct (smtpmail-native-async--job (:constructor smtpmail-native-async--job-create)
                                          (:copier nil))
  "One message sent in the background, across its attempts."
  (id nil :documentation "A small number, for people.")
  (handle nil :documentation "The module's job of the current attempt.")
  (state 'sending :documentation "sending, waiting (to retry), sent, failed, cancelled.")
  host recipients subject message-id data
  (variables nil :documentation "(VARIABLE . VALUE) pairs stored with the message if queued.")
  (args nil :documentation "The module's keyword arguments, reused by a retry.")
  (finish nil :documentation "Called with each attempt's outcome (credentials).")
  (attempt 1)
  (queue-file nil :documentation "The queue file holding the message, if queued.")
  (error-text nil)
  (started nil)
  (finished nil))

(defvar smtpmail-native-async--jobs nil
  "Background sends of this session, newest first.")

(defvar smtpmail-native-async--counter 0
  "The id of the last job created.")

(defun smtpmail-native-async--active-p (job)
  "Non-nil when JOB has not reached its outcome yet."
  (memq (smtpmail-native-async--job-state job) '(sending waiting)))

(defun smtpmail-native-async--active-jobs ()
  "The jobs still sending or waiting to retry, oldest first."
  (reverse (cl-remove-if-not #'smtpmail-native-async--active-p smtpmail-native-async--jobs)))

(defun smtpmail-native-async--run-after-send (message-id result)
  "Run `smtpmail-native-after-send-functions' for MESSAGE-ID and RESULT.
Return RESULT."
  (with-demoted-errors "smtpmail-native-after-send-functions: %S"
    (run-hook-with-args 'smtpmail-native-after-send-functions message-id result))
  result)

(defun smtpmail-native-async--run-failure (message-id err queue-file)
  "Run `smtpmail-native-send-failure-functions' for MESSAGE-ID, ERR and QUEUE-FILE."
  (with-demoted-errors "smtpmail-native-send-failure-functions: %S"
    (run-hook-with-args 'smtpmail-native-send-failure-functions message-id err queue-file)))

(defun smtpmail-native-async--submit (recipients &optional queue-file)
  "Send the message in this buffer to RECIPIENTS in the background; return the job.
smtpmail's variables, as bound now, choose the server.  QUEUE-FILE is
the queue file already holding the message (a retry from the queue):
it leaves the queue when the message is sent."
  (smtpmail-native--ensure-module)
  (unless smtpmail-smtp-server
    (smtpmail-query-smtp-server))
  (let* ((host (or smtpmail-smtp-server (error "`smtpmail-smtp-server' not defined")))
         (recipients (mapcar #'smtpmail-maybe-append-domain recipients))
         (ask (and smtpmail-servers-requiring-authorization
                   (string-match-p smtpmail-servers-requiring-authorization host)))
         (trace (smtpmail-native--trace-writer host))
         (data (smtpmail-native--message-bytes))
         (job (smtpmail-native-async--job-create
               :id (cl-incf smtpmail-native-async--counter)
               :host host :recipients recipients :data data
               :message-id (smtpmail-native--message-id)
               :subject (save-restriction
                          (message-narrow-to-headers-or-head)
                          (mail-fetch-field "subject"))
               ;; A failed background send is retried from the queue, maybe
               ;; with other settings in force: keep the server with it.
               :variables (let ((smtpmail-store-queue-variables t))
                            (smtpmail-native--queue-variables))
               :queue-file queue-file
               :started (current-time)))
         (call (smtpmail-native--module-arguments
                host ask trace
                (list :from (smtpmail-native--envelope-from) :recipients recipients :data data))))
    (setf (smtpmail-native-async--job-args job) (car call)
          (smtpmail-native-async--job-finish job) (cdr call))
    (push job smtpmail-native-async--jobs)
    (smtpmail-native-async--launch job)
    job))

(defun smtpmail-native-async--launch (job)
  "Start the next attempt of JOB on a worker thread."
  (smtpmail-native-set-max-jobs (max 1 smtpmail-native-max-jobs))
  (setf (smtpmail-native-async--job-state job) 'sending
        (smtpmail-native-async--job-handle job) nil)
  (condition-case err
      (setf (smtpmail-native-async--job-handle job)
            (apply #'smtpmail-native-send-async
                   (lambda (outcome) (smtpmail-native-async--done job outcome))
                   (smtpmail-native-async--job-args job)))
    ;; Refused before it started (a bad argument, no password): the
    ;; message must not be lost either.
    (error (smtpmail-native-async--done job err))
    ;; C-g at the password prompt: the user gave up this send.
    (quit (setq smtpmail-native-async--jobs (delq job smtpmail-native-async--jobs))
          (smtpmail-native-async--update)
          (signal 'quit nil)))
  (smtpmail-native-async--update))

(defun smtpmail-native-async--done (job outcome)
  "Record OUTCOME of JOB's attempt: a result plist, or (ERROR-SYMBOL . DATA)."
  (when (eq (smtpmail-native-async--job-state job) 'sending) ; not already settled at exit
    (funcall (smtpmail-native-async--job-finish job) outcome)
    (cond
     ((keywordp (car-safe outcome))
      (smtpmail-native-async--succeeded job outcome))
     ((and (eq (car outcome) 'smtpmail-native-temporary-error)
           (< (smtpmail-native-async--job-attempt job) smtpmail-retries))
      (setf (smtpmail-native-async--job-state job) 'waiting
            (smtpmail-native-async--job-error-text job) (smtpmail-native--error-text outcome))
      (cl-incf (smtpmail-native-async--job-attempt job))
      (run-at-time 1 nil (lambda ()
                           (when (eq (smtpmail-native-async--job-state job) 'waiting)
                             (smtpmail-native-async--launch job)))))
     (t (smtpmail-native-async--failed job outcome))))
  (smtpmail-native-async--update))

(defun smtpmail-native-async--succeeded (job result)
  "JOB was sent with RESULT: leave the queue, tell the hooks."
  (setf (smtpmail-native-async--job-state job) 'sent
        (smtpmail-native-async--job-error-text job) nil
        (smtpmail-native-async--job-finished job) (current-time))
  (when-let ((file (smtpmail-native-async--job-queue-file job)))
    (smtpmail-native-queue--drop file))
  (message "Sent mail to %s" (string-join (smtpmail-native-async--job-recipients job) ", "))
  (smtpmail-native-async--run-after-send (smtpmail-native-async--job-message-id job) result))

(defun smtpmail-native-async--queue (job text)
  "Make sure JOB's message is in the queue with the error TEXT; return its file."
  (let ((file (or (smtpmail-native-async--job-queue-file job)
                  (smtpmail-native-queue--add (smtpmail-native-async--job-data job)
                                              (smtpmail-native-async--job-recipients job)
                                              (smtpmail-native-async--job-variables job)))))
    (setf (smtpmail-native-async--job-queue-file job) file)
    (smtpmail-native-queue--record-failure
     file (smtpmail-native-queue--read-variables (concat file ".el")) text)
    file))

(defun smtpmail-native-async--failed (job err)
  "JOB ended with the error ERR: queue the message, warn, tell the hooks."
  (let* ((cancelled (eq (car err) 'smtpmail-native-cancelled))
         (text (smtpmail-native--error-text err))
         (file (smtpmail-native-async--queue job text))
         (to (string-join (smtpmail-native-async--job-recipients job) ", ")))
    (setf (smtpmail-native-async--job-state job) (if cancelled 'cancelled 'failed)
          (smtpmail-native-async--job-error-text job) text
          (smtpmail-native-async--job-finished job) (current-time))
    (if cancelled
        (message "Sending to %s cancelled; the mail is queued" to)
      (display-warning
       'smtpmail-native
       (format-message (substitute-command-keys "Mail to %s was not sent: %s\nIt is queued as %s; \
\\[smtpmail-native-send-queued-mail] sends it again, \\[smtpmail-native-jobs] lists the sends.")
                       to text (file-name-nondirectory file))
       :error))
    (smtpmail-native-async--run-failure (smtpmail-native-async--job-message-id job) err file)))

(defun smtpmail-native-async--forget-old ()
  "Keep only `smtpmail-native-jobs-history' finished jobs."
  (let ((finished 0))
    (setq smtpmail-native-async--jobs
          (cl-remove-if (lambda (job)
                          (and (not (smtpmail-native-async--active-p job))
                               (> (cl-incf finished) smtpmail-native-jobs-history)))
                        smtpmail-native-async--jobs))))

;;;; Progress: the mode line and a timer while jobs run

(defvar smtpmail-native-mode-line-string ""
  "What the mode line shows about background sends.")
(put 'smtpmail-native-mode-line-string 'risky-local-variable t)

(defvar smtpmail-native-async--timer nil
  "Refreshes the progress display while jobs run.")

(defun smtpmail-native-async--progress (job)
  "Return (SENT . TOTAL) message bytes of JOB's current attempt."
  (let ((status (and (eq (smtpmail-native-async--job-state job) 'sending)
                     (smtpmail-native-async--job-handle job)
                     (smtpmail-native-job-status (smtpmail-native-async--job-handle job)))))
    (cons (or (plist-get status :sent) 0) (or (plist-get status :total) 0))))

(defun smtpmail-native-async--mode-line-text (jobs)
  "The mode-line text for the active JOBS, \"\" when there are none."
  (if (null jobs)
      ""
    (let* ((progress (mapcar #'smtpmail-native-async--progress jobs))
           (sent (apply #'+ (mapcar #'car progress)))
           (total (apply #'+ (mapcar #'cdr progress))))
      (format " Sending %d mail%s…%s" (length jobs) (if (cdr jobs) "s" "")
              (if (> total 0) (format " %d%%" (floor (* 100.0 sent) total)) "")))))

(defun smtpmail-native-async--update ()
  "Refresh the mode line and the jobs list; run the timer while jobs are active."
  (smtpmail-native-async--forget-old)
  (let ((active (smtpmail-native-async--active-jobs)))
    (setq smtpmail-native-mode-line-string (smtpmail-native-async--mode-line-text active))
    (when active
      (unless (listp global-mode-string)
        (setq global-mode-string (list global-mode-string)))
      (unless (memq 'smtpmail-native-mode-line-string global-mode-string)
        (setq global-mode-string (append global-mode-string '(smtpmail-native-mode-line-string)))))
    (cond ((and active (not smtpmail-native-async--timer))
           (setq smtpmail-native-async--timer
                 (run-at-time 0.5 0.5 #'smtpmail-native-async--update)))
          ((and (not active) smtpmail-native-async--timer)
           (cancel-timer smtpmail-native-async--timer)
           (setq smtpmail-native-async--timer nil))))
  (force-mode-line-update t)
  (when-let ((buffer (get-buffer "*smtpmail-native jobs*")))
    (with-current-buffer buffer
      (revert-buffer))))

;;;; Exiting Emacs: ask, and queue what is unsent

(defun smtpmail-native-async--kill-emacs-query ()
  "Ask before exiting while mail is being sent; non-nil means exit."
  (let ((n (length (smtpmail-native-async--active-jobs))))
    (or (zerop n)
        (yes-or-no-p (format "%d mail%s still being sent; exit anyway (unsent mail is queued)? "
                             n (if (= n 1) " is" "s are"))))))

(defun smtpmail-native-async--kill-emacs ()
  "Queue every message not sent yet, as Emacs exits."
  (when (fboundp 'smtpmail-native--jobs-drain)
    (smtpmail-native--jobs-drain))      ; outcomes already known come first
  (dolist (job (smtpmail-native-async--active-jobs))
    (let* ((handle (smtpmail-native-async--job-handle job))
           (state (and handle (progn (smtpmail-native-cancel-job handle)
                                     (plist-get (smtpmail-native-job-status handle) :state)))))
      ;; A job that got its 250 just before the cancel was sent.
      (if (eq state 'succeeded)
          (setf (smtpmail-native-async--job-state job) 'sent)
        (setf (smtpmail-native-async--job-state job) 'failed)
        (smtpmail-native-async--queue
         job "Emacs exited before the message was sent (if it was in DATA, the server may have it)")))))

(add-hook 'kill-emacs-query-functions #'smtpmail-native-async--kill-emacs-query)
(add-hook 'kill-emacs-hook #'smtpmail-native-async--kill-emacs)

;;;; M-x smtpmail-native-jobs

(defvar smtpmail-native-jobs-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map "c" #'smtpmail-native-jobs-cancel)
    (define-key map "r" #'smtpmail-native-jobs-retry)
    map)
  "Keymap of `smtpmail-native-jobs-mode'.")

(define-derived-mode smtpmail-native-jobs-mode tabulated-list-mode "SMTP Jobs"
  "The background sends of smtpmail-native.
\\<smtpmail-native-jobs-mode-map>\\[smtpmail-native-jobs-cancel] cancels the send at point (its message is queued),
\\[smtpmail-native-jobs-retry] sends a failed or cancelled one again,
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
                  (or (smtpmail-native-async--job-error-text job) "")))))

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
               job (list 'smtpmail-native-cancelled "cancelled while waiting to retry")))
    (state (user-error "This send has ended (%s)" state))))

(defun smtpmail-native-jobs-retry (job)
  "Send the failed or cancelled JOB (at point) again, in the background.
It is sent from the queue, with the settings stored there, and leaves
the queue when the server accepts it."
  (interactive (list (smtpmail-native-jobs--at-point)) smtpmail-native-jobs-mode)
  (let ((file (smtpmail-native-async--job-queue-file job)))
    (unless (memq (smtpmail-native-async--job-state job) '(failed cancelled))
      (user-error "Only a failed or cancelled send can be retried"))
    (unless (and file (file-exists-p file))
      (user-error "The message is no longer in the queue"))
    (smtpmail-native-queue--with-settings
     file (smtpmail-native-queue--read-variables (concat file ".el"))
     (lambda (recipients) (smtpmail-native-async--submit recipients file)))
    ;; The new job carries the message on; this row stays as history.
    (setf (smtpmail-native-async--job-state job) 'retried)
    (smtpmail-native-async--update)))

(provide 'smtpmail-native-async)

;;; smtpmail-native-async.el ends here
