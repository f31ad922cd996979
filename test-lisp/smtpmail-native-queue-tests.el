;;; smtpmail-native-queue-tests.el --- The mail queue: smtpmail's format, kept safely  -*- lexical-binding: t; -*-

;;; Commentary:
;; `smtpmail-queue-mail' with `smtpmail-native-send-it' and
;; `smtpmail-native-send-queued-mail', against the private Exim servers: the files
;; and their modes, interoperability with smtpmail's own queue both ways, stored
;; server variables, an interrupted flush, and failures that stay queued.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'smtpmail-native)
(require 'smtpmail-native-compat-fixture)

;; Read by smtpmail-native.el, bound here: it must be dynamic in this file too.
(defvar smtpmail-auth-credentials)

(defmacro smtpmail-native-queue-tests--with-queue (&rest body)
  "Run BODY with the test servers' smtpmail setup and an empty private queue.
alice's credentials are set, so that a refused recipient is not
retried with a password prompt (smtpmail's behaviour without them)."
  (declare (indent 0) (debug t))
  `(smtpmail-native-compat--with-smtp
     (let* ((smtpmail-queue-dir (file-name-as-directory
                                 (smtpmail-native-compat--file
                                  (format "queue-%d/mail/queued" (random 1000000000)))))
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
      (should (equal (smtpmail-native-send-queued-mail) '(:sent 2 :failed nil)))
      (dolist (id ids)
        (let ((bytes (smtpmail-native-compat--one id)))
          (should (string-match-p "(auth=cram_md5:alice)" (smtpmail-native-compat--received bytes)))
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
      (should (equal (smtpmail-native-send-queued-mail) '(:sent 3 :failed nil)))
      (dolist (id ids) (smtpmail-native-compat--one id))
      (with-current-buffer (format "*trace of SMTP session to %s*" smtpmail-smtp-server)
        (should (= 1 (how-many "^\\* connected" (point-min) (point-max))))
        (should (= 1 (how-many "^C: AUTH" (point-min) (point-max))))
        (should (= 2 (how-many "^C: RSET$" (point-min) (point-max))))
        (should (= 3 (how-many "^C: MAIL FROM" (point-min) (point-max))))))))

(ert-deftest smtpmail-native-queue-interrupted-flush-resumes ()
  "A flush stopped by \\[keyboard-quit] leaves the rest queued; the next one sends it.
The index has a name of its own here (`smtpmail-queue-index-file')."
  (smtpmail-native-queue-tests--with-queue
    (let* ((smtpmail-queue-index-file "my-index")
           (ids (cl-loop for i below 3
                         collect (smtpmail-native-compat--send (format "To: i%d@example.org\n" i))))
           (entries (smtpmail-native-queue-tests--index))
           (drop (symbol-function 'smtpmail-native-queue--drop)))
      ;; The three share one session; quit as soon as the first one has left the queue,
      ;; which is before the second is sent.
      (cl-letf (((symbol-function 'smtpmail-native-queue--drop)
                 (lambda (&rest args)
                   (apply drop args)
                   (signal 'quit nil))))
        (should (eq 'quit (condition-case nil
                              (progn (smtpmail-native-send-queued-mail) 'finished)
                            (quit 'quit)))))
      (smtpmail-native-compat--one (nth 0 ids))
      (should-not (file-exists-p (nth 0 entries)))
      (should (equal (smtpmail-native-queue-tests--index) (cdr entries)))
      (should (equal (smtpmail-native-send-queued-mail) '(:sent 2 :failed nil)))
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

;;; smtpmail-native-queue-tests.el ends here
