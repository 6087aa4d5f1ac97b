-- tickets: Jira tickets and their builds: open ones with failing or no builds first, build time per ticket
-- One row per ticket of jira_issues (`coordsync jira sync`) and per ticket
-- that a job names without being in the mirror (`job add --set ticket=KEY`).
-- builds: 'none' (no job names it), 'failing' (its latest job failed),
-- 'running', 'queued' or 'ok' (its latest job is done).  attention is 1 for
-- a ticket that is not done (status category) whose builds are none or
-- failing.  build_s sums the run time (completed_at - started_at) of every
-- finished run of its jobs, each retry counted, from the job history;
-- last_build is when its latest job was last touched (UTC).
DROP VIEW IF EXISTS tickets;
CREATE VIEW tickets AS
WITH jt AS (
  SELECT id, json_extract(json, '$.ticket') AS ticket, status,
         coalesce(completed_at, started_at, created_at) AS touched
  FROM jobs
  WHERE json_type(json, '$.ticket') = 'text'
), latest AS (
  SELECT ticket, status, touched,
         row_number() OVER (PARTITION BY ticket ORDER BY touched DESC, id DESC) AS rn
  FROM jt
), per AS (
  SELECT ticket, count(*) AS jobs, sum(status = 'done') AS done, sum(status = 'failed') AS failed
  FROM jt GROUP BY ticket
), runs AS (
  SELECT DISTINCT h.job_id, h.started_at, h.completed_at
  FROM job_history h
  WHERE h.started_at IS NOT NULL AND h.completed_at >= h.started_at
    AND h.status IN ('done', 'failed', 'queued')
), spent AS (
  SELECT jt.ticket, count(*) AS runs, sum(r.completed_at - r.started_at) AS build_s
  FROM jt JOIN runs r ON r.job_id = jt.id GROUP BY jt.ticket
), keys AS (
  SELECT key AS ticket FROM jira_issues
  UNION SELECT ticket FROM per
)
SELECT k.ticket, i.status, i.type, i.assignee, i.summary,
       coalesce(p.jobs, 0) AS jobs, coalesce(p.done, 0) AS done, coalesce(p.failed, 0) AS failed,
       coalesce(s.runs, 0) AS runs, round(coalesce(s.build_s, 0), 1) AS build_s,
       CASE WHEN l.status IS NULL THEN 'none'
            WHEN l.status IN ('failed', 'cancelled') THEN 'failing'
            WHEN l.status = 'done' THEN 'ok' ELSE l.status END AS builds,
       CASE WHEN i.key IS NOT NULL AND coalesce(i.status_category, '') != 'done'
             AND (l.status IS NULL OR l.status IN ('failed', 'cancelled')) THEN 1 ELSE 0 END
         AS attention,
       datetime(l.touched, 'unixepoch') AS last_build
FROM keys k
LEFT JOIN jira_issues i ON i.key = k.ticket
LEFT JOIN per p ON p.ticket = k.ticket
LEFT JOIN latest l ON l.ticket = k.ticket AND l.rn = 1
LEFT JOIN spent s ON s.ticket = k.ticket
ORDER BY attention DESC, i.project, length(k.ticket), k.ticket;
