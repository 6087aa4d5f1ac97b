-- durations: queue wait and run time (p50, p95, max seconds) per day and server
-- One row per day (the day the job started, UTC) and server (the job's
-- assigned_to), over jobs that started: running, done or failed.
-- wait = started_at - created_at (a retried job counts from its creation);
-- run = completed_at - started_at, for finished jobs only.  Percentiles are
-- nearest-rank: the value at rank ceil(p * n) in ascending order.  Jobs
-- that `compact` archived count too (job_records).
DROP VIEW IF EXISTS durations;
CREATE VIEW durations AS
WITH s AS (
  SELECT date(started_at, 'unixepoch') AS day, assigned_to AS server,
         max(started_at - created_at, 0) AS wait,
         CASE WHEN status IN ('done', 'failed') AND completed_at IS NOT NULL
              THEN max(completed_at - started_at, 0) END AS run
  FROM job_records
  WHERE started_at IS NOT NULL AND assigned_to IS NOT NULL
    AND status IN ('running', 'done', 'failed')
), w AS (
  SELECT day, server, wait,
         row_number() OVER (PARTITION BY day, server ORDER BY wait) AS rn,
         count(*) OVER (PARTITION BY day, server) AS n
  FROM s WHERE wait IS NOT NULL
), r AS (
  SELECT day, server, run,
         row_number() OVER (PARTITION BY day, server ORDER BY run) AS rn,
         count(*) OVER (PARTITION BY day, server) AS n
  FROM s WHERE run IS NOT NULL
), wa AS (
  SELECT day, server, max(n) AS jobs,
         round(max(CASE WHEN rn = (n + 1) / 2 THEN wait END), 1) AS wait_p50,
         round(max(CASE WHEN rn = (95 * n + 99) / 100 THEN wait END), 1) AS wait_p95,
         round(max(wait), 1) AS wait_max
  FROM w GROUP BY day, server
), ra AS (
  SELECT day, server, max(n) AS finished,
         round(max(CASE WHEN rn = (n + 1) / 2 THEN run END), 1) AS run_p50,
         round(max(CASE WHEN rn = (95 * n + 99) / 100 THEN run END), 1) AS run_p95,
         round(max(run), 1) AS run_max
  FROM r GROUP BY day, server
)
SELECT wa.day, wa.server, wa.jobs, wa.wait_p50, wa.wait_p95, wa.wait_max,
       coalesce(ra.finished, 0) AS finished, ra.run_p50, ra.run_p95, ra.run_max
FROM wa LEFT JOIN ra ON ra.day = wa.day AND ra.server = wa.server
ORDER BY wa.day, wa.server;
