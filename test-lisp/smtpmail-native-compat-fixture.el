;;; smtpmail-native-compat-fixture.el --- What the smtpmail-compatibility suites share  -*- lexical-binding: t; -*-

;;; Commentary:
;; smtpmail configured for the private test servers (smtpmail-native-test-servers.el),
;; with nothing else configured and no prompt possible, plus ways to send a tagged
;; message and find what was delivered.  Used by smtpmail-native-compat-tests.el and
;; smtpmail-native-queue-tests.el.  The ERT suites require it (or the SASL fixture, which
;; requires it) for ert, cl-lib, smtpmail-native and the test servers as well, instead of
;; repeating those requires at the top of each file.
;;
;; Servers: "good" (AUTH PLAIN LOGIN CRAM-MD5, test CA), "noauth" (no AUTH offered;
;; also the second server for accounts), "auth530" (DATA answered 530 until the client
;; authenticates), "self-signed" (a certificate nobody trusts).

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'smtpmail-native)
(require 'smtpmail-native-test-servers)
(require 'message)
(require 'rfc2047)

;; smtpmail-native.el reads this removed smtpmail variable; let-bind it dynamically.
(defvar smtpmail-auth-credentials)

(defconst smtpmail-native-compat-password "wonderland-secret"
  "The password of alice on the test servers.")

(defvar smtpmail-native-compat--dir nil "Private temporary directory of this run.")

(defun smtpmail-native-compat--file (name)
  "NAME in this run's private temporary directory."
  (unless smtpmail-native-compat--dir
    (setq smtpmail-native-compat--dir (make-temp-file "smtpn-compat-" t))
    (add-hook 'kill-emacs-hook (lambda () (delete-directory smtpmail-native-compat--dir t))))
  (expand-file-name name smtpmail-native-compat--dir))

(defun smtpmail-native-compat--fresh-file (template)
  "TEMPLATE, with its %d a random number, in this run's private directory.
A name no other test of the run uses, for a queue, a sink's store, ..."
  (smtpmail-native-compat--file (format template (random 1000000000))))

(defun smtpmail-native-compat--server (name)
  "Environment of the test server NAME, started on first use."
  (pcase name
    ("noauth" (smtpmail-native-test-servers-start "good" :name "noauth"
                                                  :args '("--main" "auth_advertise_hosts =")))
    ("auth530" (smtpmail-native-test-servers-start
                "good" :name "auth530"
                :args '("--main" "acl_smtp_predata = ${if def:authenticated_id{accept}\
{deny message = 530 5.7.0 Authentication required (test)}}")))
    (_ (smtpmail-native-test-servers-start name))))

(defun smtpmail-native-compat--port (&optional name key)
  "Port KEY (default SMTP_PORT) of server NAME (default good)."
  (smtpmail-native-compat--server (or name "good"))
  (smtpmail-native-test-servers-port (or key "SMTP_PORT") (or name "good")))

(defun smtpmail-native-compat--write-file (name text)
  "Write TEXT to the private file NAME (mode 0600); return its name."
  (let ((file (smtpmail-native-compat--file name)))
    (with-file-modes #o600 (write-region text nil file nil 'silent))
    file))

(defmacro smtpmail-native-compat--with-smtp (&rest body)
  "Run BODY with smtpmail configured for the good server and nothing else.
No credentials anywhere (auth-source reads an empty netrc file), no
prompting possible, the test CA trusted through `smtpmail-native-trust-file'."
  (declare (indent 0) (debug t))
  `(let* ((smtpmail-smtp-server "localhost")
          (smtpmail-smtp-service (smtpmail-native-compat--port))
          (smtpmail-stream-type 'starttls)
          (smtpmail-smtp-user nil)
          (smtpmail-local-domain nil)
          (smtpmail-sendto-domain nil)
          (smtpmail-servers-requiring-authorization nil)
          (smtpmail-retries 10)
          (smtpmail-auth-supported '(cram-md5 plain login))
          (smtpmail-debug-info nil)
          (smtpmail-queue-mail nil)
          (smtpmail-store-queue-variables nil)
          (smtpmail-code-conv-from nil)
          (smtpmail-auth-credentials nil)
          (smtpmail-native-accounts nil)
          (smtpmail-native-allow-plaintext-auth 'loopback)
          (smtpmail-native-trust-file (smtpmail-native-test-servers-get "CA_FILE"))
          (network-security-level 'medium)
          (auth-sources (list (smtpmail-native-compat--write-file "empty.netrc" "")))
          (auth-source-save-behavior nil)
          (user-mail-address "sender@example.org")
          (user-full-name "Test Sender")
          (mail-specify-envelope-from nil)
          (mail-envelope-from nil)
          (mail-interactive nil)
          (send-mail-function #'smtpmail-native-send-it)
          (message-send-mail-function #'smtpmail-native-send-it))
     (auth-source-forget-all-cached)
     (password-reset)
     (cl-letf (((symbol-function 'read-string)
                (lambda (prompt &rest _) (error "Unexpected prompt: %s" prompt)))
               ((symbol-function 'read-passwd)
                (lambda (prompt &rest _) (error "Unexpected prompt: %s" prompt))))
       ,@body)))

(defmacro smtpmail-native-compat--with-prompts (answers &rest body)
  "Run BODY answering prompts matching the regexps of ANSWERS.
ANSWERS is a list of (REGEXP . ANSWER); each prompt is recorded in
the variable `prompts'."
  (declare (indent 1) (debug t))
  `(let ((prompts nil))
     (cl-flet ((answer (prompt &rest _)
                       (push prompt prompts)
                       (or (cdr (cl-find-if (lambda (a) (string-match-p (car a) prompt)) ,answers))
                           (error "Unexpected prompt: %s" prompt))))
       (cl-letf (((symbol-function 'read-string) #'answer)
                 ((symbol-function 'read-passwd) #'answer))
         ,@body))))

(defun smtpmail-native-compat--id ()
  "A fresh X-Test-Id value."
  (format "compat-%d-%d" (emacs-pid) (random 1000000000)))

(defun smtpmail-native-compat--send (headers &optional body)
  "Send a message with HEADERS (text) and BODY through `smtpmail-native-send-it'.
A unique X-Test-Id header is added; return its value."
  (let ((id (smtpmail-native-compat--id)))
    (with-temp-buffer
      (insert headers "X-Test-Id: " id "\n" mail-header-separator "\n" (or body "Hello.\n"))
      (smtpmail-native-send-it))
    id))

(defun smtpmail-native-compat--delivered (id &optional server)
  "Delivered copies (FILE . BYTES) of the message ID on SERVER (default good).
All of them: the server has settled first."
  (smtpmail-native-test-servers-delivered
   (lambda (bytes) (string-search (concat "X-Test-Id: " id "\r\n") bytes))
   (or server "good")))

(defun smtpmail-native-compat--one (id &optional server)
  "The bytes of the single delivered copy of ID on SERVER."
  (let ((copies (smtpmail-native-compat--delivered id server)))
    (should (= (length copies) 1))
    (cdar copies)))

(defun smtpmail-native-compat--received (bytes)
  "The Received: field Exim put on top of BYTES, unfolded."
  (replace-regexp-in-string "\r\n[ \t]+" " " (car (split-string bytes "\r\n\\([^ \t]\\)"))))

(defun smtpmail-native-compat--sent-via (headers &optional server)
  "Send a message with HEADERS; return the Received: field of its copy.
SERVER (default good) must have received exactly one copy."
  (smtpmail-native-compat--received
   (smtpmail-native-compat--one (smtpmail-native-compat--send headers) server)))

(defun smtpmail-native-compat--header (bytes name)
  "The header NAME of the delivered BYTES (Exim's Received: excepted), or nil."
  (with-temp-buffer
    (insert (replace-regexp-in-string "\r\n" "\n" (smtpmail-native-test-servers-strip-received bytes)))
    (goto-char (point-min))
    (narrow-to-region (point-min) (if (search-forward "\n\n" nil t) (point) (point-max)))
    (mail-fetch-field name)))

(defun smtpmail-native-compat--body (bytes)
  "The body of the delivered BYTES, with LF line ends."
  (replace-regexp-in-string "\r\n" "\n" (substring bytes (+ 4 (string-search "\r\n\r\n" bytes)))))

(defmacro smtpmail-native-compat--should-fail (form regexp &optional phase delivery)
  "Check that FORM signals an `error' \"Sending failed: \" matching REGEXP.
With PHASE, the module's error behind it (as
`smtpmail-native-send-failure-functions' received it) must have that
:phase and the :delivery DELIVERY.  Return the error message."
  `(let* ((module-error nil)
          (smtpmail-native-send-failure-functions
           (cons (lambda (_id e _file) (setq module-error e))
                 smtpmail-native-send-failure-functions))
          (err (should-error ,form)))
     (should (eq (car err) 'error))
     (should (string-prefix-p "Sending failed" (cadr err)))
     (should (string-match-p ,regexp (cadr err)))
     ,@(if phase
           `((should (eq (plist-get (cddr module-error) :phase) ',phase))
             (should (eq (plist-get (cddr module-error) :delivery) ',delivery)))
         '((ignore module-error)))
     (smtpmail-native-compat--message-of err)))

(defun smtpmail-native-compat--message-of (err)
  "The message of the error ERR (a function: callers may ignore it)."
  (cadr err))

(defun smtpmail-native-compat--alice ()
  "`smtpmail-auth-credentials' for alice on the good server's SMTP port."
  `(("localhost" ,(smtpmail-native-compat--port) "alice" ,smtpmail-native-compat-password)))

(provide 'smtpmail-native-compat-fixture)

;;; smtpmail-native-compat-fixture.el ends here
