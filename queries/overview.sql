-- overview: the headline figures of the fleet in one row
-- servers by heartbeat state (see server_health), the queue, running and
-- stuck jobs, jobs finished and queue wait over the last 24 hours (wait
-- percentiles over jobs started in that time), locks held, grants and
-- handovers in the last 24 hours (lock_history), unread messages, and when
-- the mirror last imported a change.  Finished jobs that `compact` archived
-- count too (job_records).
DROP VIEW IF EXISTS overview;
CREATE VIEW overview AS
WITH w AS (
  SELECT max(started_at - created_at, 0) AS wait,
         row_number() OVER (ORDER BY max(started_at - created_at, 0)) AS rn,
         count(*) OVER () AS n
  FROM job_records
  WHERE started_at > unixepoch('now') - 86400 AND created_at IS NOT NULL
    AND status IN ('running', 'done', 'failed')
)
SELECT (SELECT count(*) FROM fleet_ids) AS servers,
       (SELECT count(*) FROM server_health WHERE state = 'ok') AS servers_ok,
       (SELECT count(*) FROM server_health WHERE state != 'ok') AS servers_not_ok,
       (SELECT count(*) FROM queue) AS queued,
       (SELECT max(wait_s) FROM queue) AS oldest_queued_s,
       (SELECT count(*) FROM jobs WHERE status = 'running') AS running,
       (SELECT count(*) FROM stuck) AS stuck,
       (SELECT count(*) FROM job_records WHERE status = 'done'
          AND completed_at > unixepoch('now') - 86400) AS done_24h,
       (SELECT count(*) FROM job_records WHERE status = 'failed'
          AND completed_at > unixepoch('now') - 86400) AS failed_24h,
       (SELECT round(wait, 1) FROM w WHERE rn = (n + 1) / 2) AS wait_p50_24h,
       (SELECT round(wait, 1) FROM w WHERE rn = (95 * n + 99) / 100) AS wait_p95_24h,
       (SELECT count(*) FROM locks WHERE locked_by IS NOT NULL
          AND expires_at >= unixepoch('now')) AS locks_held,
       (SELECT count(*) FROM lock_history WHERE event = 'grant'
          AND committed_at > unixepoch('now') - 86400) AS grants_24h,
       (SELECT count(wait_s) FROM lock_holds
          WHERE time > strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')) AS handovers_24h,
       (SELECT coalesce(sum(unread), 0) FROM message_backlog) AS unread_messages,
       (SELECT strftime('%Y-%m-%dT%H:%M:%SZ', value, 'unixepoch') FROM meta
        WHERE key = 'last_import') AS last_import;
