-- The instance ids (one per clone, .git/coordsync/instance) this mirror has
-- seen in each server's heartbeat.json, and when they changed, by this
-- host's clock.  Two clones that run with one server id overwrite each
-- other's heartbeat: the id flips back and forth, or this clone sees its
-- own id replaced while it is that server.  `health` reports both (check
-- `duplicate`).  One change alone is a clone replaced, and is not reported.
-- Local observations that git cannot give back.
CREATE TABLE heartbeat_instances(
  server     TEXT PRIMARY KEY,
  instance   TEXT NOT NULL,       -- in the heartbeat seen last
  previous   TEXT,                -- the one before the last change
  changes    INTEGER NOT NULL DEFAULT 0,
  changed_at REAL,                -- the last change seen
  flipped_at REAL,                -- the last change back to `previous`
  foreign_at REAL                 -- the last change away from this clone's own id
);
