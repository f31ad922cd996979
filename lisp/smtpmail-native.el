;;; smtpmail-native.el --- Native SMTP (TLS, SASL) as a drop-in for smtpmail  -*- lexical-binding: t; -*-

;; Copyright (C) 2026 The smtpmail-native developers

;; Author: The smtpmail-native developers
;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1"))
;; Keywords: mail, comm
;; URL: https://example.invalid/smtpmail-native

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

;; smtpmail-native sends mail from Emacs through a dynamic module
;; written in C++ with OpenSSL: the network, TLS, SASL and the SMTP
;; protocol run natively, while this file keeps everything users
;; already configured for Emacs's own smtpmail.
;;
;; Setup:
;;
;;   1. Build the module once (needs cmake, a C++20 compiler, OpenSSL 3
;;      headers and emacs-module.h): M-x smtpmail-native-module-compile,
;;      or from a shell in the source tree:
;;        cmake -S . -B build && cmake --build build
;;      The module, smtpmail-native-module.so, is written next to this
;;      file, where it is found without configuration.
;;
;;   2. (add-to-list 'load-path "/path/to/smtpmail-native/lisp")
;;      (require 'smtpmail-native)
;;
;; What this version offers is the foundation: the module's crypto
;; primitives, `smtpmail-native-hmac-md5', `smtpmail-native-base64-encode',
;; `smtpmail-native-base64-decode' and `smtpmail-native-cram-md5-response'
;; (RFC 2195), with errors signalled under `smtpmail-native-error'.
;; README.org's status table says what has landed since.

;;; Code:

(defgroup smtpmail-native nil
  "Send mail through a native SMTP module, compatible with smtpmail."
  :group 'mail
  :prefix "smtpmail-native-")

(defconst smtpmail-native--lisp-version "0.1.0"
  "Version of this Lisp file; the module must report the same.")

(defconst smtpmail-native--lisp-directory
  (file-name-directory (or load-file-name buffer-file-name default-directory))
  "Directory holding smtpmail-native.el (and by default the module).")

(defcustom smtpmail-native-module-file nil
  "File name of the smtpmail-native module, or nil to look next to this file.
Set it when the module was built elsewhere, for instance into a
separate build directory."
  :type '(choice (const :tag "Next to smtpmail-native.el" nil) file)
  :version "28.1"
  :group 'smtpmail-native)

(defcustom smtpmail-native-module-build-directory nil
  "Directory where `smtpmail-native-module-compile' configures CMake.
nil means \"build\" in the source tree that holds this file."
  :type '(choice (const :tag "build/ in the source tree" nil) directory)
  :version "28.1"
  :group 'smtpmail-native)

;;;; The module's functions (defined by smtpmail-native-module.so)

(declare-function smtpmail-native-version "ext:smtpmail-native-module" ())
(declare-function smtpmail-native-hmac-md5 "ext:smtpmail-native-module"
                  (key data &optional binary))
(declare-function smtpmail-native-base64-encode "ext:smtpmail-native-module" (string))
(declare-function smtpmail-native-base64-decode "ext:smtpmail-native-module" (string))
(declare-function smtpmail-native-cram-md5-response "ext:smtpmail-native-module"
                  (user password challenge))

;;;; Finding, checking and building the module

(defun smtpmail-native--source-root ()
  "Return the source tree's root (holding CMakeLists.txt), or nil."
  (let ((root (file-name-directory (directory-file-name smtpmail-native--lisp-directory))))
    (and (file-exists-p (expand-file-name "CMakeLists.txt" root)) root)))

(defun smtpmail-native-module-file-name ()
  "Return the module file that would be loaded, or nil when there is none."
  (let ((file (or smtpmail-native-module-file
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
Return non-nil when the module is ready.  Signal an error saying how
to build it when it is missing, and how to rebuild it when it is stale."
  (unless module-file-suffix
    (error "This Emacs was built without dynamic module support; smtpmail-native needs it"))
  (unless (featurep 'smtpmail-native-module)
    (let ((file (smtpmail-native-module-file-name)))
      (unless file
        (error "The smtpmail-native module is not built; run M-x smtpmail-native-module-compile \
(or scripts/build in %s)"
               (or (smtpmail-native--source-root) "the source tree")))
      (module-load file)))
  (smtpmail-native--check-module-version)
  t)

(defun smtpmail-native--compile-command ()
  "Return the shell command that configures and builds the module."
  (let ((root (or (smtpmail-native--source-root)
                  (user-error "No CMakeLists.txt above %s: this copy of smtpmail-native \
has no sources to build" smtpmail-native--lisp-directory)))
        (build (or smtpmail-native-module-build-directory "build")))
    (format "cd %s && cmake -S . -B %s -DCMAKE_BUILD_TYPE=Release -DSMTPN_TESTS=OFF && cmake --build %s --target smtpmail-native-module"
            (shell-quote-argument (expand-file-name root))
            (shell-quote-argument build)
            (shell-quote-argument build))))

(defun smtpmail-native--after-compile (_buffer status)
  "Load the module once its build finished with STATUS \"finished\"."
  (remove-hook 'compilation-finish-functions #'smtpmail-native--after-compile)
  (if (not (string-prefix-p "finished" status))
      (message "smtpmail-native: module build failed; see the *compilation* buffer")
    (condition-case err
        (progn (smtpmail-native-module-load)
               (message "smtpmail-native: module %s built and loaded" (smtpmail-native-version)))
      (error (message "smtpmail-native: %s" (error-message-string err))))))

;;;###autoload
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
  "Load the module at `require' time, offering to build it when missing."
  (condition-case err
      (smtpmail-native-module-load)
    (error
     (if (or noninteractive (featurep 'smtpmail-native-module))
         (signal (car err) (cdr err))
       (if (and (smtpmail-native--source-root)
                (y-or-n-p "smtpmail-native: the module is not built.  Build it now? "))
           (smtpmail-native-module-compile)
         (display-warning 'smtpmail-native (error-message-string err) :error))))))

(smtpmail-native--ensure-module)

(provide 'smtpmail-native)

;;; smtpmail-native.el ends here
