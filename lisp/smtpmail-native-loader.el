;;; smtpmail-native-loader.el --- Find, build, version-check and load the module  -*- lexical-binding: t; -*-

;; Copyright (C) 2026 The smtpmail-native developers

;; Author: The smtpmail-native developers

;; This file is not part of GNU Emacs.

;; This program is free software; you can redistribute it and/or modify
;; it under the terms of the GNU General Public License as published by
;; the Free Software Foundation, either version 3 of the License, or
;; (at your option) any later version.

;; This program is distributed in the hope that it will be useful,
;; but WITHOUT ANY WARRANTY; without even the implied warranty of
;; MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
;; GNU General Public License for more details.

;; You should have received a copy of the GNU General Public License
;; along with this program.  If not, see <https://www.gnu.org/licenses/>.

;;; Commentary:

;; The loader of smtpmail-native-module.so.  Loading this file never
;; loads the module: that happens on first use, when a send (or a call
;; of one of the module's functions) needs it.  Until then each public
;; module function is a small Lisp function that loads the module and
;; calls the real one, which replaced it.  A missing module is a
;; `user-error' saying to run M-x smtpmail-native-module-compile, and
;; once that build is done everything works without restarting Emacs.

;;; Code:

(require 'cl-lib)

;; Options of the facade (smtpmail-native.el), which requires this file; read with
;; `bound-and-true-p', since M-x smtpmail-native-module-compile autoloads this file alone.
(defvar smtpmail-native-module-file)
(defvar smtpmail-native-module-build-directory)

(declare-function smtpmail-native-version "ext:smtpmail-native-module" ())

(defconst smtpmail-native--lisp-version "0.2.0"
  "Version of the Lisp layer; the module must report the same.
It is the Version: header of smtpmail-native.el, from which CMake
takes the module's version too.")

(defconst smtpmail-native--lisp-directory
  (file-name-directory (or load-file-name buffer-file-name default-directory))
  "Directory holding the Lisp files (and by default the module).")

(defconst smtpmail-native-loader--functions
  '(smtpmail-native-version smtpmail-native-hmac-md5 smtpmail-native-base64-encode
    smtpmail-native-base64-decode smtpmail-native-cram-md5-response smtpmail-native-send
    smtpmail-native-send-batch smtpmail-native-server-info smtpmail-native-send-async
    smtpmail-native-job-status smtpmail-native-cancel-job smtpmail-native-set-max-jobs)
  "The public functions the module defines, loaded on their first call.")

(defun smtpmail-native--source-root ()
  "Return the source tree's root (holding CMakeLists.txt), or nil.
That is the Lisp files' own directory in an installed package (the
package.el layout ships CMakeLists.txt and module/ beside them), else
its parent (a checkout, with the Lisp files in lisp/)."
  (cl-find-if (lambda (dir) (file-exists-p (expand-file-name "CMakeLists.txt" dir)))
              (list smtpmail-native--lisp-directory
                    (file-name-directory (directory-file-name smtpmail-native--lisp-directory)))))

(defun smtpmail-native-module-file-name ()
  "Return the module file that would be loaded, or nil when there is none."
  (let ((file (or (bound-and-true-p smtpmail-native-module-file)
                  (expand-file-name (concat "smtpmail-native-module" module-file-suffix)
                                    smtpmail-native--lisp-directory))))
    (and (file-exists-p file) file)))

(defun smtpmail-native--check-module-version ()
  "Signal an error unless the loaded module's version is this file's."
  (let ((module-version (smtpmail-native-version)))
    (unless (equal module-version smtpmail-native--lisp-version)
      (error "The smtpmail-native module is version %s but the Lisp layer is %s; \
rebuild it with M-x smtpmail-native-module-compile (or scripts/build), then restart Emacs"
             module-version smtpmail-native--lisp-version))))

