-- History: every observed change of every record, one row per record per
-- commit that changed it.  `init` and `rebuild` backfill it from the whole
-- first-parent history of the remote branch; each `sync` appends what the
-- new commits changed.  Like the rest of the mirror it can be rebuilt.
--
-- `change` is 'added', 'changed' or 'removed' (the record is gone from its
-- file: deleted, or archived); a removed record's row carries its last
-- values.  The full text of any version is in git (`commit_id`).  Times are
-- epoch seconds.

-- Commits already processed, so that a commit is never counted twice.
CREATE TABLE history_commits(
  commit_id    TEXT PRIMARY KEY,
  committed_at REAL NOT NULL,
  author       TEXT,
  message      TEXT,
  seq          INTEGER NOT NULL     -- processing order (oldest first)
);

CREATE TABLE job_history(
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id       TEXT NOT NULL,
  change       TEXT NOT NULL,       -- added, changed, removed
  status       TEXT,
  assigned_to  TEXT,
  priority     INTEGER,
  created_at   REAL,
  started_at   REAL,
  completed_at REAL,
  attempts     INTEGER,
  fence        INTEGER,
  commit_id    TEXT NOT NULL,
  committed_at REAL NOT NULL,
  author       TEXT
);
-- seq is the rowid, so these indexes are in (key, seq) order.
CREATE INDEX job_history_job ON job_history(job_id);

-- Lock events: 'grant' (a new holder), 'renew' (same holder, new expiry),
-- 'release' (freed by its holder before expiry), 'expire' (freed after its
-- expiry, e.g. by lock cleanup), 'removed' (the entry is gone).
CREATE TABLE lock_history(
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT NOT NULL,
  event        TEXT NOT NULL,
  locked_by    TEXT,                -- the holder after the event (NULL when freed)
  prev_holder  TEXT,                -- the holder before it
  locked_at    REAL,
  expires_at   REAL,
  fence        INTEGER,
  commit_id    TEXT NOT NULL,
  committed_at REAL NOT NULL,
  author       TEXT
);
CREATE INDEX lock_history_name ON lock_history(name);

CREATE TABLE message_history(
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id   TEXT NOT NULL,
  change       TEXT NOT NULL,       -- added, changed (e.g. read), removed
  from_server  TEXT,
  to_server    TEXT,
  type         TEXT,
  subject      TEXT,
  read         INTEGER,
  read_by      TEXT,
  timestamp    REAL,
  commit_id    TEXT NOT NULL,
  committed_at REAL NOT NULL,
  author       TEXT
);
-- No index on message_id: nothing in coordsync looks messages up by history,
-- and a backfill of a large messages.json is cheaper without one.

-- One row per change of a server's status.json or heartbeat.json.
-- `skew` is the commit time minus the file's own timestamp (seconds).
CREATE TABLE server_history(
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  server       TEXT NOT NULL,
  file         TEXT NOT NULL,       -- status, heartbeat
  change       TEXT NOT NULL,
  status       TEXT,
  timestamp    REAL,
  skew         REAL,
  commit_id    TEXT NOT NULL,
  committed_at REAL NOT NULL,
  author       TEXT
);
CREATE INDEX server_history_server ON server_history(server, file);

-- Health alert state: one row per open problem, so that a timer can run
-- `health --alert` every minute and send one alert per problem.
CREATE TABLE alerts(
  key        TEXT PRIMARY KEY,      -- e.g. 'stale:build2', 'stuck:JOB'
  severity   TEXT NOT NULL,         -- warning, critical
  server     TEXT,
  message    TEXT NOT NULL,
  first_seen REAL NOT NULL,
  last_seen  REAL NOT NULL,
  notified   INTEGER NOT NULL DEFAULT 0
);
