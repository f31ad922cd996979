;;; smtpmail-native-queue-tests.el --- The mail queue: smtpmail's format, kept safely  -*- lexical-binding: t; -*-

;;; Commentary:
;; `smtpmail-queue-mail' with `smtpmail-native-send-it' and
;; `smtpmail-native-send-queued-mail', against the private Exim servers: the files
;; and their modes, interoperability with smtpmail's own queue both ways, stored
;; server variables, an interrupted flush, and failures that stay queued.

;;; Code:

(require 'smtpmail-native-compat-fixture)  ; ert, cl-lib, smtpmail-native, test servers

;; Read by smtpmail-native.el, bound here: it must be dynamic in this file too.
(defvar smtpmail-auth-credentials)

(defmacro smtpmail-native-queue-tests--with-queue (&rest body)
  "Run BODY with the test servers' smtpmail setup and an empty private queue.
alice's credentials are set, so that a refused recipient is not
retried with a password prompt (smtpmail's behaviour without them)."
  (declare (indent 0) (debug t))
  `(smtpmail-native-compat--with-smtp
     (let* ((smtpmail-queue-dir (file-name-as-directory
                                 (smtpmail-native-compat--fresh-file "queue-%d/mail/queued")))
            (smtpmail-queue-mail t)
            (smtpmail-auth-credentials (smtpmail-native-compat--alice)))
       ,@body)))

(defun smtpmail-native-queue-tests--index ()
  "The lines of the queue's index."
  (with-temp-buffer
    (insert-file-contents (expand-file-name smtpmail-queue-index-file smtpmail-queue-dir))
    (split-string (buffer-string) "\n" t)))

