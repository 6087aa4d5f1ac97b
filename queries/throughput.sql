-- throughput: jobs finished per hour and server (done and failed)
-- One row per hour (UTC, the hour the job completed) and server (the job's
-- assigned_to).  run_avg is the mean of completed_at - started_at.  A failed
-- attempt that was requeued is not counted: each job counts in its latest
-- state.  Jobs that `compact` archived count too (job_records).
DROP VIEW IF EXISTS throughput;
CREATE VIEW throughput AS
SELECT strftime('%Y-%m-%dT%H:00:00Z', completed_at, 'unixepoch') AS hour,
       assigned_to AS server,
       count(*) AS finished,
       sum(status = 'done') AS done,
       sum(status = 'failed') AS failed,
       round(avg(completed_at - started_at), 1) AS run_avg
FROM job_records
WHERE completed_at IS NOT NULL AND status IN ('done', 'failed')
GROUP BY 1, 2
ORDER BY 1, 2;
