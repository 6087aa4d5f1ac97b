-- fleet: each server's last status and heartbeat age in seconds
DROP VIEW IF EXISTS fleet;
CREATE VIEW fleet AS
SELECT id AS server, status, strftime('%Y-%m-%dT%H:%M:%SZ', status_at, 'unixepoch') AS status_at,
       strftime('%Y-%m-%dT%H:%M:%SZ', heartbeat_at, 'unixepoch') AS heartbeat_at,
       CAST(unixepoch('now') - heartbeat_at AS INTEGER) AS heartbeat_age
FROM servers
ORDER BY id;