(defun smtpmail-native-queue-tests--mode (file)
  "The permission bits of FILE."
  (logand (file-modes file) #o7777))

(defun smtpmail-native-queue-tests--read-el (file)
  "The setq form of the queued message FILE's .el file, as smtpmail reads it."
  (with-temp-buffer
    (let ((coding-system-for-read 'utf-8)) (insert-file-contents (concat file ".el")))
    (read (current-buffer))))

(ert-deftest smtpmail-native-queue-written-safely-flushed-by-smtpmail ()
  "Our queue: 0600 files in a 0700 directory, no temporary file left, smtpmail sends it."
  (smtpmail-native-queue-tests--with-queue
    (let ((id1 (smtpmail-native-compat--send "To: q1@example.org\nBcc: q1-bcc@example.org\n" "caf\u00e9\n"))
          (id2 (smtpmail-native-compat--send "To: q2@example.org\n")))
      (should (= (smtpmail-native-queue-tests--mode smtpmail-queue-dir) #o700))
      (let ((entries (smtpmail-native-queue-tests--index)))
        (should (= 2 (length entries)))
        (dolist (file (cons (expand-file-name smtpmail-queue-index-file smtpmail-queue-dir)
                            (append entries (mapcar (lambda (f) (concat f ".el")) entries))))
          (should (= (smtpmail-native-queue-tests--mode file) #o600)))
        (should (equal (directory-files smtpmail-queue-dir nil "\\.tmp\\'") nil))
        (should (equal (cadr (smtpmail-native-queue-tests--read-el (car entries)))
                       'smtpmail-recipient-address-list))
        (should (equal (sort (copy-sequence (nth 2 (smtpmail-native-queue-tests--read-el (car entries))))
                             #'string<)
                       '("q1-bcc@example.org" "q1@example.org"))))
      ;; Nothing was sent yet.
      (should-not (smtpmail-native-compat--delivered id2))
      ;; smtpmail's own flush, with its own SMTP client (in the clear: it knows not the CA).
      (let ((smtpmail-stream-type 'plain)
            (smtpmail-auth-credentials nil))
        (smtpmail-send-queued-mail))
      (let ((copies (smtpmail-native-compat--delivered id1)))
        (should (= 2 (length copies)))
        (dolist (copy copies)
          (should-not (string-match-p "^Bcc:" (cdr copy)))
          (should (equal (smtpmail-native-compat--body (cdr copy)) "caf\303\251\n"))))
      (smtpmail-native-compat--one id2)
      (should (equal (smtpmail-native-queue-tests--index) nil))
      (should (equal (directory-files smtpmail-queue-dir nil "\\`[0-9]") nil)))))

(ert-deftest smtpmail-native-queue-smtpmail-queue-flushed-by-us ()
  "smtpmail-send-it's queue is sent by smtpmail-native-send-queued-mail."
  (smtpmail-native-queue-tests--with-queue
    (let ((ids (list (smtpmail-native-compat--id) (smtpmail-native-compat--id))))
      (dolist (id ids)
        (with-temp-buffer
          (insert "To: s@example.org\nSubject: queued by smtpmail\nX-Test-Id: " id "\n"
                  mail-header-separator "\nGr\u00fc\u00dfe\n")
          (smtpmail-send-it)))
      (should (= 2 (length (smtpmail-native-queue-tests--index))))
      (should (equal (smtpmail-native-send-queued-mail) '(:sent 2 :failed nil :held nil)))
      (dolist (id ids)
        (let ((bytes (smtpmail-native-compat--one id)))
          (should (string-match-p "(auth=plain:alice)" (smtpmail-native-compat--received bytes)))
          (should (equal (smtpmail-native-compat--body bytes) "Gr\303\274\303\237e\n"))))
      (should (equal (smtpmail-native-queue-tests--index) nil)))))

(ert-deftest smtpmail-native-queue-stored-variables ()
  "Server settings stored with the message (an account's) are used when it is flushed."
  (smtpmail-native-queue-tests--with-queue
    (let* ((noauth-port (smtpmail-native-compat--port "noauth"))
           (smtpmail-native-accounts `(("@work\\.example\\'" :port ,noauth-port)))
           (id (smtpmail-native-compat--send "From: me@work.example\nTo: w@example.org\n"))
           (form (smtpmail-native-queue-tests--read-el (car (smtpmail-native-queue-tests--index)))))
      (should (equal (plist-get (cdr form) 'smtpmail-smtp-service) noauth-port))
      (should (equal (plist-get (cdr form) 'smtpmail-mail-address) "me@work.example"))
      (let ((smtpmail-native-accounts nil))
        (smtpmail-native-send-queued-mail))
      (should (string-match-p "(envelope-from <me@work.example>)"
                              (smtpmail-native-compat--received (smtpmail-native-compat--one id "noauth")))))))

(ert-deftest smtpmail-native-queue-one-session-per-server ()
  "Messages queued for the same server go out over one connection, RSET between them."
  (smtpmail-native-queue-tests--with-queue
    (let* ((smtpmail-debug-info t)
           (ids (cl-loop for i below 3
                         collect (smtpmail-native-compat--send (format "To: one%d@example.org\n" i)))))
      (should (equal (smtpmail-native-send-queued-mail) '(:sent 3 :failed nil :held nil)))
      (dolist (id ids) (smtpmail-native-compat--one id))
      (with-current-buffer (format "*trace of SMTP session to %s*" smtpmail-smtp-server)
        (should (= 1 (how-many "^\\* connected" (point-min) (point-max))))
        (should (= 1 (how-many "^C: AUTH" (point-min) (point-max))))
        (should (= 2 (how-many "^C: RSET$" (point-min) (point-max))))
        (should (= 3 (how-many "^C: MAIL FROM" (point-min) (point-max))))))))

(ert-deftest smtpmail-native-queue-interrupted-flush-resumes ()
  "A flush stopped by \\[keyboard-quit] leaves the rest queued; the next one sends it.
The index has a name of its own here (`smtpmail-queue-index-file').
The C-g comes while the first message is being marked sent: it waits
for the mark, then stops the session before the second message; the
index is rewritten on the way out, and nothing is held."
  (smtpmail-native-queue-tests--with-queue
    (let* ((smtpmail-queue-index-file "my-index")
           (ids (cl-loop for i below 3
                         collect (smtpmail-native-compat--send (format "To: i%d@example.org\n" i))))
           (entries (smtpmail-native-queue-tests--index))
           (mark (symbol-function 'smtpmail-native-queue--mark-sent)))
      ;; The three share one session; C-g as the first one leaves the queue.
      (cl-letf (((symbol-function 'smtpmail-native-queue--mark-sent)
                 (lambda (&rest args)
                   (apply mark args)
                   (setq quit-flag t))))
        (should (eq 'quit (condition-case nil
                              (progn (smtpmail-native-send-queued-mail) 'finished)
                            (quit 'quit)))))
      (smtpmail-native-compat--one (nth 0 ids))
      (should-not (file-exists-p (nth 0 entries)))
      (should (equal (smtpmail-native-queue-tests--index) (cdr entries)))
      (should (equal (mapcar #'cdr (smtpmail-native-queue-tests--held)) '(nil nil)))
      (should (equal (smtpmail-native-send-queued-mail) '(:sent 2 :failed nil :held nil)))
      (smtpmail-native-compat--one (nth 1 ids))
      (smtpmail-native-compat--one (nth 2 ids))
      (should (equal (smtpmail-native-queue-tests--index) nil))
      (should (equal (directory-files smtpmail-queue-dir nil "\\`[^.]") '("my-index"))))))

(ert-deftest smtpmail-native-queue-failures-stay-queued ()
  "Refused messages stay queued with their error; 4xx is retried; a missing file is dropped."
  (smtpmail-native-queue-tests--with-queue
    (let* ((smtpmail-retries 2)
           (smtpmail-debug-info t)
           (ok (smtpmail-native-compat--send "To: fine@example.org\n"))
           (_rejected (smtpmail-native-compat--send "To: reject-me@example.org\n"))
           (_tempfail (smtpmail-native-compat--send "To: tempfail@example.org\n"))
           (entries (smtpmail-native-queue-tests--index))
           (missing (concat (car entries) "-gone")))
      ;; An index line whose files are gone (smtpmail's flush leaves that behind when
      ;; it is interrupted between deleting the files and rewriting the index).
      (with-temp-file (expand-file-name smtpmail-queue-index-file smtpmail-queue-dir)
        (insert missing "\n" (mapconcat #'identity entries "\n") "\n"))
      (let ((result (smtpmail-native-send-queued-mail)))
        (should (= 1 (plist-get result :sent)))
        (should (equal (mapcar #'car (plist-get result :failed)) (cdr entries)))
        (should (string-match-p "\\`550 5\\.1\\.1 " (cdr (nth 0 (plist-get result :failed)))))
        (should (string-match-p "\\`451 4\\.3\\.0 " (cdr (nth 1 (plist-get result :failed))))))
      (smtpmail-native-compat--one ok)
      (with-current-buffer "*trace of SMTP session to localhost*"
        ;; The last session traced is the 4xx message's: two attempts.
        (should (= 2 (how-many "^\\* connected to " (point-min) (point-max)))))
      (should (equal (smtpmail-native-queue-tests--index) (cdr entries)))
      (let ((form (smtpmail-native-queue-tests--read-el (nth 1 entries))))
        ;; Still what smtpmail-send-queued-mail reads: one setq, the recipients first.
        (should (eq (car form) 'setq))
        (should (equal (plist-get (cdr form) 'smtpmail-recipient-address-list) '("reject-me@example.org")))
        (should (string-match-p "\\`550 5\\.1\\.1 <reject-me@example\\.org>"
                                (plist-get (cdr form) 'smtpmail-native-queue-error)))))))

;;;; Delivery unknown: held, never resent by a flush

(defun smtpmail-native-queue-tests--sink ()
  "Start a sink that stores what it gets and reports closed sessions.
Return (PORT . DIR), DIR holding the stored messages."
  (let ((dir (smtpmail-native-compat--file (format "sink-%d/" (random 1000000000)))))
    (make-directory dir t)
    (cons (smtpmail-native-test-servers-start-sink "--store" dir "--report-sessions") dir)))

(defun smtpmail-native-queue-tests--copies (dir)
  "How many messages the sink stored in DIR."
  (length (directory-files dir nil "\\`[0-9]+\\.eml\\'")))

(defmacro smtpmail-native-queue-tests--with-sink (port &rest body)
  "Run BODY sending to the sink on PORT (no TLS, no credentials), queue private."
  (declare (indent 1) (debug t))
  `(smtpmail-native-queue-tests--with-queue
     (let ((smtpmail-queue-mail nil)
           (smtpmail-smtp-server "127.0.0.1")
           (smtpmail-smtp-service ,port)
           (smtpmail-stream-type 'plain)
           (smtpmail-auth-credentials nil)
           (auth-sources nil))
       ,@body)))

(defun smtpmail-native-queue-tests--held ()
  "The queue's entries, each with its held reason or nil: ((FILE . REASON) ...)."
  (mapcar (lambda (file)
            (cons file (alist-get 'smtpmail-native-queue-held
                                  (smtpmail-native-queue--read-variables (concat file ".el")))))
          (smtpmail-native-queue-tests--index)))

(ert-deftest smtpmail-native-queue-unknown-delivery-held ()
  "The connection cut right after the final dot: the message is held, and a flush does not resend it.
The server has the message (it may deliver it), the client got no
verdict: `smtpmail-native-send-it' fails saying so, the message is in
the queue marked held with the reason, and
`smtpmail-native-send-queued-mail' leaves it alone.  Only an explicit
`smtpmail-native-send-queued-message' sends it again."
  (pcase-let ((`(,port . ,dir) (smtpmail-native-queue-tests--sink)))
    (smtpmail-native-queue-tests--with-sink port
      (let ((err (should-error (smtpmail-native-compat--send "To: dropafterdot@example.org\n"))))
        (should (string-match-p "\\`Sending failed: .*delivery status unknown"
                                (error-message-string err))))
      (should (smtpmail-native-test-servers-sink-wait port "^closed 1$"))
      (should (= (smtpmail-native-queue-tests--copies dir) 1))
      (let ((held (smtpmail-native-queue-tests--held)))
        (should (= (length held) 1))
        (should (string-match-p "delivery status unknown" (cdar held)))
        ;; The flush sends nothing: the message is reported held, still queued.
        (let ((outcome (smtpmail-native-send-queued-mail)))
          (should (equal (plist-get outcome :sent) 0))
          (should (equal (plist-get outcome :held) (list (caar held)))))
        (should (equal (smtpmail-native-queue-tests--held) held))
        (should (= (smtpmail-native-queue-tests--copies dir) 1))
        ;; Asked for explicitly, it goes: the sink's next connection is number 2
        ;; (the flush opened none), and the second copy arrives.
        (should-error (smtpmail-native-send-queued-message (caar held)))
        (should (smtpmail-native-test-servers-sink-wait port "^closed 2$"))
        (should-not (smtpmail-native-test-servers-sink-wait port "^closed 3$" 0.2))
        (should (= (smtpmail-native-queue-tests--copies dir) 2))
        (should (cdar (smtpmail-native-queue-tests--held)))))))

(defun smtpmail-native-queue-tests--child (output queue port form)
  "Start a child Emacs that evaluates FORM, smtpmail-native loaded; return it.
Its output goes to the buffer OUTPUT; its queue is QUEUE (with this
Emacs's index file name), its server the sink on PORT, in the clear."
  (make-process
   :name "child" :buffer output :noquery t :connection-type 'pipe
   :command
   (list (expand-file-name invocation-name invocation-directory)
         "-Q" "--batch" "-L" smtpmail-native--lisp-directory
         "--eval"
         (prin1-to-string
          `(progn
             (setq smtpmail-native-module-file ,smtpmail-native-module-file
                   smtpmail-queue-dir ,queue smtpmail-queue-index-file ,smtpmail-queue-index-file
                   smtpmail-smtp-server "127.0.0.1" smtpmail-smtp-service ,port
                   smtpmail-stream-type 'plain auth-sources nil user-mail-address "me@example.org")
             (require 'smtpmail-native)
             ,form)))))

(ert-deftest smtpmail-native-queue-quit-awaiting-final-reply-holds ()
  "\\[keyboard-quit] while the server delays its verdict on the final dot: the message is held.
A child Emacs sends through `smtpmail-native-send-it' to a sink that
stores the message and answers the dot 5 s later.  Once the sink has
it, the child gets SIGUSR2, which Emacs turns into a quit
\(`debug-on-event').  The send ends with a quit, the failure hook saw
`smtpmail-native-interrupted' with :delivery `unknown', and the message
is in the child's queue, held, so no later flush sends it twice."
  (pcase-let* ((`(,port . ,dir) (smtpmail-native-queue-tests--sink))
               (output (generate-new-buffer " *child*"))
               (child
                (smtpmail-native-queue-tests--child
                 output (smtpmail-native-compat--file (format "queue-%d/" (random 1000000000))) port
                 '(progn
                    (setq debug-on-event 'sigusr2 debugger (lambda (&rest _) nil))
                    (add-hook 'smtpmail-native-send-failure-functions
                              (lambda (_id err file)
                                (princ (format "hook: %S %S %S\n" (car err)
                                               (plist-get (cddr err) :delivery)
                                               (and file t)))))
                    (with-temp-buffer
                      (insert "From: me@example.org\nTo: slowdot5@example.org\n"
                              "Subject: quit\n" mail-header-separator "\nbody\n")
                      (condition-case err
                          (progn (smtpmail-native-send-it) (princ "sent\n"))
                        (quit (princ "quit\n"))
                        (error (princ (format "error: %S\n" err)))))
                    (princ (format "held: %S\n"
                                   (mapcar (lambda (file)
                                             (and (smtpmail-native-queue--held
                                                   (smtpmail-native-queue--read-variables
                                                    (concat file ".el")))
                                                  t))
                                           (smtpmail-native-queue--entries))))))))
    (unwind-protect
        (progn
          (should (smtpmail-native-test-servers-sink-wait port "^stored 1$" 30))
          (signal-process child 'SIGUSR2)
          (let ((deadline (+ (float-time) 20)))
            (while (and (process-live-p child) (< (float-time) deadline))
              (accept-process-output child 0.05)))
          (let ((text (with-current-buffer output (buffer-string))))
            (ert-info ((format "child output:\n%s" text))
              (should (string-match-p "^hook: smtpmail-native-interrupted unknown t$" text))
              (should (string-match-p "^quit$" text))
              (should (string-match-p "^held: (t)$" text))))
          (should (= (smtpmail-native-queue-tests--copies dir) 1)))
      (when (process-live-p child) (delete-process child))
      (kill-buffer output))))

;;;; A flush cut short: nothing lost, nothing sent twice

(defun smtpmail-native-queue-tests--copies-of (dir id)
  "How many copies of the message ID the sink stored in DIR."
  (cl-count-if (lambda (file)
                 (string-search (concat "X-Test-Id: " id "\r\n")
                                (smtpmail-native-test-servers-read-file file)))
               (directory-files dir t "\\`[0-9]+\\.eml\\'")))

(defun smtpmail-native-queue-tests--queue (&rest recipients)
  "Queue one message for each of RECIPIENTS; return their ids."
  (let ((smtpmail-queue-mail t))
    (mapcar (lambda (to) (smtpmail-native-compat--send (format "To: %s\n" to))) recipients)))

(defun smtpmail-native-queue-tests--child-flush (port kill &optional sink-says)
  "Run `smtpmail-native-send-queued-mail' in a child Emacs, on this queue, to PORT.
KILL is a form the child evaluates first, to arrange to kill itself
\(SIGKILL: no unwinding, as when Emacs is killed); `kill-me' is a
function doing it.  With SINK-SAYS, a regexp, the child is killed
once the sink's output matches it.  Return the child's exit:
\(STATUS . CODE)."
  (let* ((output (generate-new-buffer " *child*"))
         (child (smtpmail-native-queue-tests--child
                 output smtpmail-queue-dir port
                 `(progn
                    (defun kill-me (&rest _) (signal-process (emacs-pid) 'SIGKILL))
                    ,kill
                    (smtpmail-native-send-queued-mail)))))
    (unwind-protect
        (let ((deadline (+ (float-time) 30)))
          (when sink-says
            (should (smtpmail-native-test-servers-sink-wait port sink-says 30))
            (signal-process child 'SIGKILL))
          (while (and (process-live-p child) (< (float-time) deadline))
            (accept-process-output child 0.05))
          (ert-info ((with-current-buffer output (buffer-string)) :prefix "child: ")
            (should-not (process-live-p child)))
          (cons (process-status child) (process-exit-status child)))
      (when (process-live-p child) (delete-process child))
      (kill-buffer output))))

(defun smtpmail-native-queue-tests--kill-at (function how n)
  "A form for the child: die HOW (:before, :after) the Nth call of FUNCTION."
  `(let ((calls 0))
     (advice-add ',function ,how (lambda (&rest _) (when (= (cl-incf calls) ,n) (kill-me))))))

(defmacro smtpmail-native-queue-tests--crash (kill &rest body)
  "Queue three messages, flush them in a child Emacs killed as KILL says, run BODY.
BODY sees `ids' (the three X-Test-Ids), `entries' (their queue files),
`copies' (a function: how many copies of an id the server got) and
`port' (the sink's)."
  (declare (indent 1) (debug t))
  `(pcase-let ((`(,port . ,dir) (smtpmail-native-queue-tests--sink)))
     (smtpmail-native-queue-tests--with-sink port
       (let* ((ids (smtpmail-native-queue-tests--queue "a@example.org" "b@example.org" "c@example.org"))
              (entries (smtpmail-native-queue-tests--index))
              (copies (lambda (id) (smtpmail-native-queue-tests--copies-of dir id))))
         (should (equal (smtpmail-native-queue-tests--child-flush port ,kill) '(signal . 9)))
         ,@body))))

(defun smtpmail-native-queue-tests--held-file (file)
  "Why the queued FILE is held, or nil."
  (smtpmail-native-queue--held (smtpmail-native-queue--read-variables (concat file ".el"))))

(ert-deftest smtpmail-native-queue-crash-after-accepted-before-marked ()
  "Killed after the server accepted the second message, before its files went.
The next flush holds it (the journal says it may be at the server)
and sends the third: each message reached the server once."
  (smtpmail-native-queue-tests--crash
      (smtpmail-native-queue-tests--kill-at 'smtpmail-native-queue--mark-sent :before 2)
    (should (= (funcall copies (nth 1 ids)) 1))
    (should (file-exists-p (nth 1 entries)))
    (let ((outcome (smtpmail-native-send-queued-mail)))
      (should (equal (plist-get outcome :sent) 1))
      (should (equal (plist-get outcome :held) (list (nth 1 entries)))))
    (should (string-match-p "cut short" (smtpmail-native-queue-tests--held-file (nth 1 entries))))
    (should (equal (mapcar copies ids) '(1 1 1)))
    (should (equal (smtpmail-native-queue-tests--index) (list (nth 1 entries))))
    (should-not (file-exists-p (smtpmail-native-queue--journal-file)))))

(ert-deftest smtpmail-native-queue-crash-after-marked-before-index ()
  "Killed once the second message's files are gone, before the index is rewritten.
Its line, and the first's, are stale: our readers drop them.
smtpmail's own flush stops at the first with a missing-file error,
sending nothing and changing nothing.  Ours sends nothing twice: the
third, which may have been in flight, is held; the index is cleaned."
  (smtpmail-native-queue-tests--crash
      (smtpmail-native-queue-tests--kill-at 'smtpmail-native-queue--mark-sent :after 2)
    (should (equal (smtpmail-native-queue-tests--index) entries))
    (should (equal (smtpmail-native-queue--entries) (list (nth 2 entries))))
    (let ((smtpmail-stream-type 'plain))
      (should-error (smtpmail-send-queued-mail) :type 'file-missing))
    (should (equal (smtpmail-native-queue-tests--index) entries))
    (should (equal (mapcar copies ids) '(1 1 0)))
    (let ((outcome (smtpmail-native-send-queued-mail)))
      (should (equal (plist-get outcome :sent) 0))
      (should (equal (plist-get outcome :held) (list (nth 2 entries)))))
    (should (equal (smtpmail-native-queue-tests--index) (list (nth 2 entries))))
    (should (equal (directory-files smtpmail-queue-dir nil "\\`[0-9]")
                   (list (file-name-nondirectory (nth 2 entries))
                         (concat (file-name-nondirectory (nth 2 entries)) ".el"))))
    ;; Sent when asked for: once.
    (should (smtpmail-native-send-queued-message (nth 2 entries)))
    (should (equal (mapcar copies ids) '(1 1 1)))))

(ert-deftest smtpmail-native-queue-crash-during-index-rewrite ()
  "Killed while the index is replaced: the old one stands, whole; nothing is sent again."
  (smtpmail-native-queue-tests--crash
      `(advice-add 'rename-file :before
                   (lambda (_from to &rest _)
                     (when (equal (expand-file-name to)
                                  (expand-file-name smtpmail-queue-index-file smtpmail-queue-dir))
                       (kill-me))))
    (should (equal (smtpmail-native-queue-tests--index) entries))
    (should (equal (mapcar copies ids) '(1 1 1)))
    (should (equal (smtpmail-native-send-queued-mail) '(:sent 0 :failed nil :held nil)))
    (should (equal (smtpmail-native-queue-tests--index) nil))
    (should (equal (mapcar copies ids) '(1 1 1)))))

(ert-deftest smtpmail-native-queue-crash-awaiting-verdict ()
  "Killed after the second message's final dot, before the server's verdict: held, once."
  (pcase-let ((`(,port . ,dir) (smtpmail-native-queue-tests--sink)))
    (smtpmail-native-queue-tests--with-sink port
      (let* ((ids (smtpmail-native-queue-tests--queue "a@example.org" "slowdot5@example.org"
                                                      "c@example.org"))
             (entries (smtpmail-native-queue-tests--index)))
        ;; The sink answers the second dot 5 s late; once it has the message, SIGKILL.
        (should (equal (smtpmail-native-queue-tests--child-flush port nil "^stored 2$")
                       '(signal . 9)))
        (let ((outcome (smtpmail-native-send-queued-mail)))
          (should (equal (plist-get outcome :sent) 1))
          (should (equal (plist-get outcome :held) (list (nth 1 entries)))))
        (should (equal (mapcar (lambda (id) (smtpmail-native-queue-tests--copies-of dir id)) ids)
                       '(1 1 1)))))))

(ert-deftest smtpmail-native-queue-batch-unknown-delivery-held ()
  "In a batch, the connection cut after the second message's dot: that one is held.
With its reason; the third, never begun, stays queued with its error
and is not held; the next flush sends the third only."
  (pcase-let ((`(,port . ,dir) (smtpmail-native-queue-tests--sink)))
    (smtpmail-native-queue-tests--with-sink port
      (let* ((ids (smtpmail-native-queue-tests--queue "a@example.org" "dropafterdot@example.org"
                                                      "c@example.org"))
             (entries (smtpmail-native-queue-tests--index))
             (outcome (smtpmail-native-send-queued-mail)))
        (should (equal (plist-get outcome :sent) 1))
        (should (equal (plist-get outcome :held) (list (nth 1 entries))))
        (should (equal (mapcar #'car (plist-get outcome :failed)) (list (nth 2 entries))))
        (should (string-match-p "delivery status unknown"
                                (smtpmail-native-queue-tests--held-file (nth 1 entries))))
        (should-not (smtpmail-native-queue-tests--held-file (nth 2 entries)))
        (should (equal (smtpmail-native-send-queued-mail) (list :sent 1 :failed nil
                                                                :held (list (nth 1 entries)))))
        (should (equal (mapcar (lambda (id) (smtpmail-native-queue-tests--copies-of dir id)) ids)
                       '(1 1 1)))))))

;;; smtpmail-native-queue-tests.el ends here
