;;; check-lisp-graph.el --- Fail on require cycles and private calls across files  -*- lexical-binding: t; -*-

;;; Commentary:

;; Run by scripts/check-lisp-graph:
;;   emacs -Q --batch -l scripts/check-lisp-graph.el DIR
;; Reads every DIR/*.el (never loads or evaluates them) and fails when
;; - the `require's among them form a cycle, or
;; - a file uses a private (`--') function, macro or variable defined in
;;   another file of DIR that it does not require, directly or through
;;   the files it requires.
;; Names defined nowhere in DIR (the module's own functions) are not
;; checked; strings and comments are not uses.  Prints the graph and
;; one line per violation; exits 1 when there is any.

;;; Code:

(require 'cl-lib)
(require 'subr-x)

(defun check-lisp-graph--forms (file)
  "Return the top-level forms of FILE, read without evaluating them."
  (with-temp-buffer
    (insert-file-contents file)
    (let ((forms nil))
      (condition-case nil
          (while t (push (read (current-buffer)) forms))
        (end-of-file nil))
      (nreverse forms))))

(defun check-lisp-graph--walk (tree function)
  "Call FUNCTION on every symbol and every cons in TREE."
  (cond ((consp tree)
         (funcall function tree)
         (while (consp tree)
           (check-lisp-graph--walk (car tree) function)
           (setq tree (cdr tree)))
         (when tree (check-lisp-graph--walk tree function)))
        ((vectorp tree) (mapc (lambda (x) (check-lisp-graph--walk x function)) tree))
        ((symbolp tree) (funcall function tree))))

(defun check-lisp-graph--private-p (symbol)
  "Non-nil when SYMBOL's name marks it private: PREFIX--NAME."
  (and (symbolp symbol) (string-match-p "[^-]--[^-]" (symbol-name symbol))))

(defun check-lisp-graph--quoted (form)
  "Return the symbol FORM quotes, as in \\='x or #\\='x, or nil."
  (and (memq (car-safe form) '(quote function)) (symbolp (cadr form)) (cadr form)))

(defun check-lisp-graph--scan (file)
  "Return (FEATURE REQUIRES DEFINED PREFIXES USED) for FILE.
DEFINED are the private names FILE defines; PREFIXES the name
prefixes of its `cl-defstruct's (whose accessors are generated);
USED every private symbol it mentions outside strings and comments."
  (let (feature requires defined prefixes used)
    (dolist (form (check-lisp-graph--forms file))
      (check-lisp-graph--walk
       form
       (lambda (x)
         (cond ((symbolp x) (when (check-lisp-graph--private-p x) (push x used)))
               ((and (eq (car x) 'provide) (check-lisp-graph--quoted (cadr x)))
                (setq feature (check-lisp-graph--quoted (cadr x))))
               ((and (eq (car x) 'require) (check-lisp-graph--quoted (cadr x)))
                (push (check-lisp-graph--quoted (cadr x)) requires))
               ((and (memq (car x) '(defun defmacro defsubst defvar defvar-local defconst
                                          defcustom cl-defun cl-defmacro cl-defgeneric
                                          cl-defmethod define-inline))
                     (symbolp (cadr x)))
                (push (cadr x) defined))
               ((and (eq (car x) 'defalias) (check-lisp-graph--quoted (cadr x)))
                (push (check-lisp-graph--quoted (cadr x)) defined))
               ((eq (car x) 'cl-defstruct)
                (let ((name (if (consp (cadr x)) (car (cadr x)) (cadr x))))
                  (push (concat (symbol-name name) "-") prefixes)
                  (push name defined)))))))
    (list feature requires defined prefixes (delete-dups used))))

(defun check-lisp-graph--closure (feature graph)
  "Return the features FEATURE requires, directly or not, in GRAPH."
  (let ((seen nil) (todo (list feature)))
    (while todo
      (dolist (next (cdr (assq (pop todo) graph)))
        (unless (memq next seen)
          (push next seen)
          (push next todo))))
    seen))

(defun check-lisp-graph--cycle (graph)
  "Return a require cycle in GRAPH as a list of features, or nil."
  (let ((state nil) (cycle nil))
    (cl-labels ((visit (node path)
                  (pcase (alist-get node state)
                    ('active (setq cycle (reverse (cons node (cl-subseq path 0 (1+ (cl-position node path)))))))
                    ('done nil)
                    (_ (setf (alist-get node state) 'active)
                       (dolist (next (cdr (assq node graph)))
                         (unless cycle (visit next (cons node path))))
                       (setf (alist-get node state) 'done)))))
      (dolist (entry graph)
        (unless cycle (visit (car entry) nil))))
    cycle))

(defun check-lisp-graph-main (dir)
  "Check the Lisp files of DIR; return the number of violations."
  (let* ((files (directory-files dir t "\\`[^.].*\\.el\\'"))
         (scans (mapcar (lambda (f) (cons f (check-lisp-graph--scan f))) files))
         (ours (delq nil (mapcar #'cadr scans)))
         (graph (mapcar (lambda (s) (cons (nth 1 s) (cl-intersection (nth 2 s) ours)))
                        scans))
         (owner (make-hash-table :test #'eq))
         (violations 0))
    (dolist (s scans)
      (unless (nth 1 s)
        (message "%s: provides no feature" (file-name-nondirectory (car s)))
        (cl-incf violations))
      (dolist (name (nth 3 s)) (puthash name (nth 1 s) owner)))
    (dolist (entry graph)
      (message "%s requires %s" (car entry)
               (if (cdr entry) (mapconcat #'symbol-name (sort (copy-sequence (cdr entry)) #'string<) ", ") "nothing of ours")))
    (when-let ((cycle (check-lisp-graph--cycle graph)))
      (message "require cycle: %s" (mapconcat #'symbol-name cycle " -> "))
      (cl-incf violations))
    (dolist (s scans)
      (let* ((feature (nth 1 s))
             (reach (cons feature (check-lisp-graph--closure feature graph))))
        (dolist (symbol (nth 5 s))
          (let ((home (or (gethash symbol owner)
                          (cl-some (lambda (other)
                                     (and (cl-some (lambda (prefix)
                                                     (string-prefix-p prefix (symbol-name symbol)))
                                                   (nth 4 other))
                                          (nth 1 other)))
                                   scans))))
            (when (and home (not (memq home reach)))
              (message "%s uses %s, defined in %s, which it does not require"
                       (file-name-nondirectory (car s)) symbol home)
              (cl-incf violations))))))
    violations))

(when noninteractive
  (let ((dir (or (car command-line-args-left) (error "Usage: check-lisp-graph.el DIR"))))
    (setq command-line-args-left nil)
    (let ((violations (check-lisp-graph-main dir)))
      (message "check-lisp-graph: %d violation%s" violations (if (= violations 1) "" "s"))
      (kill-emacs (if (zerop violations) 0 1)))))

(provide 'check-lisp-graph)

;;; check-lisp-graph.el ends here
