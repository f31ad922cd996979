;;; smtpmail-native-sasl-fixture.el --- SASL servers and a secret scanner for the ERT suites  -*- lexical-binding: t; -*-

;;; Commentary:
;; What smtpmail-native-sasl-tests.el and smtpmail-native-secrets-tests.el share:
;;
;;   - private Dovecot submission servers on 127.0.0.1 (test-servers/dovecot-start), relaying
;;     to the compat fixture's "good" Exim: "plain" (a plaintext passdb, so every password
;;     mechanism works; besides alice/wonderland-secret it knows a user whose password is
;;     unique to this run) and "oauth2" (OAUTHBEARER and XOAUTH2, checked against
;;     test-servers/oauth-introspect.py, whose one active token is unique to this run);
;;   - a scanner that finds a secret in a text, literally or as any SASL exchange would
;;     carry it (base64, the PLAIN and OAuth blobs), so that a test can prove it absent.
;;
;; Dovecot runs as root or, rootless, as the caller (test-servers/dovecot-start);
;; `smtpmail-native-sasl-fixture-dovecot-available' says whether it is installed.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'smtpmail-native-test-servers)
(require 'smtpmail-native-compat-fixture)

(defun smtpmail-native-sasl-fixture-unique (prefix)
  "PREFIX followed by 16 hex digits unlikely to occur anywhere else."
  (concat prefix (substring (secure-hash 'sha256 (format "%s %s %s" (random) (float-time) (emacs-pid)))
                            0 16)))

(defconst smtpmail-native-sasl-fixture-token (smtpmail-native-sasl-fixture-unique "T0k3n-")
  "The one token the introspection endpoint calls active (for alice).")

(defconst smtpmail-native-sasl-fixture-secret-user "carol"
  "A user of the plain Dovecot whose password is unique to this run.")

(defconst smtpmail-native-sasl-fixture-secret-password
  (smtpmail-native-sasl-fixture-unique "S3cr3t-Pa55-")
  "The password of `smtpmail-native-sasl-fixture-secret-user'.")

(defvar smtpmail-native-sasl-fixture--dir nil "Private directory of this run's SASL servers.")
(defvar smtpmail-native-sasl-fixture--dovecots nil "Alist (NAME . ENV) of running Dovecots.")
(defvar smtpmail-native-sasl-fixture--introspect nil "The introspection endpoint's process.")

(defun smtpmail-native-sasl-fixture--stop-all ()
  "Stop the Dovecots and the endpoint this run started."
  (dolist (entry smtpmail-native-sasl-fixture--dovecots)
    (call-process (expand-file-name "dovecot-stop" smtpmail-native-test-servers-directory) nil nil nil
                  (cdr (assoc "DOVECOT_DIR" (cdr entry)))))
  (setq smtpmail-native-sasl-fixture--dovecots nil)
  (when (process-live-p smtpmail-native-sasl-fixture--introspect)
    (delete-process smtpmail-native-sasl-fixture--introspect))
  (when smtpmail-native-sasl-fixture--dir
    (delete-directory smtpmail-native-sasl-fixture--dir t)
    (setq smtpmail-native-sasl-fixture--dir nil)))

(add-hook 'kill-emacs-hook #'smtpmail-native-sasl-fixture--stop-all)

