-- lock_holds: every tenure of every lock from lock_history: hold and wait times
-- A tenure starts with a 'grant' and lasts through renewals until the next
-- release, expire, removed or grant of the same lock; it ends at that event's
-- commit time or at the last lease's expires_at, whichever is earlier
-- (ended_by 'held' while it lasts; hold_s then counts to now).
-- wait_s is set on a handover (the previous tenure was another server's): the
-- time from the end of that tenure to this grant.  Git records grants, not
-- attempts, so this is how long the lock stood free before the next holder
-- got it; a short one after another server's tenure means a server was
-- waiting (see lock_contention).
DROP VIEW IF EXISTS lock_holds;
CREATE VIEW lock_holds AS
WITH g AS (
  SELECT h.seq, h.name, h.locked_by AS server, h.committed_at AS t0, h.fence,
         (SELECT min(e.seq) FROM lock_history AS e WHERE e.name = h.name AND e.seq > h.seq
            AND e.event IN ('grant', 'release', 'expire', 'removed')) AS end_seq
  FROM lock_history AS h
  WHERE h.event = 'grant'
), t AS (
  SELECT g.*, e.event AS ended_by, e.committed_at AS t1,
         (SELECT max(x.expires_at) FROM lock_history AS x
          WHERE x.name = g.name AND x.seq >= g.seq AND x.seq < coalesce(g.end_seq, 9e18)
            AND x.event IN ('grant', 'renew')) AS lease_end
  FROM g LEFT JOIN lock_history AS e ON e.seq = g.end_seq
), u AS (
  SELECT t.*, max(min(coalesce(t1, unixepoch('now')), coalesce(lease_end, 9e18)), t0) AS t_end
  FROM t
), v AS (
  SELECT u.*,
         lag(server) OVER (PARTITION BY name ORDER BY seq) AS prev_server,
         lag(t_end) OVER (PARTITION BY name ORDER BY seq) AS prev_end
  FROM u
)
SELECT name AS lock, server, strftime('%Y-%m-%dT%H:%M:%SZ', t0, 'unixepoch') AS time,
       coalesce(ended_by, 'held') AS ended_by,
       round(t_end - t0, 1) AS hold_s,
       prev_server,
       CASE WHEN prev_server IS NOT NULL AND prev_server IS NOT server
            THEN round(max(t0 - prev_end, 0), 1) END AS wait_s,
       fence
FROM v
ORDER BY name, seq;
