;;; smtpmail-native-install-tests.el --- The installed package, from its autoloads alone  -*- lexical-binding: t; -*-

;;; Commentary:
;; Run by test-lisp/run-install-test (ctest install-smoke, label install) after `cmake --install'
;; into a temporary prefix, in an Emacs whose load-path holds, of this project, only the
;; installed PREFIX/share/emacs/site-lisp/smtpmail-native/.  Checks what was installed, then
;; loads the generated autoloads file and nothing else, and sends a message through the suite's
;; Exim with `smtpmail-native-send-it', which must load the package and then the module on
;; first use, from the install directory.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'subr-x)
(require 'info)
;; With smtpmail and gnutls, before our package loads (see its send-it).
(load (expand-file-name "smtpmail-native-test-servers"
                        (file-name-directory (or load-file-name buffer-file-name)))
      nil t)

(defconst smtpmail-native-install-tests--lispdir
  (file-name-as-directory (or (getenv "SMTPN_INSTALL_LISPDIR")
                              (error "Run through test-lisp/run-install-test")))
  "The installed Lisp directory.")

(defconst smtpmail-native-install-tests--infodir
  (file-name-as-directory (getenv "SMTPN_INSTALL_INFODIR"))
  "The installed Info directory.")

(defun smtpmail-native-install-tests--in-lispdir (file)
  "FILE in the installed Lisp directory."
  (expand-file-name file smtpmail-native-install-tests--lispdir))

(ert-deftest smtpmail-native-install-layout ()
  "The Lisp files with their .elc, the autoloads, the module and the manual are installed."
  (let ((lisp (directory-files smtpmail-native-install-tests--lispdir nil "\\.el\\'")))
    (should (member "smtpmail-native.el" lisp))
    (should (member "smtpmail-native-autoloads.el" lisp))
    (dolist (file lisp)
      (unless (equal file "smtpmail-native-autoloads.el")
        (should (file-exists-p (smtpmail-native-install-tests--in-lispdir (concat file "c")))))))
  (should (file-exists-p (smtpmail-native-install-tests--in-lispdir
                          (concat "smtpmail-native-module" module-file-suffix))))
  (should (file-exists-p (expand-file-name "smtpmail-native.info"
                                           smtpmail-native-install-tests--infodir)))
  ;; install-info registered it in the prefix's dir file.
  (with-temp-buffer
    (insert-file-contents (expand-file-name "dir" smtpmail-native-install-tests--infodir))
    (should (re-search-forward "^\\* smtpmail-native: (smtpmail-native)" nil t))))

(ert-deftest smtpmail-native-install-autoloads-alone ()
  "Loading the autoloads file by its name is the whole setup: it puts its directory on load-path."
  (with-temp-buffer
    (should (eq 0 (call-process
                   (expand-file-name invocation-name invocation-directory) nil t nil
                   "-Q" "--batch" "--eval"
                   (format "(progn (load %S nil t) (princ (locate-library \"smtpmail-native\")))"
                           (smtpmail-native-install-tests--in-lispdir
                            "smtpmail-native-autoloads")))))
    (should (equal (file-name-directory (string-trim (buffer-string)))
                   smtpmail-native-install-tests--lispdir))))

(ert-deftest smtpmail-native-install-autoloads-then-send ()
  "The autoloads file alone is the setup: the first send loads the package and the module."
  ;; Nothing of the package is loaded yet, and only the installed copy can be found.
  (should-not (featurep 'smtpmail-native))
  (should (equal (file-name-directory (locate-library "smtpmail-native"))
                 smtpmail-native-install-tests--lispdir))
  (should (equal (file-name-directory (locate-library "smtpmail-native-autoloads"))
                 smtpmail-native-install-tests--lispdir))
  (require 'smtpmail-native-autoloads)
  ;; Autoloads only: the package is still not loaded.
  (should-not (featurep 'smtpmail-native))
  (should-not (featurep 'smtpmail-native-module))
  (should (autoloadp (symbol-function 'smtpmail-native-send-it)))
  (should (commandp 'smtpmail-native-module-compile))
  (should (= 1 (smtpmail-native-test-servers-send-it
                 "install" "installed" "Sent by the installed smtpmail-native.")))
  ;; Loaded on first use, from the install directory.
  (should (featurep 'smtpmail-native))
  (should (featurep 'smtpmail-native-module))
  (should (equal (file-name-directory (symbol-file 'smtpmail-native-send-it 'defun))
                 smtpmail-native-install-tests--lispdir)))

(ert-deftest smtpmail-native-install-manual-found-by-info ()
  "C-h i finds the installed manual through the autoloads file, whatever the prefix."
  (require 'smtpmail-native-autoloads)
  (info-initialize)
  (should (cl-some (lambda (dir)
                     (and (file-directory-p dir)
                          (file-equal-p dir smtpmail-native-install-tests--infodir)))
                   Info-directory-list))
  (with-temp-buffer
    (Info-mode)
    (Info-find-node "smtpmail-native" "Top")
    (should (string-match-p "smtpmail-native" (buffer-string)))
    ;; And the dir node C-h i opens lists it.
    (Info-find-node "dir" "Top")
    (should (string-match-p "^\\* smtpmail-native: (smtpmail-native)" (buffer-string)))))

;;; smtpmail-native-install-tests.el ends here