(defun smtpmail-native-module-load ()
  "Load the smtpmail-native module and check that its version matches.
Return non-nil when the module is ready.  Signal a `user-error' saying
how to build it when it is missing, and an error saying how to
rebuild it when it is stale."
  (unless module-file-suffix
    (user-error "This Emacs was built without dynamic module support; smtpmail-native needs it"))
  (unless (featurep 'smtpmail-native-module)
    (let ((file (smtpmail-native-module-file-name)))
      (unless file
        (user-error "The smtpmail-native module is not built; run M-x smtpmail-native-module-compile \
\(or scripts/build in %s)"
                    (or (smtpmail-native--source-root) "the source tree")))
      (module-load file)))
  (smtpmail-native--check-module-version)
  t)

(defun smtpmail-native--compile-command ()
  "Return the shell command that configures and builds the module."
  (let ((root (or (smtpmail-native--source-root)
                  (user-error "No CMakeLists.txt above %s: this copy of smtpmail-native \
has no sources to build" smtpmail-native--lisp-directory)))
        (build (or (bound-and-true-p smtpmail-native-module-build-directory) "build")))
    ;; One compiler per processor: the module's files build independently.
    (format "cd %s && cmake -S . -B %s -DCMAKE_BUILD_TYPE=Release -DSMTPN_TESTS=OFF && cmake --build %s --target smtpmail-native-module --parallel %d"
            (shell-quote-argument (expand-file-name root))
            (shell-quote-argument build)
            (shell-quote-argument build)
            (num-processors))))

(defun smtpmail-native--after-compile (_buffer status)
  "Load the module once its build finished with STATUS \"finished\"."
  (remove-hook 'compilation-finish-functions #'smtpmail-native--after-compile)
  (if (not (string-prefix-p "finished" status))
      (message "smtpmail-native: module build failed; see the *compilation* buffer")
    (condition-case err
        (progn (smtpmail-native-module-load)
               (message "smtpmail-native: module %s built and loaded" (smtpmail-native-version)))
      (error (message "smtpmail-native: %s" (error-message-string err))))))

;;;###autoload (autoload 'smtpmail-native-module-compile "smtpmail-native" nil t)
(defun smtpmail-native-module-compile ()
  "Build the smtpmail-native module with CMake in a compilation buffer.
When the build succeeds the module is loaded.  A module that was
already loaded cannot be replaced in a running Emacs: restart it."
  (interactive)
  (require 'compile)
  (add-hook 'compilation-finish-functions #'smtpmail-native--after-compile)
  (compilation-start (smtpmail-native--compile-command) nil
                     (lambda (_mode) "*smtpmail-native-module-compile*")))

(defun smtpmail-native--ensure-module ()
  "Make sure the module is loaded, before a send that needs it.
When it is missing, an interactive Emacs offers to build it; either
way this signals a `user-error' saying to run
\\[smtpmail-native-module-compile], and the send can be repeated once
the build is done, without restarting Emacs."
  (unless (featurep 'smtpmail-native-module)
    (condition-case err
        (smtpmail-native-module-load)
      (user-error
       (when (and (not noninteractive)
                  (smtpmail-native--source-root)
                  (not (smtpmail-native-module-file-name))
                  (y-or-n-p "The smtpmail-native module is not built.  Build it now? "))
         (smtpmail-native-module-compile)
         (user-error "Building the smtpmail-native module; send again once the build is done"))
       (signal (car err) (cdr err))))))

;; Each public module function loads the module on its first call; the
;; module then defines the real function over this stand-in.
(dolist (function smtpmail-native-loader--functions)
  (unless (fboundp function)
    (let ((stand-in nil))
      (setq stand-in
            (lambda (&rest args)
              "Load the smtpmail-native module, then call its function of this name."
              (smtpmail-native--ensure-module)
              (when (eq (symbol-function function) stand-in)
                (error "The smtpmail-native module does not define `%s'; rebuild it" function))
              (apply function args)))
      ;; No docstring argument: it would stay on the symbol and hide the module's.
      (defalias function stand-in))))

(provide 'smtpmail-native-loader)

;;; smtpmail-native-loader.el ends here
