# Run by `cmake --install` (install(SCRIPT), docs/packaging/install.cmake): the
# units of docs/systemd/, written for /usr/local (and verified as they are
# by tests/e2e_units.sh), installed with the binary's and the
# documentation's paths under the prefix of this install, which may be
# another than the configured one (cmake --install --prefix, cpack).
# CS_SRC, CS_BINDIR, CS_DOCDIR and CS_UNITDIR are set before it.
foreach(var BINDIR DOCDIR UNITDIR)
  if(IS_ABSOLUTE "${CS_${var}}")
    set(full_${var} "${CS_${var}}")
  else()
    set(full_${var} "${CMAKE_INSTALL_PREFIX}/${CS_${var}}")
  endif()
endforeach()
file(GLOB cs_units "${CS_SRC}/docs/systemd/*.service" "${CS_SRC}/docs/systemd/*.timer"
     "${CS_SRC}/docs/systemd/coordsync.cron")
foreach(src ${cs_units})
  get_filename_component(name "${src}" NAME)
  file(READ "${src}" body)
  string(REPLACE "/usr/local/bin/coordsync" "${full_BINDIR}/coordsync" body "${body}")
  string(REPLACE "/usr/local/share/doc/coordsync" "${full_DOCDIR}" body "${body}")
  string(REPLACE "PATH=/usr/local/bin:" "PATH=${full_BINDIR}:" body "${body}")
  if(name STREQUAL "coordsync.cron")
    set(dest "$ENV{DESTDIR}${full_DOCDIR}/examples/${name}")
  else()
    set(dest "$ENV{DESTDIR}${full_UNITDIR}/${name}")
  endif()
  message(STATUS "Installing: ${dest}")
  file(WRITE "${dest}" "${body}")
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${dest}")
endforeach()
