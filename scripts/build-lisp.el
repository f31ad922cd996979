;;; build-lisp.el --- Byte-compile the Lisp layer and generate its autoloads  -*- lexical-binding: t; -*-

;;; Commentary:
;; Run by the build (CMake's `smtpn_lisp' target) in batch:
;;
;;   emacs -Q --batch -l scripts/build-lisp.el STAGE-DIR [INFO-DIR-RELATIVE]
;;
;; STAGE-DIR holds copies of every lisp/*.el file.  Each is byte-compiled there (errors fail
;; the build; warnings are scripts/lint-lisp's business), and Emacs's own autoload machinery
;; writes smtpmail-native-autoloads.el from the ;;;###autoload cookies of all of them.  The
;; autoloads file starts by putting its own directory on `load-path', as package.el's do, so
;; loading it is the whole setup; with INFO-DIR-RELATIVE (the Info directory relative to
;; STAGE-DIR's install place) it also makes the manual visible to C-h i when installed there.

;;; Code:

(require 'autoload)
(require 'cl-lib)
(require 'subr-x)
(require 'bytecomp)

(defun smtpmail-native-build--autoloads (dir info-relative)
  "Write DIR's smtpmail-native-autoloads.el, with INFO-RELATIVE as for this script."
  (let ((file (expand-file-name "smtpmail-native-autoloads.el" dir))
        (generated nil))
    (when (file-exists-p file) (delete-file file))
    (if (fboundp 'loaddefs-generate)
        (funcall 'loaddefs-generate dir file)
      (make-directory-autoloads dir file))
    (with-temp-buffer
      (insert-file-contents file)
      (setq generated (buffer-string)))
    (with-temp-file file
      (insert generated)
      ;; Our forms go right after the generated file's ";;; Code:" line.
      (goto-char (point-min))
      (unless (re-search-forward "^;;; Code:\n" nil t)
        (error "No \";;; Code:\" line in the generated %s" file))
      (insert "\n;; Added by the build (scripts/build-lisp.el): loading this file is the whole setup.\n"
              "(add-to-list 'load-path\n"
              "             (directory-file-name (file-name-directory (or load-file-name buffer-file-name))))\n\n")
      (when info-relative
        (insert (format "(let ((info-dir (expand-file-name %S (file-name-directory (or load-file-name buffer-file-name)))))
  ;; The manual installed beside us: make C-h i find it when its directory is not already
  ;; one Info searches.
  (when (file-exists-p (expand-file-name \"smtpmail-native.info\" info-dir))
    (with-eval-after-load 'info
      (info-initialize)
      (unless (let ((known nil))
                (dolist (d Info-directory-list known)
                  (when (and (stringp d) (file-directory-p d) (file-equal-p d info-dir))
                    (setq known t))))
        (add-to-list 'Info-directory-list info-dir t)))))\n\n"
                        info-relative))))))

(let* ((dir (file-name-as-directory (expand-file-name (pop command-line-args-left))))
       (info-relative (pop command-line-args-left))
       (files (directory-files dir t "\\`smtpmail-native.*\\.el\\'"))
       (load-path (cons dir load-path))
       (make-backup-files nil)
       (failed nil))
  (setq files (cl-remove-if (lambda (f) (string-suffix-p "-autoloads.el" f)) files))
  (dolist (file files)
    (unless (byte-compile-file file)
      (push (file-name-nondirectory file) failed)))
  (when failed
    (message "build-lisp: these files did not compile: %s" (string-join (nreverse failed) " "))
    (kill-emacs 1))
  (smtpmail-native-build--autoloads dir (and info-relative (not (string-empty-p info-relative))
                                             info-relative))
  (message "build-lisp: %d files compiled, autoloads in %s" (length files) dir)
  (kill-emacs 0))

;;; build-lisp.el ends here