(defun smtpmail-native-sasl-fixture-private (name)
  "NAME in this run's directory (traversable by the servers' users)."
  (unless smtpmail-native-sasl-fixture--dir
    (setq smtpmail-native-sasl-fixture--dir (make-temp-file "smtpn-sasl-" t))
    (set-file-modes smtpmail-native-sasl-fixture--dir #o755))
  (expand-file-name name smtpmail-native-sasl-fixture--dir))

(defun smtpmail-native-sasl-fixture--parse-env ()
  "KEY=VALUE lines of the current buffer as an alist."
  (let (env)
    (goto-char (point-min))
    (while (re-search-forward "^\\([A-Z_0-9]+\\)=\\(.*\\)$" nil t)
      (push (cons (match-string 1) (match-string 2)) env))
    env))

(defun smtpmail-native-sasl-fixture--introspect-url ()
  "URL of the running introspection endpoint, started on first use."
  (unless (process-live-p smtpmail-native-sasl-fixture--introspect)
    (let ((buffer (generate-new-buffer " *introspect*")))
      (setq smtpmail-native-sasl-fixture--introspect
            (make-process :name "smtpn-introspect" :buffer buffer :noquery t
                          :command (list "python3"
                                         (expand-file-name "oauth-introspect.py"
                                                           smtpmail-native-test-servers-directory)
                                         smtpmail-native-sasl-fixture-token "alice")
                          :stderr (get-buffer-create " *introspect-log*")))
      (let ((deadline (+ (float-time) 10)))
        (while (and (not (with-current-buffer buffer (string-search "\n" (buffer-string))))
                    (< (float-time) deadline))
          (accept-process-output smtpmail-native-sasl-fixture--introspect 0.05)))))
  (with-current-buffer (process-buffer smtpmail-native-sasl-fixture--introspect)
    (let ((port (cdr (assoc "PORT" (smtpmail-native-sasl-fixture--parse-env)))))
      (unless port (error "The introspection endpoint did not start: %s" (buffer-string)))
      (format "http://127.0.0.1:%s/introspect" port))))

(defun smtpmail-native-sasl-fixture-dovecot (&optional oauth2)
  "Environment alist of a running Dovecot (OAUTH2 non-nil: the oauth2 one)."
  (let ((name (if oauth2 "oauth2" "plain")))
    (or (cdr (assoc name smtpmail-native-sasl-fixture--dovecots))
        (with-temp-buffer
          (let* ((relay (smtpmail-native-compat--port "good"))
                 (status (apply #'call-process
                                (expand-file-name "dovecot-start" smtpmail-native-test-servers-directory)
                                nil t nil (smtpmail-native-sasl-fixture-private (concat "dovecot-" name))
                                "--relay-port" (number-to-string relay)
                                "--ca" (expand-file-name "ca" smtpmail-native-test-servers--root)
                                "--owner-pid" (number-to-string (emacs-pid))
                                (if oauth2
                                    (list "--oauth2" (smtpmail-native-sasl-fixture--introspect-url))
                                  (list "--user" (concat smtpmail-native-sasl-fixture-secret-user ":"
                                                         smtpmail-native-sasl-fixture-secret-password)))))
                 (env (smtpmail-native-sasl-fixture--parse-env)))
            (unless (eq status 0) (error "Dovecot-start failed: %s" (buffer-string)))
            (push (cons name env) smtpmail-native-sasl-fixture--dovecots)
            env)))))

(defun smtpmail-native-sasl-fixture-port (&optional oauth2)
  "Submission port of the running Dovecot (OAUTH2 non-nil: the oauth2 one)."
  (string-to-number (cdr (assoc "SUBMISSION_PORT" (smtpmail-native-sasl-fixture-dovecot oauth2)))))

(defun smtpmail-native-sasl-fixture-dovecot-available ()
  "Non-nil when this machine can run the Dovecot tests (Dovecot is installed)."
  (and (or (executable-find "dovecot") (file-executable-p "/usr/sbin/dovecot"))
       (file-executable-p "/usr/lib/dovecot/submission")))

;;;; Finding secrets

(defun smtpmail-native-sasl-fixture-secret-forms (user secret &optional host port)
  "SECRET as a login of USER puts it on the wire, each form a string.
The secret itself and its base64; the PLAIN blobs, without and with
an authorisation identity; the XOAUTH2 and OAUTHBEARER blobs (the
latter also with HOST and PORT, as the module sends it), base64'd."
  (let ((b64 (lambda (s) (base64-encode-string (encode-coding-string s 'utf-8) t))))
    (append
     (list (encode-coding-string secret 'utf-8)
           (funcall b64 secret)
           (funcall b64 (concat "\0" user "\0" secret))
           (funcall b64 (concat user "\0" user "\0" secret))
           (funcall b64 (concat "user=" user "\1auth=Bearer " secret "\1\1"))
           (funcall b64 (concat "n,a=" user ",\1auth=Bearer " secret "\1\1")))
     (and host port
          (list (funcall b64 (format "n,a=%s,\1host=%s\1port=%s\1auth=Bearer %s\1\1"
                                     user host port secret)))))))

(defun smtpmail-native-sasl-fixture--decoded-runs (text)
  "What each run of base64 characters in TEXT decodes to.
Every run is decoded from each of its first four characters, so
that a blob glued to a word is found too."
  (let ((start 0) decoded)
    (while (string-match "[A-Za-z0-9+/]\\{6,\\}=\\{0,2\\}" text start)
      (let ((run (match-string 0 text)))
        (setq start (match-end 0))
        (dotimes (offset 4)
          (let ((usable (* 4 (/ (- (length run) offset) 4))))
            (when (> usable 0)
              (when-let ((bytes (ignore-errors
                                  (base64-decode-string (substring run offset (+ offset usable))))))
                (push bytes decoded)))))))
    decoded))

(defun smtpmail-native-sasl-fixture-find-secret (text user secrets &optional host port)
  "The first form of SECRETS (strings) of USER found in TEXT, or nil.
The forms are `smtpmail-native-sasl-fixture-secret-forms' (HOST and
PORT as there); any base64 run of TEXT that decodes to bytes holding
a secret counts as well, and is returned decoded."
  (let ((text (if (multibyte-string-p text) (encode-coding-string text 'utf-8) text)))
    (or (cl-loop for secret in secrets
                 thereis (cl-find-if (lambda (form) (string-search form text))
                                     (smtpmail-native-sasl-fixture-secret-forms user secret host port)))
        (cl-loop for bytes in (smtpmail-native-sasl-fixture--decoded-runs text)
                 thereis (and (cl-some (lambda (secret)
                                         (string-search (encode-coding-string secret 'utf-8) bytes))
                                       secrets)
                              bytes)))))

(defun smtpmail-native-sasl-fixture-no-secret-in (trace user &rest secrets)
  "Check that no line of TRACE carries any of SECRETS of USER, in any form."
  (should-not (smtpmail-native-sasl-fixture-find-secret (mapconcat #'identity trace "\n")
                                                        user secrets)))

(provide 'smtpmail-native-sasl-fixture)

;;; smtpmail-native-sasl-fixture.el ends here
