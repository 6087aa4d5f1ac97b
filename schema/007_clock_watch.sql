-- Watches by a clock that only moves forward.  A wall clock can be stepped
-- (by NTP, by hand, by a VM resumed) and another server's timestamps are
-- claims made by its own clock: neither can say how long a lease, a
-- heartbeat or a claim has really stood.  So the time from which this host
-- watched something is CLOCK_BOOTTIME (seconds since boot, which counts a
-- suspend too), read on this host, with the boot it belongs to
-- (/proc/sys/kernel/random/boot_id).  A watch from another boot counts as
-- no watch: after a reboot every watch starts again from zero.  Local
-- knowledge that git cannot give back: kept across rebuilds.

-- lock_seen (schema/003) keeps its meaning; seen_at (wall clock) is now
-- only for people, and the watch is the boottime reading.
ALTER TABLE lock_seen ADD COLUMN boot_id TEXT;
ALTER TABLE lock_seen ADD COLUMN seen_boot REAL;

-- Since when this host has seen a heartbeat or a claim as it is now.
--   kind 'heartbeat': key a server id, state its heartbeat.json text;
--   kind 'claim':     key a running job's id, state its holder, fence and
--                     started_at.
-- A changed state starts a new watch.
CREATE TABLE watch(
  kind       TEXT NOT NULL,
  key        TEXT NOT NULL,
  state      TEXT,
  boot_id    TEXT NOT NULL,
  since_boot REAL NOT NULL,       -- CLOCK_BOOTTIME seconds when first seen
  since_wall REAL NOT NULL,       -- the wall clock then, for people only
  PRIMARY KEY(kind, key)
);

-- Running jobs are few among many: the watch's import step reads them
-- without scanning jobs.json's rows.
CREATE INDEX jobs_running ON jobs(id) WHERE status = 'running';
-- Commits after a given one (watch_quiet).
CREATE INDEX history_commits_seq ON history_commits(seq);

-- What a watch is about, now.
CREATE VIEW watch_state AS
SELECT 'heartbeat' AS kind, id AS key, id AS server, heartbeat_json AS state
FROM servers WHERE heartbeat_json IS NOT NULL
UNION ALL
SELECT 'claim', id, assigned_to,
       coalesce(assigned_to, '') || ' ' || coalesce(fence, '') || ' ' || coalesce(started_at, '')
FROM jobs WHERE status = 'running';

-- Watches of the current states (a watch of an older state is no watch).
CREATE VIEW watch_current AS
SELECT w.kind, w.key, v.server, w.boot_id, w.since_boot, w.since_wall
FROM watch_state v JOIN watch w ON w.kind = v.kind AND w.key = v.key AND w.state IS v.state;

-- The commit (its seq in history_commits) that made each current state,
-- when the history walked so far holds it: the last change of the server's
-- heartbeat.json, or of the running job, and only when that change is the
-- state the mirror has (a walk that lags the import gives NULL).
CREATE VIEW watch_commit AS
SELECT 'heartbeat' AS kind, s.id AS key, s.id AS server,
       (SELECT CASE WHEN h.timestamp IS s.heartbeat_at AND h.change != 'removed' THEN c.seq END
        FROM server_history h JOIN history_commits c ON c.commit_id = h.commit_id
        WHERE h.server = s.id AND h.file = 'heartbeat' ORDER BY h.seq DESC LIMIT 1) AS seq
FROM servers s WHERE s.heartbeat_json IS NOT NULL
UNION ALL
SELECT 'claim', j.id, j.assigned_to,
       (SELECT CASE WHEN h.status = 'running' AND h.assigned_to IS j.assigned_to
                     AND h.fence IS j.fence AND h.started_at IS j.started_at THEN c.seq END
        FROM job_history h JOIN history_commits c ON c.commit_id = h.commit_id
        WHERE h.job_id = j.id ORDER BY h.seq DESC LIMIT 1)
FROM jobs j WHERE j.status = 'running';

-- What commit times show, for a host that has not watched long enough (a
-- clone that just joined): how long after the commit that made a state the
-- fleet went on committing without changing it.  Per author other than the
-- state's server, the time of its last commit after that commit minus the
-- time of its first one (in history order): a difference of two readings
-- of one clock, so no offset between clocks lengthens it (a commit is made
-- after its parent), and a clock set back shortens it.  The second largest
-- counts, so that two clocks must agree: one clock stepped forward between
-- two of its commits cannot make a live server look dead.  NULL (or not
-- positive) without such evidence.
CREATE VIEW watch_quiet AS
SELECT w.kind, w.key, w.server,
       (SELECT l.committed_at - f.committed_at
        FROM (SELECT min(c.seq) AS first_seq, max(c.seq) AS last_seq FROM history_commits c
              WHERE c.seq > w.seq AND c.author IS NOT NULL AND c.author IS NOT w.server
              GROUP BY c.author) a
        JOIN history_commits f ON f.seq = a.first_seq
        JOIN history_commits l ON l.seq = a.last_seq
        ORDER BY 1 DESC LIMIT 1 OFFSET 1) AS quiet
FROM watch_commit w WHERE w.seq IS NOT NULL;

-- Per held lock: the lease its holder gave it (expiry minus the later of
-- locked_at and the time of the commit that last changed it: two readings
-- of the holder's clock), and this host's watch of it in its current state.
-- Another server's lock is free here once it expired by the wall clock and
-- this host has watched it, by boottime in boot_id, for lease plus the
-- lock-delay.  free_after is the wall-clock estimate of that, for people.
DROP VIEW lock_free_after;
CREATE VIEW lock_free_after AS
SELECT name, locked_by, lease, boot_id, seen_boot,
       max(expires_at, coalesce(seen_at + lease, 0)) AS free_after
FROM (SELECT l.name, l.locked_by, l.expires_at, s.boot_id, s.seen_boot, s.seen_at,
             max(0, l.expires_at - max(coalesce(l.locked_at, 0),
                 coalesce((SELECT h.committed_at FROM lock_history h WHERE h.name = l.name
                           ORDER BY h.seq DESC LIMIT 1), 0))) AS lease
      FROM locks l
      LEFT JOIN lock_seen s ON s.name = l.name AND s.locked_by IS l.locked_by
           AND s.fence IS l.fence AND s.expires_at IS l.expires_at
      WHERE l.locked_by IS NOT NULL);
