;;; smtpmail-native-async.el --- Background sends: jobs, progress, no silent failure  -*- lexical-binding: t; -*-

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

;; With `smtpmail-native-async' set, `smtpmail-native-send-it' hands the
;; prepared message to the module's worker threads
;; (`smtpmail-native-send-async') and returns.  This file keeps track of
;; those jobs:
;;
;; - a job that fails goes into smtpmail's queue with its error, and a
;;   warning names the recipients and the server's reply; a 4xx is first
;;   retried (in the background) up to `smtpmail-retries' times;
;; - the mode line shows "Sending 2 mails… 45%" while jobs run
;;   (M-x smtpmail-native-jobs, in smtpmail-native-jobs.el, lists them);
;; - exiting Emacs with jobs running asks first, and whatever is still
;;   unsent when Emacs exits is queued;
;; - `smtpmail-native-after-send-functions' and
;;   `smtpmail-native-send-failure-functions' tell mail clients the outcome
;;   of every send, background or not.

;;; Code:

(require 'smtpmail)
(require 'cl-lib)
(require 'subr-x)
(require 'smtpmail-native-send)        ; and through it -loader and -config
(require 'smtpmail-native-queue)

(declare-function smtpmail-native-send-async "ext:smtpmail-native-module" (callback &rest args))
(declare-function smtpmail-native-job-status "ext:smtpmail-native-module" (job))
(declare-function smtpmail-native-cancel-job "ext:smtpmail-native-module" (job))
(declare-function smtpmail-native-set-max-jobs "ext:smtpmail-native-module" (n))
(declare-function smtpmail-native--warm-up "ext:smtpmail-native-module" (size))
(declare-function smtpmail-native--jobs-drain "ext:smtpmail-native-module"
                  (&optional process output))

(defvar smtpmail-native-max-jobs)
(defvar smtpmail-native-jobs-history)
(defvar smtpmail-native-send-delay)
(defvar smtpmail-native-mode-line-indicator)
(defvar smtpmail-native-warm-up)
(defvar smtpmail-native-async)

(declare-function smtpmail-native-queue "smtpmail-native-queue-ui" ())
(declare-function smtpmail-native-jobs "smtpmail-native-jobs" ())
(autoload 'message-mode "message" nil t)

;;;; Jobs

(cl-defstruct (smtpmail-native-async--job (:constructor smtpmail-native-async--job-create)
                                          (:copier nil))
  "One message sent in the background, across its attempts."
  (id nil :documentation "A small number, for people.")
  (handle nil :documentation "The module's job of the current attempt.")
  (state 'sending :documentation "delayed (before it connects), sending,
waiting (to retry), sent, failed, cancelled, held (the server may have
it: queued, not resent by a flush), retried, undone.")
  host recipients subject message-id
  (data nil :documentation "The message (bytes, or a message file), until the job ends.")
  (variables nil :documentation "(VARIABLE . VALUE) pairs stored with the message if queued.")
  (args nil :documentation "The module's keyword arguments, reused by a retry; until the end.")
  (finish nil :documentation "Called with each attempt's outcome (credentials); until the end.")
  (attempt 1)
  (queue-file nil :documentation "The queue file holding the message, if queued.")
  (error-text nil)
  (message nil :documentation "The module's own message about the failure.")
  (error-symbol nil :documentation "The symbol of the error it failed with.")
  (reply nil :documentation "The server's final reply (its queue id).")
  (trace nil :documentation "The redacted transcript, newest line first.")
  (trace-length 0)
  (timer nil :documentation "While delayed: the timer that starts it.")
  (composition nil :documentation "While delayed: the message as composed.")
  (started nil)
  (finished nil))

(defconst smtpmail-native-async--trace-limit 400
  "How many transcript lines a job keeps (the last ones).")

(defvar smtpmail-native-async--jobs nil
  "Background sends of this session, newest first.")

(defvar smtpmail-native-async--counter 0
  "The id of the last job created.")

(defun smtpmail-native-async--active-p (job)
  "Non-nil when JOB has not reached its outcome yet."
  (memq (smtpmail-native-async--job-state job) '(delayed sending waiting)))

(defun smtpmail-native-async--active-jobs ()
  "The jobs still delayed, sending or waiting to retry, oldest first."
  (reverse (cl-remove-if-not #'smtpmail-native-async--active-p smtpmail-native-async--jobs)))

(defun smtpmail-native-async--record-trace (job lines)
  "Add the transcript LINES (a list of strings) to JOB's, keeping the last ones."
  (dolist (line (ensure-list lines))
    (push line (smtpmail-native-async--job-trace job))
    (cl-incf (smtpmail-native-async--job-trace-length job)))
  (let ((excess (- (smtpmail-native-async--job-trace-length job) smtpmail-native-async--trace-limit)))
    (when (> excess 0)
      (setf (smtpmail-native-async--job-trace job)
            (butlast (smtpmail-native-async--job-trace job) excess)
            (smtpmail-native-async--job-trace-length job) smtpmail-native-async--trace-limit))))

(defun smtpmail-native-async--submit (recipients &optional queue-file composition)
  "Send the message in this buffer to RECIPIENTS in the background; return the job.
smtpmail's variables, as bound now, choose the server.  QUEUE-FILE is
the queue file already holding the message (a retry from the queue):
it leaves the queue when the message is sent.  With
`smtpmail-native-send-delay' positive and COMPOSITION (the message as
the user wrote it) given, the send waits that long before it connects,
and \\[smtpmail-native-undo-send] can take it back."
  (smtpmail-native--ensure-module)
  (let* ((session (smtpmail-native--session))
         (host (plist-get session :host))
         (recipients (mapcar #'smtpmail-maybe-append-domain recipients))
         (data (smtpmail-native--message-data))
         (job (smtpmail-native-async--job-create
               :id (cl-incf smtpmail-native-async--counter)
               :host host :recipients recipients :data data
               :message-id (smtpmail-native--header "message-id")
               :subject (smtpmail-native--header "subject")
               ;; A failed background send is retried from the queue, maybe
               ;; with other settings in force: keep the server with it.
               :variables (let ((smtpmail-store-queue-variables t))
                            (smtpmail-native--queue-variables))
               :queue-file queue-file
               :started (current-time)))
         (write-trace (smtpmail-native--trace-writer host))
         (call (smtpmail-native--module-arguments
                session (lambda (lines)
                          (smtpmail-native-async--record-trace job lines)
                          (funcall write-trace lines))
                (list :from (smtpmail-native--envelope-from) :recipients recipients :data data))))
    (setf (smtpmail-native-async--job-args job) (car call)
          (smtpmail-native-async--job-finish job) (cdr call))
    (push job smtpmail-native-async--jobs)
    (if (and composition (> smtpmail-native-send-delay 0))
        (smtpmail-native-async--delay job composition)
      (smtpmail-native-async--launch job))
    job))

(defun smtpmail-native-async--say (text)
  "Show TEXT in the echo area now, and again once the sending command is done.
message.el says \"Sending...done\" after the send function returns,
which would hide what became of the mail."
  (message "%s" text)
  (run-at-time 0 nil #'message "%s" text))

(defun smtpmail-native-async--delay (job composition)
  "Start JOB after `smtpmail-native-send-delay' seconds; keep COMPOSITION.
An undo reopens COMPOSITION, the message as the user wrote it."
  (setf (smtpmail-native-async--job-state job) 'delayed
        (smtpmail-native-async--job-composition job) composition
        (smtpmail-native-async--job-timer job)
        (run-at-time smtpmail-native-send-delay nil
                     (lambda ()
                       (when (eq (smtpmail-native-async--job-state job) 'delayed)
                         (setf (smtpmail-native-async--job-composition job) nil
                               (smtpmail-native-async--job-timer job) nil)
                         (smtpmail-native-async--launch job)))))
  (smtpmail-native-async--say
   (format (substitute-command-keys "Sending mail to %s in %s seconds; \
\\[smtpmail-native-undo-send] takes it back")
           (string-join (smtpmail-native-async--job-recipients job) ", ")
           smtpmail-native-send-delay))
  (smtpmail-native-async--update))

;;;###autoload (autoload 'smtpmail-native-undo-send "smtpmail-native" nil t)
(defun smtpmail-native-undo-send (&optional job)
  "Take back the most recent send still waiting `smtpmail-native-send-delay'.
Nothing was sent: the message comes back in a `message-mode' buffer,
as it was when you sent it, to edit and send again.  JOB is the send
to take back (from the jobs list); return the buffer."
  (interactive)
  (let ((job (or job
                 (cl-find 'delayed smtpmail-native-async--jobs :key #'smtpmail-native-async--job-state)
                 (user-error "No send is waiting to be taken back"))))
    (unless (eq (smtpmail-native-async--job-state job) 'delayed)
      (user-error "This send is no longer waiting (%s)" (smtpmail-native-async--job-state job)))
    (cancel-timer (smtpmail-native-async--job-timer job))
    (let ((buffer (generate-new-buffer "*unsent mail*"))
          (composition (smtpmail-native-async--job-composition job)))
      (setf (smtpmail-native-async--job-state job) 'undone
            (smtpmail-native-async--job-finished job) (current-time)
            (smtpmail-native-async--job-composition job) nil
            (smtpmail-native-async--job-timer job) nil)
      (smtpmail-native-async--release job)
      (with-current-buffer buffer
        (insert composition)
        (message-mode)
        (goto-char (point-min)))
      (smtpmail-native-async--update)
      (pop-to-buffer-same-window buffer)
      (message "Mail to %s not sent; it is back for editing"
               (string-join (smtpmail-native-async--job-recipients job) ", "))
      buffer)))

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
  "Record OUTCOME of JOB's attempt: a result plist, or an error.
An error is (ERROR-SYMBOL MESSAGE . PLIST)."
  (when (eq (smtpmail-native-async--job-state job) 'sending) ; not already settled at exit
    (funcall (smtpmail-native-async--job-finish job) outcome)
    (cond
     ((keywordp (car-safe outcome))
      (smtpmail-native-async--succeeded job outcome))
     ((and (eq (car outcome) 'smtpmail-native-temporary-error)
           (eq (smtpmail-native--outcome outcome :delivery) 'not-sent)
           (< (smtpmail-native-async--job-attempt job) smtpmail-retries))
      (setf (smtpmail-native-async--job-state job) 'waiting
            (smtpmail-native-async--job-error-text job) (smtpmail-native--error-text outcome))
      (cl-incf (smtpmail-native-async--job-attempt job))
      (run-at-time 1 nil (lambda ()
                           (when (eq (smtpmail-native-async--job-state job) 'waiting)
                             (smtpmail-native-async--launch job)))))
     (t (smtpmail-native-async--failed job outcome))))
  (smtpmail-native-async--update))

(defun smtpmail-native-async--release (job)
  "Drop what JOB no longer needs once it ended: the message and the credentials.
The message is sent or in the queue; the arguments hold the password
and token functions.  What is left is what the jobs list shows."
  (smtpmail-native--release-data (smtpmail-native-async--job-data job))
  (setf (smtpmail-native-async--job-data job) nil
        (smtpmail-native-async--job-args job) nil
        (smtpmail-native-async--job-finish job) nil
        (smtpmail-native-async--job-handle job) nil
        (smtpmail-native-async--job-composition job) nil
        (smtpmail-native-async--job-timer job) nil))

(defun smtpmail-native-async--succeeded (job result)
  "JOB was sent with RESULT: leave the queue, tell the hooks."
  (setf (smtpmail-native-async--job-state job) 'sent
        (smtpmail-native-async--job-error-text job) nil
        (smtpmail-native-async--job-reply job)
        (let ((code (plist-get result :code)) (reply (plist-get result :reply)))
          (if code (format "%s %s" code (or reply "")) reply))
        (smtpmail-native-async--job-finished job) (current-time))
  (when-let ((file (smtpmail-native-async--job-queue-file job)))
    (smtpmail-native-queue--drop file))
  (smtpmail-native-async--release job)
  (message "Sent mail to %s" (string-join (smtpmail-native-async--job-recipients job) ", "))
  (smtpmail-native--run-after-send (smtpmail-native-async--job-message-id job) result))

(defun smtpmail-native-async--queue (job text &optional held)
  "Make sure JOB's message is in the queue with the error TEXT; return its file.
HELD non-nil marks it held: the server may have it."
  (let ((file (or (smtpmail-native-async--job-queue-file job)
                  (smtpmail-native-queue--add (smtpmail-native--data-bytes
                                               (smtpmail-native-async--job-data job))
                                              (smtpmail-native-async--job-recipients job)
                                              (smtpmail-native-async--job-variables job)))))
    (setf (smtpmail-native-async--job-queue-file job) file)
    (smtpmail-native-queue--record-failure
     file (smtpmail-native-queue--read-variables (concat file ".el")) text held)
    file))

(defun smtpmail-native-async--links ()
  "A line of buttons to the queue browser and the jobs list, for a warning."
  (concat "\n  "
          (make-text-button "[Queued mail]" nil 'action (lambda (_) (smtpmail-native-queue))
                            'help-echo "M-x smtpmail-native-queue: list the queued mail")
          "  "
          (make-text-button "[Background sends]" nil 'action (lambda (_) (smtpmail-native-jobs))
                            'help-echo "M-x smtpmail-native-jobs: list the background sends")))

(defun smtpmail-native-async--failed (job err)
  "JOB ended with the error ERR: queue the message, warn, tell the hooks.
When the server may have the message (delivery status unknown), it
is queued held, which a flush does not send again."
  (let* ((state (cond ((smtpmail-native--delivery-unknown-p err) 'held)
                      ((eq (car err) 'smtpmail-native-cancelled) 'cancelled)
                      (t 'failed)))
         (text (smtpmail-native--error-text err))
         (file (smtpmail-native-async--queue job text (eq state 'held)))
         (to (string-join (smtpmail-native-async--job-recipients job) ", ")))
    (setf (smtpmail-native-async--job-state job) state
          (smtpmail-native-async--job-error-text job) text
          (smtpmail-native-async--job-message job) (and (stringp (nth 1 err)) (nth 1 err))
          (smtpmail-native-async--job-error-symbol job) (car err)
          (smtpmail-native-async--job-finished job) (current-time))
    (smtpmail-native-async--release job)
    (pcase state
      ('cancelled (message "Sending to %s cancelled; the mail is queued" to))
      ('held
       (display-warning
        'smtpmail-native
        (concat
         (format-message (substitute-command-keys "Mail to %s: %s\nThe server may have it, so it \
is held in the queue as %s and not sent again by \\[smtpmail-native-send-queued-mail]; \
\\[smtpmail-native-send-queued-message] sends it if it did not arrive.")
                        to text (file-name-nondirectory file))
        (smtpmail-native-async--links))
        :warning))
      (_
       (display-warning
        'smtpmail-native
        (concat
         (format-message (substitute-command-keys "Mail to %s was not sent: %s\nIt is queued as %s; \
\\[smtpmail-native-send-queued-mail] sends it again, \\[smtpmail-native-jobs] lists the sends.")
                        to text (file-name-nondirectory file))
        (smtpmail-native-async--links))
        :error)))
    (smtpmail-native--run-failure (smtpmail-native-async--job-message-id job) err file)))

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
  "The mode-line text for the active JOBS, \"\" when there are none.
Also \"\" when `smtpmail-native-mode-line-indicator' is nil."
  (if (or (null jobs) (not smtpmail-native-mode-line-indicator))
      ""
    (let* ((progress (mapcar #'smtpmail-native-async--progress jobs))
           (sent (apply #'+ (mapcar #'car progress)))
           (total (apply #'+ (mapcar #'cdr progress))))
      (format " Sending %d mail%s…%s%s" (length jobs) (if (cdr jobs) "s" "")
              (if (> total 0) (format " %d%%" (floor (* 100.0 sent) total)) "")
              (if (cl-find 'delayed jobs :key #'smtpmail-native-async--job-state)
                  " (undo possible)" "")))))

(defun smtpmail-native-async--update ()
  "Refresh the mode line and the jobs list; run the timer while jobs are active."
  (smtpmail-native-async--forget-old)
  (let ((active (smtpmail-native-async--active-jobs)))
    (setq smtpmail-native-mode-line-string (smtpmail-native-async--mode-line-text active))
    (when (and active smtpmail-native-mode-line-indicator)
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

;;;; The first send of a session, made ready while the user writes

(defvar smtpmail-native-async--warm nil
  "Non-nil once background sends were made ready in this session.")

(defun smtpmail-native-async--warm-up ()
  "Make the first background send as quick to start as the later ones.
Load the module, start its workers, have it prepare
`smtpmail-native-warm-up' bytes of memory for the message, and load
what a send loads on first use.  Once per session; nothing without
`smtpmail-native-async' or a built module."
  (when (and smtpmail-native-async smtpmail-native-warm-up (not smtpmail-native-async--warm)
             (smtpmail-native-module-file-name))
    (setq smtpmail-native-async--warm t)
    (with-demoted-errors "smtpmail-native warm-up: %S"
      (smtpmail-native-module-load)
      (smtpmail-native--warm-up smtpmail-native-warm-up)
      ;; What smtpmail-send-it loads on its first call: the address parser, mail aliases.
      (require 'mail-extr)
      (require 'mailalias))))

(defun smtpmail-native-async--warm-up-soon ()
  "Warm up for the first background send once Emacs is idle (a message is begun)."
  (unless smtpmail-native-async--warm
    (run-with-idle-timer 1 nil #'smtpmail-native-async--warm-up)))

(add-hook 'message-setup-hook #'smtpmail-native-async--warm-up-soon)
(add-hook 'mail-setup-hook #'smtpmail-native-async--warm-up-soon)

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
      (cond ((eq state 'succeeded)
             (setf (smtpmail-native-async--job-state job) 'sent))
            ((eq (smtpmail-native-async--job-state job) 'delayed)
             (cancel-timer (smtpmail-native-async--job-timer job))
             (setf (smtpmail-native-async--job-state job) 'failed)
             (smtpmail-native-async--queue
              job "Emacs exited while the send was delayed; nothing was sent"))
            (t
             (setf (smtpmail-native-async--job-state job) 'failed)
             (smtpmail-native-async--queue
              job "Emacs exited before the message was sent (if it was in DATA, the server may have it)"))))))

(add-hook 'kill-emacs-query-functions #'smtpmail-native-async--kill-emacs-query)
(add-hook 'kill-emacs-hook #'smtpmail-native-async--kill-emacs)

(provide 'smtpmail-native-async)

;;; smtpmail-native-async.el ends here
