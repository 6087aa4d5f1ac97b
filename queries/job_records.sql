-- job_records: every job the remote has held, each once: the live ones and those compacted away
-- internal: a part the reports read (throughput, durations, overview), not a report
-- The jobs of coordination/jobs.json (the jobs table), and each job that
-- is gone from it (`compact` moved it into coordination/archive/YYYY-MM/,
-- or it was deleted) with the values it last had there: its newest
-- job_history row, a 'removed' one.  A job in both (an id added again) is
-- the live one.  archived is 1 for the jobs that are gone.
DROP VIEW IF EXISTS job_records;
CREATE VIEW job_records AS
SELECT id, status, assigned_to, priority, created_at, started_at, completed_at, attempts,
       fence, 0 AS archived
FROM jobs
UNION ALL
SELECT h.job_id, h.status, h.assigned_to, h.priority, h.created_at, h.started_at,
       h.completed_at, h.attempts, h.fence, 1
FROM job_history AS h
WHERE h.change = 'removed'
  AND h.seq = (SELECT max(x.seq) FROM job_history AS x WHERE x.job_id = h.job_id)
  AND NOT EXISTS (SELECT 1 FROM jobs AS j WHERE j.id = h.job_id);
