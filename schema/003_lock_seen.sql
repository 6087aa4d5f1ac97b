-- When this mirror first saw each held lock in its current state (holder,
-- fence, expiry), by this host's clock.  Another server's lock counts as
-- free here only once it has expired by the wall clock *and* this host has
-- watched it for its whole lease: the lease is the holder's expiry minus
-- the holder's own time of writing it, a difference of two readings of
-- one clock, so a clock minutes ahead or behind cannot shorten it.  Local
-- knowledge that git cannot give back: kept across rebuilds.
CREATE TABLE lock_seen(
  name       TEXT PRIMARY KEY,
  locked_by  TEXT,
  fence      INTEGER,
  expires_at REAL,
  seen_at    REAL NOT NULL
);
INSERT INTO lock_seen(name, locked_by, fence, expires_at, seen_at)
  SELECT name, locked_by, fence, expires_at, CAST(strftime('%s', 'now') AS REAL)
  FROM locks WHERE locked_by IS NOT NULL;

-- Per lock: the time (this host's clock) after which it counts as free for
-- a server other than its holder, before the lock-delay is added.  The
-- holder wrote it at the later of locked_at and the time of the commit that
-- last changed it (a renewal keeps locked_at).
CREATE VIEW lock_free_after AS
SELECT l.name, l.locked_by,
       max(l.expires_at, coalesce(s.seen_at + max(0, l.expires_at - max(coalesce(l.locked_at, 0),
           coalesce((SELECT h.committed_at FROM lock_history h WHERE h.name = l.name
                     ORDER BY h.seq DESC LIMIT 1), 0))), 0)) AS free_after
FROM locks l
LEFT JOIN lock_seen s ON s.name = l.name AND s.locked_by IS l.locked_by AND s.fence IS l.fence
     AND s.expires_at IS l.expires_at
WHERE l.locked_by IS NOT NULL;
