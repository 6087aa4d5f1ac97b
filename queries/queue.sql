-- queue: jobs waiting to run, in the order `job claim` takes them
-- One row per queued job.  wait_s is how long it has been queued so far.
DROP VIEW IF EXISTS queue;
CREATE VIEW queue AS
SELECT id, priority, strftime('%Y-%m-%dT%H:%M:%SZ', created_at, 'unixepoch') AS created,
       strftime('%Y-%m-%dT%H:%M:%SZ', run_after, 'unixepoch') AS run_after, attempts,
       CAST(unixepoch('now') - created_at AS INTEGER) AS wait_s
FROM jobs
WHERE status = 'queued' AND assigned_to IS NULL
ORDER BY priority, created_at, id;
