
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/build-h3/embedded.c" "CMakeFiles/coordsync_engine.dir/embedded.c.o" "gcc" "CMakeFiles/coordsync_engine.dir/embedded.c.o.d"
  "/work/main/engine/db.c" "CMakeFiles/coordsync_engine.dir/engine/db.c.o" "gcc" "CMakeFiles/coordsync_engine.dir/engine/db.c.o.d"
  "/work/main/engine/git.c" "CMakeFiles/coordsync_engine.dir/engine/git.c.o" "gcc" "CMakeFiles/coordsync_engine.dir/engine/git.c.o.d"
  "/work/main/engine/json.c" "CMakeFiles/coordsync_engine.dir/engine/json.c.o" "gcc" "CMakeFiles/coordsync_engine.dir/engine/json.c.o.d"
  "/work/main/engine/model.c" "CMakeFiles/coordsync_engine.dir/engine/model.c.o" "gcc" "CMakeFiles/coordsync_engine.dir/engine/model.c.o.d"
  "/work/main/engine/ops.c" "CMakeFiles/coordsync_engine.dir/engine/ops.c.o" "gcc" "CMakeFiles/coordsync_engine.dir/engine/ops.c.o.d"
  "/work/main/engine/query.c" "CMakeFiles/coordsync_engine.dir/engine/query.c.o" "gcc" "CMakeFiles/coordsync_engine.dir/engine/query.c.o.d"
  "/work/main/engine/sync.c" "CMakeFiles/coordsync_engine.dir/engine/sync.c.o" "gcc" "CMakeFiles/coordsync_engine.dir/engine/sync.c.o.d"
  "/work/main/engine/util.c" "CMakeFiles/coordsync_engine.dir/engine/util.c.o" "gcc" "CMakeFiles/coordsync_engine.dir/engine/util.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
