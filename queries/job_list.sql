-- job_list: every job as `job list` shows it, by status, priority and age
-- internal: a list of the CLI (cs_list), not a report
-- Times are UTC.  `job list --status S` filters on status, `job claim
-- --json` on id.
DROP VIEW IF EXISTS job_list;
CREATE VIEW job_list AS
SELECT id, status, assigned_to, priority,
       strftime('%Y-%m-%dT%H:%M:%SZ', created_at, 'unixepoch') AS created_at,
       strftime('%Y-%m-%dT%H:%M:%SZ', started_at, 'unixepoch') AS started_at,
       strftime('%Y-%m-%dT%H:%M:%SZ', completed_at, 'unixepoch') AS completed_at,
       attempts, max_attempts, fence,
       result, error
FROM jobs ORDER BY status, priority, created_at, ord;
