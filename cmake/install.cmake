# Installation: `cmake --install BUILD [--prefix P]` puts the Lisp layer (byte-compiled), the
# generated smtpmail-native-autoloads.el and the module in P/share/emacs/site-lisp/smtpmail-native/
# (SMTPN_INSTALL_LISPDIR); doc/CMakeLists.txt adds the Info manual in P/share/info/.
include(GNUInstallDirs)
set(SMTPN_INSTALL_LISPDIR "${CMAKE_INSTALL_DATAROOTDIR}/emacs/site-lisp/smtpmail-native" CACHE STRING
    "Where the Lisp files, their autoloads and the module are installed (relative to the prefix)")

# Every Lisp file present at configure time (CONFIGURE_DEPENDS: a file added or removed later
# makes the next build reconfigure), copied into the build tree and byte-compiled there, so no
# .elc is left next to the sources; the autoloads come from all of their ;;;###autoload cookies.
file(GLOB smtpn_lisp_sources CONFIGURE_DEPENDS "${SMTPN_LISP_SOURCE_DIR}/smtpmail-native*.el")
list(FILTER smtpn_lisp_sources EXCLUDE REGEX "-(autoloads|pkg)\\.el$")
set(smtpn_lisp_stage "${CMAKE_CURRENT_BINARY_DIR}/site-lisp")
set(smtpn_lisp_staged)
foreach(source IN LISTS smtpn_lisp_sources)
  get_filename_component(name "${source}" NAME_WE)
  list(APPEND smtpn_lisp_staged "${smtpn_lisp_stage}/${name}.el" "${smtpn_lisp_stage}/${name}.elc")
endforeach()
set(smtpn_autoloads "${smtpn_lisp_stage}/smtpmail-native-autoloads.el")

# The autoloads file points C-h i at the manual installed beside it (relative, so that
# `cmake --install --prefix` elsewhere still finds it).
if(IS_ABSOLUTE "${SMTPN_INSTALL_LISPDIR}")
  set(smtpn_lispdir_full "${SMTPN_INSTALL_LISPDIR}")
else()
  set(smtpn_lispdir_full "${CMAKE_INSTALL_PREFIX}/${SMTPN_INSTALL_LISPDIR}")
endif()
file(RELATIVE_PATH smtpn_info_relative "${smtpn_lispdir_full}" "${CMAKE_INSTALL_FULL_INFODIR}")

add_custom_command(
  OUTPUT ${smtpn_lisp_staged} "${smtpn_autoloads}"
  COMMAND "${CMAKE_COMMAND}" -E rm -rf "${smtpn_lisp_stage}"
  COMMAND "${CMAKE_COMMAND}" -E make_directory "${smtpn_lisp_stage}"
  COMMAND "${CMAKE_COMMAND}" -E copy ${smtpn_lisp_sources} "${smtpn_lisp_stage}"
  COMMAND "${EMACS_EXECUTABLE}" -Q --batch -l "${PROJECT_SOURCE_DIR}/scripts/build-lisp.el"
          "${smtpn_lisp_stage}" "${smtpn_info_relative}"
  DEPENDS ${smtpn_lisp_sources} "${PROJECT_SOURCE_DIR}/scripts/build-lisp.el"
  COMMENT "Byte-compiling lisp/*.el and generating smtpmail-native-autoloads.el"
  VERBATIM)
add_custom_target(smtpn_lisp ALL DEPENDS ${smtpn_lisp_staged} "${smtpn_autoloads}")

install(FILES ${smtpn_lisp_staged} "${smtpn_autoloads}" DESTINATION "${SMTPN_INSTALL_LISPDIR}")
# The module goes next to the .el files, where the Lisp layer looks for it.  A sanitizer build's
# module cannot be loaded without the sanitizer runtime preloaded: it is never installed.
if(SMTPN_SANITIZE)
  install(CODE "message(FATAL_ERROR \"This is a sanitizer build (SMTPN_SANITIZE=ON); its module \
cannot be loaded by an ordinary Emacs: install from a build without it\")")
else()
  install(TARGETS smtpmail-native-module LIBRARY DESTINATION "${SMTPN_INSTALL_LISPDIR}")
endif()
