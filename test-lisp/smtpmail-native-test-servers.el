;;; smtpmail-native-test-servers.el --- Private Exim servers for the ERT suites  -*- lexical-binding: t; -*-

;;; Commentary:
;; Starts test-servers/exim-start on 127.0.0.1 for the ERT suites: each named server
;; once per Emacs run, all sharing one test CA, each watched by --owner-pid so that a
;; crashed run leaves no daemon, all stopped (by their directories) at `kill-emacs'.
;; Also finds what Exim delivered, once the server has settled (no session open, every
;; accepted message's delivery completed), so a count of copies is exact.

;;; Code:

(require 'cl-lib)
;; `smtpmail-native-test-servers-send-it' binds their variables: loaded first, so that a
;; later load (by the package under test) cannot change what the bindings mean.
(require 'gnutls)
(require 'smtpmail)

;; Under the sanitizer build ctest preloads ASan/UBSan into this Emacs.  The servers and
;; tools the tests start (Exim, gpg, Python) must not inherit that: they are not ours.
(defconst smtpmail-native-test-servers-sanitizer-environment
  (cl-loop for var in '("LD_PRELOAD" "ASAN_OPTIONS" "UBSAN_OPTIONS")
           when (getenv var) collect (concat var "=" (getenv var)))
  "The sanitizer settings this Emacs was started with, for a child Emacs.")

(dolist (var '("LD_PRELOAD" "ASAN_OPTIONS" "UBSAN_OPTIONS"))
  (setenv var nil))

(defconst smtpmail-native-test-servers-directory
  (expand-file-name "../test-servers/"
                    (file-name-directory (or load-file-name buffer-file-name)))
  "Directory of the test server scripts.")

(defvar smtpmail-native-test-servers--root nil
  "Temporary directory holding this run's servers and their CA.")

(defvar smtpmail-native-test-servers--running nil
  "Alist of (NAME . ENV-ALIST) of the servers this run started.")

(defvar smtpmail-native-test-servers--sinks nil
  "The sink.py processes this run started.")

(defun smtpmail-native-test-servers-start-sink (&rest args)
  "Start test-servers/sink.py on 127.0.0.1 with the further ARGS.
Return its port.  The sink runs until `smtpmail-native-test-servers-stop-sink'
or the end of the run."
  (let* ((buffer (generate-new-buffer " *sink*"))
         (process (make-process :name "sink" :buffer buffer :noquery t :connection-type 'pipe
                                :command (append (list "python3" (expand-file-name
                                                                  "sink.py"
                                                                  smtpmail-native-test-servers-directory)
                                                       "--host" "127.0.0.1" "--print-port")
                                                 args)))
         (deadline (+ (float-time) 10)))
    (push process smtpmail-native-test-servers--sinks)
    (with-current-buffer buffer
      (while (and (not (string-match "\\`\\([0-9]+\\)\n" (buffer-string)))
                  (process-live-p process) (< (float-time) deadline))
        (accept-process-output process 0.05))
      (if (string-match "\\`\\([0-9]+\\)\n" (buffer-string))
          (string-to-number (match-string 1 (buffer-string)))
        (error "The sink did not start: %s" (buffer-string))))))

(defun smtpmail-native-test-servers-sink-wait (port regexp &optional seconds)
  "Wait until the output of the sink on PORT has a line matching REGEXP.
Give up after SECONDS (default 10); return non-nil when it came.  With
--report-sessions the sink prints \"closed N\" as connection N ends."
  (let ((process (cl-find-if (lambda (p)
                               (and (process-live-p p)
                                    (equal (number-to-string port)
                                           (with-current-buffer (process-buffer p)
                                             (car (split-string (buffer-string) "\n"))))))
                             smtpmail-native-test-servers--sinks))
        (deadline (+ (float-time) (or seconds 10)))
        (found nil))
    (unless process (error "No sink on port %s" port))
    (while (and (not (setq found (with-current-buffer (process-buffer process)
                                   (save-excursion
                                     (goto-char (point-min))
                                     (re-search-forward regexp nil t)))))
                (< (float-time) deadline))
      (accept-process-output process 0.05))
    found))

