-- server_health: each server's heartbeat age, last status and what it holds
-- One row per server the mirror knows of (fleet_ids).  time is the last
-- heartbeat.  state: ok (heartbeat at most 120 s old), late (at most 600 s,
-- job rescue's default), stale (older), none (never sent one).
-- beats_24h and skew_s come from server_history (skew: commit time minus
-- the file's own timestamp, of the latest heartbeat).
DROP VIEW IF EXISTS server_health;
CREATE VIEW server_health AS
SELECT f.id AS server, s.status,
       strftime('%Y-%m-%dT%H:%M:%SZ', s.status_at, 'unixepoch') AS status_at,
       strftime('%Y-%m-%dT%H:%M:%SZ', s.heartbeat_at, 'unixepoch') AS time,
       CAST(unixepoch('now') - s.heartbeat_at AS INTEGER) AS heartbeat_age,
       CASE WHEN s.heartbeat_at IS NULL THEN 'none'
            WHEN unixepoch('now') - s.heartbeat_at <= 120 THEN 'ok'
            WHEN unixepoch('now') - s.heartbeat_at <= 600 THEN 'late'
            ELSE 'stale' END AS state,
       (SELECT count(*) FROM jobs WHERE assigned_to = f.id AND status = 'running') AS running,
       (SELECT count(*) FROM locks WHERE locked_by = f.id) AS locks_held,
       (SELECT count(*) FROM server_history AS h WHERE h.server = f.id AND h.file = 'heartbeat'
          AND h.change != 'removed' AND h.committed_at > unixepoch('now') - 86400) AS beats_24h,
       (SELECT round(h.skew, 1) FROM server_history AS h WHERE h.server = f.id
          AND h.file = 'heartbeat' ORDER BY h.seq DESC LIMIT 1) AS skew_s
FROM fleet_ids AS f LEFT JOIN servers AS s ON s.id = f.id
ORDER BY f.id;
