-- Jira issues beside the coordination data (`coordsync jira sync`,
-- docs/JIRA.md).  Not from git: a rebuild copies these tables into the new
-- mirror (mirror.c's kept tables), it never drops them.  No token or
-- credential is ever stored here.

-- One row per issue, as Jira last answered it.  Names (assignee, reporter)
-- are display names; *_id are the accountId (Cloud) or the user name (Data
-- Center).  labels and fix_versions are JSON arrays of strings; sprint is
-- the name of the issue's last sprint.  created and updated are Jira's text
-- (2026-12-03T17:58:37.000+0000), *_at the same as epoch seconds.  raw is
-- the issue's JSON as Jira gave it.
CREATE TABLE jira_issues(
  key             TEXT PRIMARY KEY,
  id              TEXT,
  project         TEXT,
  summary         TEXT,
  type            TEXT,
  status          TEXT,
  status_category TEXT,            -- new, indeterminate, done
  assignee        TEXT,
  assignee_id     TEXT,
  reporter        TEXT,
  reporter_id     TEXT,
  labels          TEXT NOT NULL DEFAULT '[]',
  parent          TEXT,            -- fields.parent.key
  epic            TEXT,            -- the Epic Link field's key
  sprint          TEXT,
  fix_versions    TEXT NOT NULL DEFAULT '[]',
  created         TEXT,
  updated         TEXT,
  created_at      REAL,
  updated_at      REAL,
  browse          TEXT,            -- the issue's page: URL/browse/KEY
  raw             TEXT NOT NULL,
  synced_at       REAL NOT NULL
);
CREATE INDEX jira_issues_project ON jira_issues(project, updated_at);

-- Every change of a field that a sync saw: old is NULL for an issue seen
-- the first time (field 'created' then, new its key).
CREATE TABLE jira_history(
  seq     INTEGER PRIMARY KEY,
  key     TEXT NOT NULL,
  field   TEXT NOT NULL,
  old     TEXT,
  new     TEXT,
  seen_at REAL NOT NULL
);
CREATE INDEX jira_history_key ON jira_history(key, seq);

-- Per project: the high-water mark of the last full-project sync (the
-- greatest `updated` taken in, epoch seconds), from which the next one asks
-- again, a minute earlier.
CREATE TABLE jira_sync(
  project    TEXT PRIMARY KEY,
  high_water REAL,
  synced_at  REAL NOT NULL,
  issues     INTEGER NOT NULL DEFAULT 0
);
