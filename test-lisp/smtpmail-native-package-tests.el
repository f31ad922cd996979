;;; smtpmail-native-package-tests.el --- The package.el install, and building the module there  -*- lexical-binding: t; -*-

;;; Commentary:
;; Run by test-lisp/run-package-test (ctest package-install, label package) on the tarball of
;; scripts/make-package: installed with `package-install-file' into a temporary
;; `package-user-dir', the package ships what building the module needs, and
;; M-x smtpmail-native-module-compile builds the module in the installed package's directory,
;; after which a send through the suite's Exim works without restarting Emacs.

;;; Code:

(require 'ert)
(require 'package)
(require 'info)
;; With smtpmail and gnutls, before our package loads (see its send-it).
(load (expand-file-name "smtpmail-native-test-servers"
                        (file-name-directory (or load-file-name buffer-file-name)))
      nil t)

(setq package-user-dir (or (getenv "SMTPN_PACKAGE_USER_DIR")
                           (error "Run through test-lisp/run-package-test"))
      package-archives nil)
(package-initialize)
(package-install-file (getenv "SMTPN_PACKAGE_TARBALL"))

(defun smtpmail-native-package-tests--dir ()
  "The installed package's directory."
  (let ((desc (cadr (assq 'smtpmail-native package-alist))))
    (should desc)
    (file-name-as-directory (package-desc-dir desc))))

(ert-deftest smtpmail-native-package-contents ()
  "The installed package holds the Lisp, the manual and the module's sources."
  (let ((dir (smtpmail-native-package-tests--dir)))
    (dolist (file '("smtpmail-native.el" "smtpmail-native.elc" "smtpmail-native-autoloads.el"
                    "smtpmail-native-pkg.el" "smtpmail-native.info" "dir" "CMakeLists.txt"
                    "module/version.hpp.in" "module/emacs/module_init.cpp"
                    "module/emacs/exports.map"))
      (should (file-exists-p (expand-file-name file dir))))
    ;; Installing byte-compiles the package here, which loads its files; a new Emacs that
    ;; only activates the package has the autoloads, and the package itself is not loaded.
    (should (equal (car (process-lines
                         (expand-file-name invocation-name invocation-directory)
                         "-Q" "--batch"
                         "--eval" (format "(setq package-user-dir %S package-archives nil)"
                                          package-user-dir)
                         "--eval" "(package-initialize)"
                         "--eval" "(princ (list (autoloadp (symbol-function 'smtpmail-native-send-it))
                                               (featurep 'smtpmail-native)))"))
                   "(t nil)"))
    (should (commandp 'smtpmail-native-module-compile))
    (info-initialize)
    (should (member (directory-file-name dir) (mapcar #'directory-file-name Info-directory-list)))))

(ert-deftest smtpmail-native-package-module-compile-then-send ()
  "M-x smtpmail-native-module-compile builds the module in the package; a send then works."
  (let* ((dir (smtpmail-native-package-tests--dir))
         (module (expand-file-name (concat "smtpmail-native-module" module-file-suffix) dir)))
    (should-not (file-exists-p module))
    (funcall 'smtpmail-native-module-compile)
    (let ((buffer (get-buffer "*smtpmail-native-module-compile*"))
          (deadline (+ (float-time) 1200)))
      (should buffer)
      (while (and (get-buffer-process buffer) (< (float-time) deadline))
        (accept-process-output nil 0.5))
      ;; Let the compilation's finish functions (which load the module) run.
      (accept-process-output nil 0.5)
      (should (string-match-p "finished" (with-current-buffer buffer (buffer-string)))))
    (should (file-exists-p module))
    (should (= 1 (smtpmail-native-test-servers-send-it
                   "package" "package" "Sent by the package.el install.")))))

;;; smtpmail-native-package-tests.el ends here
