-- The mirror of the coordination repository.
--
-- Every table below is a cache that `coordsync rebuild` recreates from git,
-- except `outbox`, which holds intents that are not on the remote yet.
-- Times are epoch seconds (REAL) whatever form the JSON used; NULL when absent.
-- `json` keeps each record's original text, byte for byte, so fields that
-- coordsync does not know survive the round trip.  `ord` is the record's
-- position in its file; `dirty` is set only inside a decision transaction.
-- Keys are unique indexes rather than primary keys so that a large import
-- can drop them and build them once at the end.

-- One row per coordination file that was imported.
CREATE TABLE files(
  path        TEXT PRIMARY KEY,     -- path in the repository
  blob        TEXT,                 -- blob id of the last good import
  error       TEXT,                 -- why the newest version did not import
  bad_blob    TEXT,                 -- the blob that failed, if any
  imported_at REAL
);

CREATE TABLE jobs(
  id           TEXT NOT NULL,
  status       TEXT,                -- queued, running, done, failed, cancelled
  assigned_to  TEXT,
  priority     INTEGER,             -- lower runs first
  created_at   REAL,
  started_at   REAL,
  completed_at REAL,
  attempts     INTEGER,
  max_attempts INTEGER,
  run_after    REAL,
  fence        INTEGER,
  result       TEXT,
  error        TEXT,
  json         TEXT NOT NULL,
  ord          INTEGER NOT NULL,
  dirty        INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX jobs_id ON jobs(id);
-- Only queued jobs are indexed: the claim order, kept small however long
-- the history of finished jobs in the file.
CREATE INDEX jobs_queue ON jobs(priority, created_at) WHERE status = 'queued';

CREATE TABLE locks(
  name         TEXT NOT NULL,
  locked_by    TEXT,
  locked_at    REAL,
  expires_at   REAL,
  fence        INTEGER,
  json         TEXT NOT NULL,
  ord          INTEGER NOT NULL,
  dirty        INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX locks_name ON locks(name);

CREATE TABLE messages(
  id           TEXT NOT NULL,
  from_server  TEXT,
  to_server    TEXT,                -- a server id, or 'all'
  type         TEXT,
  subject      TEXT,
  body         TEXT,
  timestamp    REAL,
  read         INTEGER,             -- the seed's flag
  read_by      TEXT,                -- JSON array of servers that read a broadcast
  json         TEXT NOT NULL,
  ord          INTEGER NOT NULL,
  dirty        INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX messages_id ON messages(id);

-- One row per server directory that has a status.json or heartbeat.json.
CREATE TABLE servers(
  id             TEXT PRIMARY KEY,
  status         TEXT,
  status_at      REAL,
  heartbeat_at   REAL,
  status_json    TEXT,
  heartbeat_json TEXT,
  status_dirty   INTEGER NOT NULL DEFAULT 0,
  heartbeat_dirty INTEGER NOT NULL DEFAULT 0
);

-- Intents recorded with --defer, kept until their commit is on the remote.
-- Applying one is idempotent, so a crash between push and delete is harmless.
CREATE TABLE outbox(
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  kind       TEXT NOT NULL,         -- status, heartbeat, msg
  payload    TEXT NOT NULL,         -- JSON arguments of the intent
  created_at REAL NOT NULL
);

-- Small facts about the mirror: last sync time, remote head seen.
CREATE TABLE meta(
  key   TEXT PRIMARY KEY,
  value
);

-- The highest fence seen for each lock, in any imported version or grant.
-- A writer that drops "fence" from locks.json (the seed's release does)
-- cannot make coordsync hand out a fence twice.  Kept across rebuilds.
CREATE TABLE lock_fences(
  name  TEXT PRIMARY KEY,
  fence INTEGER NOT NULL
);
