# Run by the build (the gendoc target, docs/packaging/install.cmake) with
# -DIN=the gendoc directory -DOUT=where the compressed pages go: every man
# page IN/manN/PAGE.N compressed to OUT/manN/PAGE.N.gz with `gzip -9n`, as
# Debian policy (12.1) wants installed pages: -n stores neither the name
# nor a time stamp, so the same page gives the same bytes (reproducible).
find_program(GZIP gzip)
if(NOT GZIP)
  message(FATAL_ERROR "gzip not found: it compresses the man pages")
endif()
file(REMOVE_RECURSE "${OUT}")
file(GLOB pages "${IN}/man[0-9]/*.[0-9]")
foreach(p ${pages})
  get_filename_component(dir "${p}" DIRECTORY)
  get_filename_component(sec "${dir}" NAME)
  get_filename_component(name "${p}" NAME)
  file(MAKE_DIRECTORY "${OUT}/${sec}")
  execute_process(COMMAND "${GZIP}" -9nc "${p}" OUTPUT_FILE "${OUT}/${sec}/${name}.gz"
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip -9n ${p}: ${rc}")
  endif()
endforeach()
