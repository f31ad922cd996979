;;; check-manual-options.el --- Every user option is in the manual, and only those  -*- lexical-binding: t; -*-

;;; Commentary:
;; emacs -Q --batch -l scripts/check-manual-options.el doc/smtpmail-native.texi lisp/
;;
;; Reads every top-level `defcustom' of LISP-DIR/*.el (with the Lisp reader, so comments and
;; strings cannot fool it) and every @defopt of the manual, and fails, naming them, when an
;; option is undocumented or the manual documents an option that does not exist.  Run by
;; ctest (doc-options).

;;; Code:

(require 'cl-lib)

(defun check-manual-options--defcustoms (dir)
  "Return the names of the options that DIR's Lisp files define."
  (let ((names nil))
    (dolist (file (directory-files dir t "\\`smtpmail-native.*\\.el\\'"))
      (unless (string-match-p "-\\(autoloads\\|pkg\\)\\.el\\'" file)
        (with-temp-buffer
          (insert-file-contents file)
          (goto-char (point-min))
          (condition-case nil
              (while t
                (let ((form (read (current-buffer))))
                  ;; Options may stand inside a top-level `eval-and-compile'.
                  (dolist (form (if (eq (car-safe form) 'eval-and-compile) (cdr form) (list form)))
                    (when (and (consp form) (eq (car form) 'defcustom))
                      (push (symbol-name (nth 1 form)) names)))))
            (end-of-file nil)))))
    (sort (delete-dups names) #'string<)))

(defun check-manual-options--documented (texi)
  "Return the option names TEXI documents with @defopt."
  (let ((names nil))
    (with-temp-buffer
      (insert-file-contents texi)
      (goto-char (point-min))
      (while (re-search-forward "^@defoptx? +\\([^ \n]+\\)" nil t)
        (push (match-string 1) names)))
    (sort (delete-dups names) #'string<)))

(let* ((texi (nth 0 command-line-args-left))
       (dir (nth 1 command-line-args-left))
       (defined (check-manual-options--defcustoms dir))
       (documented (check-manual-options--documented texi))
       (undocumented (cl-set-difference defined documented :test #'equal))
       (unknown (cl-set-difference documented defined :test #'equal)))
  (setq command-line-args-left nil)
  (when (null defined)
    (message "check-manual-options: no defcustom found in %s" dir)
    (kill-emacs 1))
  (dolist (name undocumented)
    (message "check-manual-options: %s is a user option but has no @defopt in %s" name texi))
  (dolist (name unknown)
    (message "check-manual-options: %s has a @defopt in %s but no defcustom in %s" name texi dir))
  (message "check-manual-options: %d options, %d documented, %d missing, %d unknown"
           (length defined) (length documented) (length undocumented) (length unknown))
  (kill-emacs (if (or undocumented unknown) 1 0)))

;;; check-manual-options.el ends here