(defun smtpmail-native-test-servers-stop-sink (port)
  "Stop the sink listening on PORT."
  (dolist (process smtpmail-native-test-servers--sinks)
    (when (and (process-live-p process)
               (equal (number-to-string port)
                      (with-current-buffer (process-buffer process)
                        (car (split-string (buffer-string) "\n")))))
      (delete-process process)))
  (setq smtpmail-native-test-servers--sinks
        (cl-remove-if-not #'process-live-p smtpmail-native-test-servers--sinks)))

(defun smtpmail-native-test-servers-stop-all ()
  "Stop every server this run started and remove their files."
  (mapc #'delete-process smtpmail-native-test-servers--sinks)
  (setq smtpmail-native-test-servers--sinks nil)
  (dolist (entry smtpmail-native-test-servers--running)
    (call-process (expand-file-name "exim-stop" smtpmail-native-test-servers-directory) nil nil nil
                  (cdr (assoc "EXIM_DIR" (cdr entry)))))
  (setq smtpmail-native-test-servers--running nil)
  (when smtpmail-native-test-servers--root
    (delete-directory smtpmail-native-test-servers--root t)
    (setq smtpmail-native-test-servers--root nil)))

(add-hook 'kill-emacs-hook #'smtpmail-native-test-servers-stop-all)

(defun smtpmail-native-test-servers--root ()
  "This run's server directory, made on first use."
  (unless smtpmail-native-test-servers--root
    ;; Exim drops to Debian-exim: the directory must be reachable by it.
    (setq smtpmail-native-test-servers--root (make-temp-file "smtpn-servers-" t))
    (set-file-modes smtpmail-native-test-servers--root #o755))
  smtpmail-native-test-servers--root)

(cl-defun smtpmail-native-test-servers-start (&optional cert &key name args)
  "Return the environment alist of a running Exim presenting CERT (default good).
NAME (default CERT) tells servers apart: a second NAME starts a second
server.  ARGS are further exim-start arguments, used when it starts."
  (let* ((cert (or cert "good"))
         (name (or name cert)))
    (or (cdr (assoc name smtpmail-native-test-servers--running))
        (progn
          (with-temp-buffer
            (let* ((dir (expand-file-name name (smtpmail-native-test-servers--root)))
                   (status (apply #'call-process
                                  (expand-file-name "exim-start" smtpmail-native-test-servers-directory)
                                  nil t nil dir "--cert" cert
                                  "--ca" (expand-file-name "ca" (smtpmail-native-test-servers--root))
                                  "--owner-pid" (number-to-string (emacs-pid))
                                  args))
                   env)
              (unless (eq status 0) (error "Exim-start failed: %s" (buffer-string)))
              (goto-char (point-min))
              (while (re-search-forward "^\\([A-Z_0-9]+\\)=\\(.*\\)$" nil t)
                (push (cons (match-string 1) (match-string 2)) env))
              (push (cons name env) smtpmail-native-test-servers--running)
              env))))))

(defun smtpmail-native-test-servers-start-cyrus ()
  "Environment of the Exim \"cyrus\": SCRAM and DIGEST-MD5 through Cyrus SASL.
alice's password is wonderland-secret, as on the other servers."
  (or (cdr (assoc "cyrus" smtpmail-native-test-servers--running))
      (let* ((conf-dir (expand-file-name "cyrus-sasl" (smtpmail-native-test-servers--root)))
             (sasldb (expand-file-name "sasldb2" conf-dir))
             (auths (expand-file-name "authenticators" conf-dir)))
        (make-directory conf-dir t)
        (set-file-modes conf-dir #o755)
        (with-temp-buffer
          (insert "wonderland-secret")
          (unless (eq 0 (call-process-region (point-min) (point-max) "saslpasswd2" nil nil nil
                                             "-f" sasldb "-c" "-p" "-u" "exim-test.localhost" "alice"))
            (error "Saslpasswd2 failed")))
        ;; Exim reads the sasldb as its own user once it has dropped root.
        (when (zerop (user-uid)) (call-process "chown" nil nil nil "Debian-exim" sasldb))
        (with-temp-file (expand-file-name "exim.conf" conf-dir)
          (insert "pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: " sasldb
                  "\nmech_list: SCRAM-SHA-256 SCRAM-SHA-1 DIGEST-MD5\n"
                  ;; Above the 4096 floor, so that a ceiling test has room.
                  "scram_iteration_counter: 10000\n"))
        (with-temp-file auths
          (dolist (mech '("SCRAM-SHA-256" "SCRAM-SHA-1" "DIGEST-MD5"))
            (insert (format "cyrus_%s:\n  driver = cyrus_sasl\n  public_name = %s\n  server_mech = %s\n"
                            (downcase (replace-regexp-in-string "-" "_" mech)) mech mech)
                    "  server_realm = exim-test.localhost\n  server_set_id = $auth1\n\n")))
        ;; Cyrus finds exim.conf through SASL_CONF_PATH, which Exim must be told to keep.
        (let ((process-environment (cons (concat "SASL_CONF_PATH=" conf-dir) process-environment)))
          (smtpmail-native-test-servers-start
           "good" :name "cyrus"
           :args (list "--main" "keep_environment = SASL_CONF_PATH" "--authenticators" auths))))))

(defun smtpmail-native-test-servers-get (key &optional name)
  "Value of KEY (e.g. \"CA_FILE\") for the server NAME (default good)."
  (cdr (assoc key (or (cdr (assoc (or name "good") smtpmail-native-test-servers--running))
                      (smtpmail-native-test-servers-start name)))))

(defun smtpmail-native-test-servers-port (key &optional name)
  "Port number KEY (SMTP_PORT or SMTPS_PORT) of the server NAME."
  (string-to-number (smtpmail-native-test-servers-get key name)))

(defun smtpmail-native-test-servers-read-file (file)
  "The bytes of FILE as a unibyte string."
  (with-temp-buffer
    (set-buffer-multibyte nil)
    (let ((coding-system-for-read 'binary)) (insert-file-contents file))
    (buffer-string)))

(defun smtpmail-native-test-servers-strip-received (message)
  "MESSAGE as delivered, without the one Received: field Exim puts on top."
  (replace-regexp-in-string "\\`Received: [^\r\n]*\r\n\\([ \t][^\r\n]*\r\n\\)*" "" message))

(defun smtpmail-native-test-servers--in-flight (name)
  "What server NAME is still doing, as a list of strings; nil when idle.
An SMTP session in progress is a child process of the Exim daemon; a
message received (\"<=\" in the main log) is in flight until the log
says its delivery \"Completed\"."
  (let* ((pid (smtpmail-native-test-servers-get "EXIM_PID" name))
         (children (format "/proc/%s/task/%s/children" pid pid))
         (log (smtpmail-native-test-servers-get "MAIN_LOG" name))
         (received nil)
         (busy nil))
    (unless (file-exists-p children) (error "Cannot see the Exim daemon's sessions in %s" children))
    (with-temp-buffer
      (insert-file-contents children)
      (dolist (child (split-string (buffer-string)))
        (push (concat "session " child) busy)))
    (with-temp-buffer
      (when (file-exists-p log) (insert-file-contents log))
      (goto-char (point-min))
      (while (re-search-forward
              " \\([0-9A-Za-z]+-[0-9A-Za-z]+-[0-9A-Za-z]+\\) \\(<=\\|Completed\\) " nil t)
        (if (equal (match-string 2) "<=")
            (push (match-string 1) received)
          (setq received (delete (match-string 1) received)))))
    (append busy (mapcar (lambda (id) (concat "message " id)) received))))

(defun smtpmail-native-test-servers-settle (&optional name wait)
  "Wait until server NAME (default good) has no session and no delivery in flight.
Signal an error after WAIT seconds (default 10).  Once a send has
returned, what the server accepted is in its log, so after this the
delivered files are all there will be: a count is exact, not a guess
after a pause."
  (let ((deadline (+ (float-time) (or wait 10)))
        busy)
    (while (and (setq busy (smtpmail-native-test-servers--in-flight name))
                (< (float-time) deadline))
      (sleep-for 0.02))
    (when busy (error "Server %s still busy after %ss: %S" (or name "good") (or wait 10) busy))))

(defun smtpmail-native-test-servers-delivered (predicate &optional name)
  "Delivered messages of server NAME for which PREDICATE is non-nil.
PREDICATE is called with each delivered file's bytes.  Waits for the
server to settle (`smtpmail-native-test-servers-settle') first, so the
list is complete: return every (FILE . BYTES) found."
  (smtpmail-native-test-servers-settle name)
  (let ((found nil))
    (dolist (file (directory-files (smtpmail-native-test-servers-get "MAIL_DIR" name) t "\\.eml\\'"))
      (let ((bytes (smtpmail-native-test-servers-read-file file)))
        (when (funcall predicate bytes) (push (cons file bytes) found))))
    (nreverse found)))

;; smtpmail dropped this variable in Emacs 24; smtpmail-native reads it.
(defvar smtpmail-auth-credentials)

(defun smtpmail-native-test-servers-send-it (tag subject body)
  "Send SUBJECT and BODY to the good server with `smtpmail-native-send-it'.
smtpmail is configured as a user would (STARTTLS verified against the
test CA, CRAM-MD5 with `smtpmail-auth-credentials'); the function is
called by name, so an autoload of it stays one until then.  The message
carries the header X-Test-Id: TAG-N; return the number of copies of it
the server delivered (after it settled)."
  (let* ((port (smtpmail-native-test-servers-port "SMTP_PORT"))
         (id (format "%s-%d" tag (random 1000000000)))
         (smtpmail-smtp-server "localhost")
         (smtpmail-smtp-service port)
         (smtpmail-stream-type 'starttls)
         (gnutls-trustfiles (list (smtpmail-native-test-servers-get "CA_FILE")))
         (smtpmail-auth-supported '(cram-md5))
         (smtpmail-auth-credentials
          (list (list "localhost" port (smtpmail-native-test-servers-get "AUTH_USER")
                      (smtpmail-native-test-servers-get "AUTH_PASSWORD"))))
         (smtpmail-queue-mail nil))
    (with-temp-buffer
      (insert "From: sender@example.org\nTo: rcpt@example.org\nSubject: " subject
              "\nX-Test-Id: " id "\n" mail-header-separator "\n" body "\n")
      (funcall 'smtpmail-native-send-it))
    (length (smtpmail-native-test-servers-delivered
             (lambda (bytes) (string-search (concat "X-Test-Id: " id "\r\n") bytes))))))

(defun smtpmail-native-test-servers-free-port ()
  "A port on 127.0.0.1 nobody listens on (just released by us)."
  (let* ((server (make-network-process :name "probe" :server t :host "127.0.0.1" :service t
                                       :family 'ipv4 :noquery t))
         (port (process-contact server :service)))
    (delete-process server)
    port))

(provide 'smtpmail-native-test-servers)

;;; smtpmail-native-test-servers.el ends here
