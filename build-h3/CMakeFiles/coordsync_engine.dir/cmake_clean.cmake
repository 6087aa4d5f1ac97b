file(REMOVE_RECURSE
  "CMakeFiles/coordsync_engine.dir/embedded.c.o"
  "CMakeFiles/coordsync_engine.dir/embedded.c.o.d"
  "CMakeFiles/coordsync_engine.dir/engine/db.c.o"
  "CMakeFiles/coordsync_engine.dir/engine/db.c.o.d"
  "CMakeFiles/coordsync_engine.dir/engine/git.c.o"
  "CMakeFiles/coordsync_engine.dir/engine/git.c.o.d"
  "CMakeFiles/coordsync_engine.dir/engine/json.c.o"
  "CMakeFiles/coordsync_engine.dir/engine/json.c.o.d"
  "CMakeFiles/coordsync_engine.dir/engine/model.c.o"
  "CMakeFiles/coordsync_engine.dir/engine/model.c.o.d"
  "CMakeFiles/coordsync_engine.dir/engine/ops.c.o"
  "CMakeFiles/coordsync_engine.dir/engine/ops.c.o.d"
  "CMakeFiles/coordsync_engine.dir/engine/query.c.o"
  "CMakeFiles/coordsync_engine.dir/engine/query.c.o.d"
  "CMakeFiles/coordsync_engine.dir/engine/sync.c.o"
  "CMakeFiles/coordsync_engine.dir/engine/sync.c.o.d"
  "CMakeFiles/coordsync_engine.dir/engine/util.c.o"
  "CMakeFiles/coordsync_engine.dir/engine/util.c.o.d"
  "embedded.c"
  "libcoordsync.a"
  "libcoordsync.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/coordsync_engine.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
