# Installing coordsync (`cmake --install build`, with CMAKE_INSTALL_PREFIX and
# DESTDIR) and packaging it (`cpack -G DEB` in the build directory).
# Included by CMakeLists.txt after the coordsync target.  Installs:
#   bin/coordsync
#   share/man/man1/coordsync.1.gz, coordsync-WORD.1.gz ...; share/man/man5/coordsync.5.gz
#   (gzip -9n, Debian policy 12.1: docs/packaging/gzipman.cmake)
#   share/bash-completion/completions/coordsync
#   share/zsh/vendor-completions/_coordsync (the bash one, through bashcompinit)
#   lib/systemd/system/coordsync*.service, *.timer (their paths follow the prefix
#   of the install: packaging/units.cmake)
#   lib/sysusers.d/coordsync.conf, lib/tmpfiles.d/coordsync.conf
#   share/doc/coordsync/: README.md, docs/*.md, examples/coordsync.cron
include(GNUInstallDirs)

set(COORDSYNC_UNITDIR "lib/systemd/system" CACHE STRING
    "where the systemd units go, relative to the prefix (or absolute)")
set(COORDSYNC_SYSUSERSDIR "lib/sysusers.d" CACHE STRING "where the sysusers.d file goes")
set(COORDSYNC_TMPFILESDIR "lib/tmpfiles.d" CACHE STRING "where the tmpfiles.d file goes")

# Man pages and bash completion, generated from the command table by the
# built binary's hidden mode (cli/gendoc.c): they cannot drift from --help.
# The pages are installed compressed, from gendoc-gz/ (gzip -9n).
set(GENDOC ${CMAKE_BINARY_DIR}/gendoc)
set(GENDOC_GZ ${CMAKE_BINARY_DIR}/gendoc-gz)
add_custom_command(
  OUTPUT ${GENDOC}/stamp
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${GENDOC}
  COMMAND coordsync --gendoc ${GENDOC}
  COMMAND ${CMAKE_COMMAND} -DIN=${GENDOC} -DOUT=${GENDOC_GZ} -P ${CMAKE_SOURCE_DIR}/docs/packaging/gzipman.cmake
  COMMAND ${CMAKE_COMMAND} -E touch ${GENDOC}/stamp
  DEPENDS coordsync ${CMAKE_SOURCE_DIR}/docs/packaging/gzipman.cmake
  COMMENT "Generating the man pages and the bash completion from the command table")
add_custom_target(gendoc ALL DEPENDS ${GENDOC}/stamp)

install(TARGETS coordsync RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${GENDOC_GZ}/man1 ${GENDOC_GZ}/man5 DESTINATION ${CMAKE_INSTALL_MANDIR})
install(FILES ${GENDOC}/bash-completion/coordsync
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
# zsh's: docs/packaging/coordsync.zsh, which sources the bash completion from
# its installed path, under the prefix of this install (as the units).
install(CODE "set(cs_zsh_in \"${CMAKE_SOURCE_DIR}/docs/packaging/coordsync.zsh\")
set(cs_datadir \"${CMAKE_INSTALL_DATADIR}\")")
install(CODE [[
  if(NOT IS_ABSOLUTE "${cs_datadir}")
    set(cs_datadir "${CMAKE_INSTALL_PREFIX}/${cs_datadir}")
  endif()
  file(READ "${cs_zsh_in}" body)
  string(REPLACE "@BASHCOMP@" "${cs_datadir}/bash-completion/completions/coordsync" body "${body}")
  set(dest "$ENV{DESTDIR}${cs_datadir}/zsh/vendor-completions/_coordsync")
  message(STATUS "Installing: ${dest}")
  file(WRITE "${dest}" "${body}")
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${dest}")
]])
# The units, with paths that follow the prefix of the install (docs/packaging/units.cmake).
install(CODE "set(CS_SRC \"${CMAKE_SOURCE_DIR}\")
set(CS_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
set(CS_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")
set(CS_UNITDIR \"${COORDSYNC_UNITDIR}\")")
install(SCRIPT ${CMAKE_SOURCE_DIR}/docs/packaging/units.cmake)
install(FILES ${CMAKE_SOURCE_DIR}/docs/packaging/coordsync.sysusers DESTINATION ${COORDSYNC_SYSUSERSDIR}
        RENAME coordsync.conf)
install(FILES ${CMAKE_SOURCE_DIR}/docs/packaging/coordsync.tmpfiles DESTINATION ${COORDSYNC_TMPFILESDIR}
        RENAME coordsync.conf)
file(GLOB DOCS_MD CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${DOCS_MD} DESTINATION ${CMAKE_INSTALL_DOCDIR})

# cpack -G DEB: a .deb of what is installed above, under /usr (configure
# with -DCOORDSYNC_TEST_HOOKS=OFF; see .ci/package).  CPACK_SET_DESTDIR:
# the install runs with the prefix /usr and DESTDIR the staging directory,
# so that the units name /usr/bin/coordsync.  Its dependencies come from
# the shared libraries the binary links (dpkg-shlibdeps); libcurl, opened with dlopen for alerts only, is
# recommended.  The postinst creates the coordsync user (systemd-sysusers)
# and its home; the units are shipped disabled.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME coordsync)
set(CPACK_PACKAGE_VENDOR coordsync)
set(CPACK_PACKAGE_CONTACT "coordsync maintainers <coordsync@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "SQLite mirror of a git repository of JSON coordination files")
set(CPACK_PACKAGE_DESCRIPTION
    "coordsync mirrors a git repository of coordination files (locks, jobs, messages,\nper-server status and heartbeat) into SQLite, makes decisions in SQL\ntransactions and pushes each as one commit.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libcurl4, git")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "man-db, bash-completion")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/docs/packaging/postinst
    ${CMAKE_SOURCE_DIR}/docs/packaging/prerm ${CMAKE_SOURCE_DIR}/docs/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
