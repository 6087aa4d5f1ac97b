file(REMOVE_RECURSE
  "libcoordsync.a"
)
