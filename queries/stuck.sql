-- stuck: jobs running for longer than an hour
-- time is when the job started; heartbeat_age is its server's (NULL when
-- the server never sent one), so a dead server shows up next to its jobs.
DROP VIEW IF EXISTS stuck;
CREATE VIEW stuck AS
SELECT j.id, j.assigned_to AS server,
       strftime('%Y-%m-%dT%H:%M:%SZ', j.started_at, 'unixepoch') AS time,
       CAST(unixepoch('now') - j.started_at AS INTEGER) AS running_s,
       j.attempts, j.fence,
       CAST(unixepoch('now') - s.heartbeat_at AS INTEGER) AS heartbeat_age
FROM jobs AS j LEFT JOIN servers AS s ON s.id = j.assigned_to
WHERE j.status = 'running' AND j.started_at < unixepoch('now') - 3600
ORDER BY j.started_at, j.id;
