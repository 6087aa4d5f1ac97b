-- heartbeats: every heartbeat seen, per server: the timeline
-- From server_history, plus each server's current heartbeat when history
-- does not hold it yet.  skew_s: commit time minus the heartbeat's own
-- timestamp (NULL for a heartbeat known only from the current file).
DROP VIEW IF EXISTS heartbeats;
CREATE VIEW heartbeats AS
SELECT strftime('%Y-%m-%dT%H:%M:%SZ', t, 'unixepoch') AS time, server, skew_s FROM (
  SELECT timestamp AS t, server, round(skew, 1) AS skew_s
  FROM server_history
  WHERE file = 'heartbeat' AND change != 'removed' AND timestamp IS NOT NULL
  UNION ALL
  SELECT s.heartbeat_at, s.id, NULL FROM servers AS s
  WHERE s.heartbeat_at IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM server_history AS h WHERE h.server = s.id AND h.file = 'heartbeat'
      AND h.timestamp = s.heartbeat_at))
ORDER BY t, server;
