file(REMOVE_RECURSE
  "CMakeFiles/coordsync.dir/cli/cmd_demo.c.o"
  "CMakeFiles/coordsync.dir/cli/cmd_demo.c.o.d"
  "CMakeFiles/coordsync.dir/cli/cmd_job.c.o"
  "CMakeFiles/coordsync.dir/cli/cmd_job.c.o.d"
  "CMakeFiles/coordsync.dir/cli/cmd_lock.c.o"
  "CMakeFiles/coordsync.dir/cli/cmd_lock.c.o.d"
  "CMakeFiles/coordsync.dir/cli/cmd_msg.c.o"
  "CMakeFiles/coordsync.dir/cli/cmd_msg.c.o.d"
  "CMakeFiles/coordsync.dir/cli/cmd_status.c.o"
  "CMakeFiles/coordsync.dir/cli/cmd_status.c.o.d"
  "CMakeFiles/coordsync.dir/cli/cmd_sync.c.o"
  "CMakeFiles/coordsync.dir/cli/cmd_sync.c.o.d"
  "CMakeFiles/coordsync.dir/cli/format.c.o"
  "CMakeFiles/coordsync.dir/cli/format.c.o.d"
  "CMakeFiles/coordsync.dir/cli/main.c.o"
  "CMakeFiles/coordsync.dir/cli/main.c.o.d"
  "coordsync"
  "coordsync.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/coordsync.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
