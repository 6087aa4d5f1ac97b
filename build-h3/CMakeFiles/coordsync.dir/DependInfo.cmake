
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/cli/cmd_demo.c" "CMakeFiles/coordsync.dir/cli/cmd_demo.c.o" "gcc" "CMakeFiles/coordsync.dir/cli/cmd_demo.c.o.d"
  "/work/main/cli/cmd_job.c" "CMakeFiles/coordsync.dir/cli/cmd_job.c.o" "gcc" "CMakeFiles/coordsync.dir/cli/cmd_job.c.o.d"
  "/work/main/cli/cmd_lock.c" "CMakeFiles/coordsync.dir/cli/cmd_lock.c.o" "gcc" "CMakeFiles/coordsync.dir/cli/cmd_lock.c.o.d"
  "/work/main/cli/cmd_msg.c" "CMakeFiles/coordsync.dir/cli/cmd_msg.c.o" "gcc" "CMakeFiles/coordsync.dir/cli/cmd_msg.c.o.d"
  "/work/main/cli/cmd_status.c" "CMakeFiles/coordsync.dir/cli/cmd_status.c.o" "gcc" "CMakeFiles/coordsync.dir/cli/cmd_status.c.o.d"
  "/work/main/cli/cmd_sync.c" "CMakeFiles/coordsync.dir/cli/cmd_sync.c.o" "gcc" "CMakeFiles/coordsync.dir/cli/cmd_sync.c.o.d"
  "/work/main/cli/format.c" "CMakeFiles/coordsync.dir/cli/format.c.o" "gcc" "CMakeFiles/coordsync.dir/cli/format.c.o.d"
  "/work/main/cli/main.c" "CMakeFiles/coordsync.dir/cli/main.c.o" "gcc" "CMakeFiles/coordsync.dir/cli/main.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build-h3/CMakeFiles/coordsync_engine.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
