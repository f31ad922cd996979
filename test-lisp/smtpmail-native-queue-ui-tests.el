;;; smtpmail-native-queue-ui-tests.el --- The queue browser, the jobs list, undo send  -*- lexical-binding: t; -*-

;;; Commentary:
;; M-x smtpmail-native-queue, M-x smtpmail-native-jobs and M-x smtpmail-native-undo-send
;; against sink.py (storing every message, reporting every closed session, refusing
;; "reject..." recipients with a 550), driven through their keys: three messages queued,
;; one to a refused recipient; list, sort, view, edit, delete, send one, send all; a held
;; message skipped by S and by a flush; a delayed send taken back (nothing delivered,
;; the composition back as it was); the jobs list's columns, trace, delete, retry and undo.

;;; Code:

(require 'smtpmail-native-compat-fixture)  ; ert, cl-lib, smtpmail-native, test servers
(require 'message)
(require 'json)

(defvar smtpmail-auth-credentials)

;;;; Fixture

(defvar smtpmail-native-queue-ui-tests--port nil "The sink of the running test.")
(defvar smtpmail-native-queue-ui-tests--store nil "Where that sink stores messages.")
(defvar smtpmail-native-queue-ui-tests--messages nil "Texts given to `message', newest first.")
(defvar smtpmail-native-queue-ui-tests--warnings nil "Texts of `display-warning', newest first.")

(defmacro smtpmail-native-queue-ui-tests--with-sink (&rest body)
  "Run BODY with smtpmail queueing, for a fresh storing sink, and an empty queue.
The sink reports each closed session; `message' and `display-warning'
are recorded; the queue browser and jobs list buffers are killed after."
  (declare (indent 0) (debug t))
  `(smtpmail-native-compat--with-smtp
     (let* ((smtpmail-native-queue-ui-tests--store
             (let ((d (smtpmail-native-compat--fresh-file "sink-%d/")))
               (make-directory d t)
               d))
            (smtpmail-native-queue-ui-tests--port
             (smtpmail-native-test-servers-start-sink
              "--store" smtpmail-native-queue-ui-tests--store "--report-sessions"))
            (smtpmail-smtp-server "127.0.0.1")
            (smtpmail-smtp-service smtpmail-native-queue-ui-tests--port)
            (smtpmail-stream-type 'plain)
            (smtpmail-queue-dir (file-name-as-directory
                                 (smtpmail-native-compat--fresh-file "queue-%d")))
            (smtpmail-queue-mail t)
            (smtpmail-native-async nil)
            (smtpmail-native-send-delay 0)
            (smtpmail-native-async--jobs nil)
            (smtpmail-native-queue-ui-tests--messages nil)
            (smtpmail-native-queue-ui-tests--warnings nil))
       (cl-letf (((symbol-function 'display-warning)
                  (lambda (_type text &rest _) (push text smtpmail-native-queue-ui-tests--warnings))))
         (let ((original-message (symbol-function 'message)))
           (cl-letf (((symbol-function 'message)
                      (lambda (format-string &rest args)
                        (when format-string
                          (push (apply #'format-message format-string args)
                                smtpmail-native-queue-ui-tests--messages))
                        (apply original-message format-string args))))
             (unwind-protect
                 (progn ,@body)
               (dolist (job smtpmail-native-async--jobs)
                 (when-let ((timer (smtpmail-native-async--job-timer job))) (cancel-timer timer)))
               (dolist (name '("*smtpmail-native queue*" "*smtpmail-native jobs*"))
                 (when (get-buffer name) (kill-buffer name)))
               (smtpmail-native-test-servers-stop-sink smtpmail-native-queue-ui-tests--port))))))))

(defun smtpmail-native-queue-ui-tests--stored ()
  "The messages the sink stored, as strings, in the order received."
  (mapcar #'smtpmail-native-test-servers-read-file
          (sort (directory-files smtpmail-native-queue-ui-tests--store t "\\`[0-9]+\\.eml\\'")
                (lambda (a b) (< (string-to-number (file-name-base a))
                                 (string-to-number (file-name-base b)))))))

(defun smtpmail-native-queue-ui-tests--subjects ()
  "The Subject of every stored message, in order."
  (mapcar (lambda (bytes) (and (string-match "^Subject: \\([^\r\n]*\\)" bytes) (match-string 1 bytes)))
          (smtpmail-native-queue-ui-tests--stored)))

(defun smtpmail-native-queue-ui-tests--closed (n)
  "Wait until the sink reports its Nth session closed; non-nil when it did."
  (smtpmail-native-test-servers-sink-wait smtpmail-native-queue-ui-tests--port
                                          (format "^closed %d$" n)))

(defun smtpmail-native-queue-ui-tests--send (to subject &optional body)
  "Send (or queue) a message TO with SUBJECT through `smtpmail-native-send-it'."
  (with-temp-buffer
    (insert "From: sender@example.org\nTo: " to "\nSubject: " subject "\n"
            mail-header-separator "\n" (or body (format "Body of %s.\n" subject)))
    (smtpmail-native-send-it)))

(defun smtpmail-native-queue-ui-tests--queue-three ()
  "Queue three messages, the third to a recipient the sink refuses."
  (smtpmail-native-queue-ui-tests--send "alice@example.org" "one")
  (smtpmail-native-queue-ui-tests--send "bob@example.org" "two" (make-string 3000 ?b))
  (smtpmail-native-queue-ui-tests--send "reject-me@example.org" "three"))

(defun smtpmail-native-queue-ui-tests--rows ()
  "The queue browser's rows as lists of column strings, in the order shown."
  (with-current-buffer "*smtpmail-native queue*"
    (save-excursion
      (goto-char (point-min))
      (let (rows)
        (while (not (eobp))
          (when-let ((entry (tabulated-list-get-entry)))
            (push (append entry nil) rows))
          (forward-line 1))
        (nreverse rows)))))

(defun smtpmail-native-queue-ui-tests--goto (subject)
  "Move point in the queue browser to the row with SUBJECT."
  (set-buffer "*smtpmail-native queue*")
  (goto-char (point-min))
  (while (and (not (eobp)) (not (equal (aref (tabulated-list-get-entry) 3) subject)))
    (forward-line 1))
  (should (equal (aref (tabulated-list-get-entry) 3) subject)))

(defun smtpmail-native-queue-ui-tests--press (key &optional answer)
  "Run the command on KEY here, answering ANSWER to every question.
Return the questions asked.  Used in the queue browser and the jobs list."
  (let ((asked nil))
    (cl-letf (((symbol-function 'yes-or-no-p) (lambda (prompt) (push prompt asked) answer))
              ((symbol-function 'y-or-n-p) (lambda (prompt) (push prompt asked) answer)))
      (call-interactively (key-binding (kbd key))))
    asked))

(defun smtpmail-native-queue-ui-tests--entries ()
  "The queue's index entries."
  (smtpmail-native-queue--entries))

(defun smtpmail-native-queue-ui-tests--wait (predicate &optional seconds)
  "Process events until PREDICATE is non-nil or SECONDS (default 30) pass."
  (let ((deadline (+ (float-time) (or seconds 30))) value)
    (while (and (not (setq value (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.01))
    value))

;;;; Queuing says so

(ert-deftest smtpmail-native-queue-ui-queuing-says-so ()
  "Queuing a message says where it went and how many are queued."
  (smtpmail-native-queue-ui-tests--with-sink
    (smtpmail-native-queue-ui-tests--send "alice@example.org" "one")
    (should (equal (car smtpmail-native-queue-ui-tests--messages)
                   "Queued mail to alice@example.org (1 message in the queue; M-x smtpmail-native-queue)"))
    (smtpmail-native-queue-ui-tests--send "bob@example.org" "two")
    (should (member "Queued mail to bob@example.org (2 messages in the queue; M-x smtpmail-native-queue)"
                    smtpmail-native-queue-ui-tests--messages))
    (should-not (smtpmail-native-queue-ui-tests--stored))))

;;;; The queue browser

(ert-deftest smtpmail-native-queue-ui-list-and-sort ()
  "M-x smtpmail-native-queue lists each queued message with its columns; columns sort."
  (smtpmail-native-queue-ui-tests--with-sink
    (smtpmail-native-queue-ui-tests--queue-three)
    (save-window-excursion (smtpmail-native-queue))
    (let ((rows (smtpmail-native-queue-ui-tests--rows)))
      (should (equal (mapcar (lambda (r) (list (nth 1 r) (nth 2 r) (nth 3 r) (nth 5 r) (nth 6 r))) rows)
                     '(("sender@example.org" "alice@example.org" "one" "0" "queued")
                       ("sender@example.org" "bob@example.org" "two" "0" "queued")
                       ("sender@example.org" "reject-me@example.org" "three" "0" "queued"))))
      (dolist (row rows)
        (should (string-match-p "\\`20[0-9][0-9]-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]\\'" (nth 0 row)))))
    ;; Size: "two" is the big one; sorting by size puts it last, and again first.
    (with-current-buffer "*smtpmail-native queue*"
      (goto-char (point-min))
      (tabulated-list-sort 4)
      (should (equal (nth 3 (car (last (smtpmail-native-queue-ui-tests--rows)))) "two"))
      (tabulated-list-sort 4)
      (should (equal (nth 3 (car (smtpmail-native-queue-ui-tests--rows))) "two"))
      (tabulated-list-sort 3)
      (should (equal (mapcar (lambda (r) (nth 3 r)) (smtpmail-native-queue-ui-tests--rows))
                     '("one" "three" "two"))))))

(ert-deftest smtpmail-native-queue-ui-view ()
  "RET shows the queued message, decoded and read-only."
  (smtpmail-native-queue-ui-tests--with-sink
    (smtpmail-native-queue-ui-tests--send "alice@example.org" "Gr\u00fc\u00dfe" "Caf\u00e9 au lait.\n")
    (save-window-excursion
      (smtpmail-native-queue)
      (smtpmail-native-queue-ui-tests--goto "Gr\u00fc\u00dfe")
      (let ((buffer (progn (smtpmail-native-queue-ui-tests--press "RET") (current-buffer))))
        (with-current-buffer buffer
          (should buffer-read-only)
          (should (string-match-p "^Subject: Gr\u00fc\u00dfe$" (buffer-string)))
          (should (string-match-p "^To: alice@example.org$" (buffer-string)))
          (should (string-match-p "Caf" (buffer-string)))
          (should-error (insert "x") :type 'buffer-read-only))
        (kill-buffer buffer)))))

(ert-deftest smtpmail-native-queue-ui-delete ()
  "d marks, x deletes after confirmation (and not without it); the files go."
  (smtpmail-native-queue-ui-tests--with-sink
    (smtpmail-native-queue-ui-tests--queue-three)
    (let ((before (smtpmail-native-queue-ui-tests--entries)))
      (save-window-excursion
        (smtpmail-native-queue)
        (smtpmail-native-queue-ui-tests--goto "two")
        (smtpmail-native-queue-ui-tests--press "d")
        (smtpmail-native-queue-ui-tests--goto "two")
        (should (eq (char-after (line-beginning-position)) ?D))
        ;; Refused: nothing is deleted.
        (should (string-match-p "Delete 1 queued message for good"
                                (car (smtpmail-native-queue-ui-tests--press "x" nil))))
        (should (equal (smtpmail-native-queue-ui-tests--entries) before))
        (smtpmail-native-queue-ui-tests--press "x" t)
        (should (equal (smtpmail-native-queue-ui-tests--entries)
                       (list (nth 0 before) (nth 2 before))))
        (should-not (file-exists-p (nth 1 before)))
        (should-not (file-exists-p (concat (nth 1 before) ".el")))
        (should (equal (mapcar (lambda (r) (nth 3 r)) (smtpmail-native-queue-ui-tests--rows))
                       '("one" "three")))))))

(ert-deftest smtpmail-native-queue-ui-send-one ()
  "s sends the message at point (only it); a refused one stays with its error and a try counted."
  (smtpmail-native-queue-ui-tests--with-sink
    (smtpmail-native-queue-ui-tests--queue-three)
    (save-window-excursion
      (smtpmail-native-queue)
      (smtpmail-native-queue-ui-tests--goto "two")
      (smtpmail-native-queue-ui-tests--press "s")
      (should (smtpmail-native-queue-ui-tests--closed 1))
      (should (equal (smtpmail-native-queue-ui-tests--subjects) '("two")))
      (should (equal (mapcar (lambda (r) (nth 3 r)) (smtpmail-native-queue-ui-tests--rows))
                     '("one" "three")))
      (smtpmail-native-queue-ui-tests--goto "three")
      (smtpmail-native-queue-ui-tests--press "s")
      (should (smtpmail-native-queue-ui-tests--closed 2))
      (let ((row (cadr (smtpmail-native-queue-ui-tests--rows))))
        (should (equal (nth 3 row) "three"))
        (should (equal (nth 5 row) "1"))
        (should (string-match-p "\\`failed: .*550" (nth 6 row))))
      (should (equal (smtpmail-native-queue-ui-tests--subjects) '("two")))
      (should (= (length (smtpmail-native-queue-ui-tests--entries)) 2)))))

(ert-deftest smtpmail-native-queue-ui-send-all-skips-held ()
  "S sends all but the held message (and the refused one fails); a flush skips it too;
s sends it after confirmation."
  (smtpmail-native-queue-ui-tests--with-sink
    (smtpmail-native-queue-ui-tests--queue-three)
    (smtpmail-native-queue-ui-tests--send "dave@example.org" "held")
    (let ((held (car (last (smtpmail-native-queue-ui-tests--entries)))))
      ;; As the send core marks a message whose delivery status is unknown.
      (smtpmail-native-queue--record-failure
       held (smtpmail-native-queue--read-variables (concat held ".el"))
       "connection closed after the final dot (delivery status unknown)" t)
      (save-window-excursion
        (smtpmail-native-queue)
        (should (equal (nth 6 (nth 3 (smtpmail-native-queue-ui-tests--rows))) "held: delivery unknown"))
        (smtpmail-native-queue-ui-tests--press "S")
        ;; One session for the three (the same server); the refused one fails in it.
        (should (smtpmail-native-queue-ui-tests--closed 1))
        (should (equal (smtpmail-native-queue-ui-tests--subjects) '("one" "two")))
        (should (equal (mapcar (lambda (r) (list (nth 3 r) (substring (nth 6 r) 0 6)))
                               (smtpmail-native-queue-ui-tests--rows))
                       '(("three" "failed") ("held" "held: "))))
        ;; A flush: the refused one is tried again, the held one is not.
        (should (equal (plist-get (smtpmail-native-send-queued-mail) :held) (list held)))
        (should (smtpmail-native-queue-ui-tests--closed 2))
        (should (equal (smtpmail-native-queue-ui-tests--subjects) '("one" "two")))
        ;; s on it: asks, and sends only when told to.
        (smtpmail-native-queue-ui-tests--goto "held")
        (let ((questions nil))
          (cl-letf (((symbol-function 'yes-or-no-p) (lambda (p) (push p questions) nil)))
            (should-error (call-interactively #'smtpmail-native-queue-send) :type 'user-error))
          (should (string-match-p "may already have" (car questions))))
        (smtpmail-native-queue-ui-tests--goto "held")
        (smtpmail-native-queue-ui-tests--press "s" t)
        (should (smtpmail-native-queue-ui-tests--closed 3))
        (should (equal (smtpmail-native-queue-ui-tests--subjects) '("one" "two" "held")))
        (should (equal (mapcar (lambda (r) (nth 3 r)) (smtpmail-native-queue-ui-tests--rows))
                       '("three")))))))

(ert-deftest smtpmail-native-queue-ui-held-by-the-server ()
  "A message whose connection is cut after the final dot is held; S leaves it alone."
  (smtpmail-native-queue-ui-tests--with-sink
    (smtpmail-native-queue-ui-tests--send "dropafterdot@example.org" "maybe")
    (save-window-excursion
      (smtpmail-native-queue)
      (smtpmail-native-queue-ui-tests--goto "maybe")
      (smtpmail-native-queue-ui-tests--press "s")
      (should (smtpmail-native-queue-ui-tests--closed 1))
      (let ((row (car (smtpmail-native-queue-ui-tests--rows))))
        (should (equal (list (nth 2 row) (nth 3 row) (nth 5 row) (nth 6 row))
                       '("dropafterdot@example.org" "maybe" "1" "held: delivery unknown"))))
      (smtpmail-native-queue-ui-tests--send "alice@example.org" "control")
      (smtpmail-native-queue-ui-tests--press "S")
      (should (smtpmail-native-queue-ui-tests--closed 2))
      (should (equal (smtpmail-native-queue-ui-tests--subjects) '("maybe" "control")))
      (should (equal (mapcar (lambda (r) (nth 3 r)) (smtpmail-native-queue-ui-tests--rows))
                     '("maybe"))))))

(ert-deftest smtpmail-native-queue-ui-edit-and-send ()
  "e opens the message in message-mode (Bcc kept); sending it replaces the queued copy."
  (smtpmail-native-queue-ui-tests--with-sink
    (with-temp-buffer
      (insert "From: sender@example.org\nTo: alice@example.org\nBcc: hidden@example.org\n"
              "Subject: draft\n" mail-header-separator "\nCaf\u00e9 first version.\n")
      (smtpmail-native-send-it))
    (smtpmail-native-queue-ui-tests--send "bob@example.org" "other")
    (save-window-excursion
      (smtpmail-native-queue)
      (smtpmail-native-queue-ui-tests--goto "draft")
      (smtpmail-native-queue-ui-tests--press "e")
      (should (derived-mode-p 'message-mode))
      (should (equal (message-fetch-field "bcc") "hidden@example.org"))
      (should (equal (message-fetch-field "subject") "draft"))
      (should (string-search (concat mail-header-separator "\nCaf\u00e9 first version.\n") (buffer-string)))
      (message-goto-subject)
      (insert " (edited)")
      (let ((smtpmail-queue-mail nil)
            (message-interactive nil))
        (message-send))
      (should (smtpmail-native-queue-ui-tests--closed 1))
      (let ((stored (smtpmail-native-queue-ui-tests--stored)))
        (should (= (length stored) 1))
        (should (string-match-p "^Subject: draft (edited)\r$" (car stored)))
        (should (string-match-p "first version" (car stored))))
      ;; The Bcc recipient is still in the envelope.
      (should (equal (sort (append (alist-get 'rcpt_to
                                              (json-read-file
                                               (expand-file-name "1.json" smtpmail-native-queue-ui-tests--store)))
                                   nil)
                           #'string<)
                     '("alice@example.org" "hidden@example.org")))
      (kill-buffer)
      (should (equal (mapcar (lambda (r) (nth 3 r)) (smtpmail-native-queue-ui-tests--rows))
                     '("other"))))))

(ert-deftest smtpmail-native-queue-ui-edit-and-requeue ()
  "e, then sending with `smtpmail-queue-mail' set: the edited copy replaces the old one."
  (smtpmail-native-queue-ui-tests--with-sink
    (smtpmail-native-queue-ui-tests--send "alice@example.org" "draft")
    (let ((old (car (smtpmail-native-queue-ui-tests--entries))))
      (save-window-excursion
        (smtpmail-native-queue)
        (smtpmail-native-queue-ui-tests--goto "draft")
        (smtpmail-native-queue-ui-tests--press "e")
        (message-goto-subject)
        (insert " v2")
        (let ((message-interactive nil)) (message-send))
        (kill-buffer)
        (let ((entries (smtpmail-native-queue-ui-tests--entries)))
          (should (= (length entries) 1))
          (should-not (equal (car entries) old))
          (should-not (file-exists-p old))
          (should (string-match-p "^Subject: draft v2$"
                                  (smtpmail-native-test-servers-read-file (car entries)))))
        (should (equal (mapcar (lambda (r) (nth 3 r)) (smtpmail-native-queue-ui-tests--rows))
                       '("draft v2")))))
    (should-not (smtpmail-native-test-servers-sink-wait smtpmail-native-queue-ui-tests--port
                                                        "^closed" 0.2))))

(ert-deftest smtpmail-native-queue-ui-smtpmail-queue-both-ways ()
  "A queue written by smtpmail is listed; after a failed try recorded by us,
smtpmail's own flush still reads and sends it."
  (smtpmail-native-queue-ui-tests--with-sink
    (with-temp-buffer
      (insert "From: sender@example.org\nTo: rejectonce@example.org\nSubject: by smtpmail\n"
              mail-header-separator "\nQueued by smtpmail.\n")
      (smtpmail-send-it))
    (save-window-excursion
      (smtpmail-native-queue)
      (should (equal (mapcar (lambda (r) (list (nth 2 r) (nth 3 r) (nth 6 r)))
                             (smtpmail-native-queue-ui-tests--rows))
                     '(("rejectonce@example.org" "by smtpmail" "queued"))))
      (smtpmail-native-queue-ui-tests--goto "by smtpmail")
      (smtpmail-native-queue-ui-tests--press "s")
      (should (smtpmail-native-queue-ui-tests--closed 1))
      (should (string-match-p "\\`failed: .*550" (nth 6 (car (smtpmail-native-queue-ui-tests--rows)))))
      (should (equal (nth 5 (car (smtpmail-native-queue-ui-tests--rows))) "1")))
    (let ((smtpmail-queue-mail nil)
          (smtpmail-auth-credentials nil))
      (smtpmail-send-queued-mail))
    (should (smtpmail-native-queue-ui-tests--closed 2))
    (should (equal (smtpmail-native-queue-ui-tests--subjects) '("by smtpmail")))
    (should-not (smtpmail-native-queue-ui-tests--entries))))

;;;; Undo send

(defmacro smtpmail-native-queue-ui-tests--with-async (delay &rest body)
  "Run BODY sending in the background with the send delay DELAY, to the sink."
  (declare (indent 1) (debug t))
  `(smtpmail-native-queue-ui-tests--with-sink
     (let ((smtpmail-queue-mail nil)
           (smtpmail-native-async t)
           (smtpmail-native-send-delay ,delay))
       (unwind-protect (progn ,@body)
         (dolist (job (smtpmail-native-async--active-jobs))
           (when (smtpmail-native-async--job-handle job)
             (smtpmail-native-cancel-job (smtpmail-native-async--job-handle job))))
         (smtpmail-native-queue-ui-tests--wait
          (lambda () (null (cl-remove 'delayed (smtpmail-native-async--active-jobs)
                                      :key #'smtpmail-native-async--job-state)))
          10)))))

(defconst smtpmail-native-queue-ui-tests--composition
  (concat "From: sender@example.org\nTo: alice@example.org\nSubject: regret\n"
          "--text follows this line--\n"
          "<#part type=text/plain>\nI take it back: caf\u00e9.\n<#/part>\n")
  "A message as composed in message-mode, MML tag and all.")

(ert-deftest smtpmail-native-queue-ui-undo-send ()
  "With a send delay, M-x smtpmail-native-undo-send takes the message back:
nothing reaches the server, and the composition comes back as it was."
  (smtpmail-native-queue-ui-tests--with-async 60
    (let ((mail-header-separator "--text follows this line--")
          (message-interactive nil)
          (compose (generate-new-buffer "*compose*"))
          back)
      (with-current-buffer compose
        (insert smtpmail-native-queue-ui-tests--composition)
        (message-mode)
        (message-send))
      ;; message.el said "Sending...done" last; the note comes back after it.
      (should (smtpmail-native-queue-ui-tests--wait
               (lambda () (equal (car smtpmail-native-queue-ui-tests--messages)
                                 "Sending mail to alice@example.org in 60 seconds; \
M-x smtpmail-native-undo-send takes it back"))
               5))
      (should (member "Sending...done" smtpmail-native-queue-ui-tests--messages))
      (should (eq (smtpmail-native-async--job-state (car smtpmail-native-async--jobs)) 'delayed))
      (should (string-search "undo" smtpmail-native-mode-line-string))
      (save-window-excursion
        (setq back (call-interactively #'smtpmail-native-undo-send)))
      (with-current-buffer back
        (should (derived-mode-p 'message-mode))
        (should (equal (buffer-substring-no-properties (point-min) (point-max))
                       smtpmail-native-queue-ui-tests--composition)))
      (should (eq (smtpmail-native-async--job-state (car smtpmail-native-async--jobs)) 'undone))
      (should-not (string-search "I take it back"
                                 (let ((print-length nil) (print-level nil))
                                   (prin1-to-string smtpmail-native-async--jobs))))
      (should-not (smtpmail-native-async--active-jobs))
      (should-error (smtpmail-native-undo-send) :type 'user-error)
      ;; A control message without delay: once its session is over, it is the only one.
      (let ((smtpmail-native-send-delay 0))
        (smtpmail-native-queue-ui-tests--send "bob@example.org" "control"))
      (should (smtpmail-native-queue-ui-tests--closed 1))
      (should (smtpmail-native-queue-ui-tests--wait
               (lambda () (null (smtpmail-native-async--active-jobs)))))
      (should (equal (smtpmail-native-queue-ui-tests--subjects) '("control")))
      (should-not (smtpmail-native-queue-ui-tests--entries))
      (kill-buffer back)
      (kill-buffer compose))))

(ert-deftest smtpmail-native-queue-ui-delayed-send-goes-out ()
  "A delayed send that is not taken back is sent once the delay is over."
  (smtpmail-native-queue-ui-tests--with-async 1
    (smtpmail-native-queue-ui-tests--send "alice@example.org" "later")
    (should (eq (smtpmail-native-async--job-state (car smtpmail-native-async--jobs)) 'delayed))
    (should-not (smtpmail-native-test-servers-sink-wait smtpmail-native-queue-ui-tests--port
                                                        "^closed" 0.3))
    (should (smtpmail-native-queue-ui-tests--closed 1))
    (should (smtpmail-native-queue-ui-tests--wait
             (lambda () (eq (smtpmail-native-async--job-state (car smtpmail-native-async--jobs)) 'sent))))
    (should (equal (smtpmail-native-queue-ui-tests--subjects) '("later")))))

(ert-deftest smtpmail-native-queue-ui-delayed-send-queued-at-exit ()
  "Emacs exiting during the delay queues the message (not held); nothing is sent."
  (smtpmail-native-queue-ui-tests--with-async 60
    (smtpmail-native-queue-ui-tests--send "alice@example.org" "exit")
    (smtpmail-native-async--kill-emacs)
    (let ((entries (smtpmail-native-queue-ui-tests--entries)))
      (should (= (length entries) 1))
      (let ((pairs (smtpmail-native-queue--read-variables (concat (car entries) ".el"))))
        (should-not (smtpmail-native-queue--held pairs))
        (should (string-match-p "delayed" (alist-get 'smtpmail-native-queue-error pairs))))
      (should (string-match-p "^Subject: exit$"
                              (smtpmail-native-test-servers-read-file (car entries)))))
    (should-not (smtpmail-native-async--active-jobs))
    (should-not (smtpmail-native-queue-ui-tests--stored))))

;;;; The jobs list

(defun smtpmail-native-queue-ui-tests--job-row (subject)
  "Move point in the jobs list to the row of SUBJECT; return its columns."
  (set-buffer "*smtpmail-native jobs*")
  (revert-buffer)
  (goto-char (point-min))
  (while (and (not (eobp)) (not (equal (aref (tabulated-list-get-entry) 7) subject)))
    (forward-line 1))
  (should (equal (aref (tabulated-list-get-entry) 7) subject))
  (append (tabulated-list-get-entry) nil))

(ert-deftest smtpmail-native-queue-ui-jobs-list-keys ()
  "The jobs list: start time, duration, the server's reply; RET shows the trace;
d removes a finished row; r asks before resending a refused message; u undoes."
  (smtpmail-native-queue-ui-tests--with-async 0
    (smtpmail-native-queue-ui-tests--send "alice@example.org" "fine")
    (smtpmail-native-queue-ui-tests--send "reject-me@example.org" "refused")
    (should (smtpmail-native-queue-ui-tests--wait
             (lambda () (null (smtpmail-native-async--active-jobs)))))
    ;; The failure warning links to both lists.
    (let ((warning (car smtpmail-native-queue-ui-tests--warnings)))
      (should (string-match-p "reject-me@example.org" warning))
      (with-temp-buffer
        (insert warning)
        (goto-char (point-min))
        (should (search-forward "[Queued mail]" nil t))
        (save-current-buffer (save-window-excursion (button-activate (button-at (1- (point))))))
        (should (get-buffer "*smtpmail-native queue*"))
        (should (string-match-p "\\`failed: .*550"
                                (nth 6 (car (smtpmail-native-queue-ui-tests--rows)))))
        (goto-char (point-min))
        (should (search-forward "[Background sends]" nil t))
        (save-current-buffer (save-window-excursion (button-activate (button-at (1- (point))))))
        (should (get-buffer "*smtpmail-native jobs*"))))
    (save-window-excursion
      (smtpmail-native-jobs)
      (let ((row (smtpmail-native-queue-ui-tests--job-row "fine")))
        (should (equal (nth 1 row) "sent"))
        (should (string-match-p "\\`[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\\'" (nth 2 row)))
        (should (string-match-p "\\`[0-9.]+s\\'" (nth 3 row)))
        (should (string-match-p "\\`250 .*id=" (nth 8 row))))
      ;; RET: the trace of that one send.
      (let ((trace (progn (smtpmail-native-queue-ui-tests--press "RET") (current-buffer))))
        (should (string-match-p "^C: RCPT TO:<alice@example.org>" (buffer-string)))
        (should-not (string-match-p "reject-me" (buffer-string)))
        (kill-buffer trace))
      ;; r on the 550: asks and explains; refused, nothing is sent.
      (smtpmail-native-queue-ui-tests--job-row "refused")
      (let ((questions nil))
        (cl-letf (((symbol-function 'yes-or-no-p) (lambda (p) (push p questions) nil)))
          (should-error (call-interactively #'smtpmail-native-jobs-retry) :type 'user-error))
        (should (string-match-p "refused this message for good" (car questions))))
      (should (equal (smtpmail-native-queue-ui-tests--subjects) '("fine")))
      ;; d: the finished row goes.
      (smtpmail-native-queue-ui-tests--job-row "fine")
      (smtpmail-native-queue-ui-tests--press "d")
      (should-not (cl-find "fine" smtpmail-native-async--jobs :key #'smtpmail-native-async--job-subject
                           :test #'equal))
      (should (= (length (smtpmail-native-queue-ui-tests--rows-of-jobs)) 1))
      ;; u: a delayed send taken back from the list.
      (let ((smtpmail-native-send-delay 60))
        (smtpmail-native-queue-ui-tests--send "carol@example.org" "undo me"))
      (smtpmail-native-queue-ui-tests--job-row "undo me")
      (should (equal (nth 1 (smtpmail-native-queue-ui-tests--job-row "undo me")) "delayed"))
      (should-error (smtpmail-native-queue-ui-tests--press "d") :type 'user-error)
      (smtpmail-native-queue-ui-tests--job-row "undo me")
      (save-window-excursion (smtpmail-native-queue-ui-tests--press "u"))
      (should (equal (nth 1 (smtpmail-native-queue-ui-tests--job-row "undo me")) "undone"))
      (dolist (b (buffer-list))
        (when (string-prefix-p "*unsent mail*" (buffer-name b)) (kill-buffer b))))))

(ert-deftest smtpmail-native-queue-ui-job-trace-bounded ()
  "A job keeps the last `smtpmail-native-async--trace-limit' lines of its trace, in order."
  (let ((job (smtpmail-native-async--job-create :id 1 :started (current-time)))
        (total (+ 50 smtpmail-native-async--trace-limit)))
    (dotimes (i (/ total 10))
      (smtpmail-native-async--record-trace
       job (cl-loop for j below 10 collect (format "S: line %d" (+ (* i 10) j)))))
    (let ((buffer (save-window-excursion (smtpmail-native-jobs-trace job))))
      (with-current-buffer buffer
        (let ((lines (split-string (buffer-string) "\n" t)))
          (should (= (length lines) smtpmail-native-async--trace-limit))
          (should (equal (car lines) "S: line 50"))
          (should (equal (car (last lines)) (format "S: line %d" (1- total))))))
      (kill-buffer buffer))))

(defun smtpmail-native-queue-ui-tests--rows-of-jobs ()
  "The jobs list's rows."
  (with-current-buffer "*smtpmail-native jobs*"
    (revert-buffer)
    (mapcar #'car tabulated-list-entries)))

(ert-deftest smtpmail-native-queue-ui-jobs-retry-transient-and-mode-line ()
  "r resends a cancelled send without asking; the mode-line indicator can be turned off."
  (smtpmail-native-queue-ui-tests--with-async 60
    (let ((smtpmail-native-mode-line-indicator nil))
      (smtpmail-native-queue-ui-tests--send "alice@example.org" "again")
      (should (smtpmail-native-async--active-jobs))
      (should (equal smtpmail-native-mode-line-string "")))
    (save-window-excursion
      (smtpmail-native-jobs)
      (smtpmail-native-queue-ui-tests--job-row "again")
      (smtpmail-native-queue-ui-tests--press "c")
      (should (equal (nth 1 (smtpmail-native-queue-ui-tests--job-row "again")) "cancelled"))
      ;; The ended job keeps no copy of the message: it is in the queue.
      (should-not (string-search "Body of again"
                                 (let ((print-length nil) (print-level nil))
                                   (prin1-to-string smtpmail-native-async--jobs))))
      (should (= (length (smtpmail-native-queue-ui-tests--entries)) 1))
      (let ((smtpmail-native-send-delay 0))
        (should-not (smtpmail-native-queue-ui-tests--press "r")))
      (should (smtpmail-native-queue-ui-tests--closed 1))
      (should (smtpmail-native-queue-ui-tests--wait
               (lambda () (null (smtpmail-native-async--active-jobs)))))
      (should (equal (smtpmail-native-queue-ui-tests--subjects) '("again")))
      (should-not (smtpmail-native-queue-ui-tests--entries)))))

(provide 'smtpmail-native-queue-ui-tests)

;;; smtpmail-native-queue-ui-tests.el ends here
