-- lock_list: every lock as `lock list` shows it
-- internal: a list of the CLI (cs_list), not a report
-- state: held, expired (past expires_at but not yet cleaned up) or free.
DROP VIEW IF EXISTS lock_list;
CREATE VIEW lock_list AS
SELECT name, locked_by, strftime('%Y-%m-%dT%H:%M:%SZ', locked_at, 'unixepoch') AS locked_at,
       strftime('%Y-%m-%dT%H:%M:%SZ', expires_at, 'unixepoch') AS expires_at, fence,
       CASE WHEN locked_by IS NULL THEN 'free'
            WHEN expires_at < unixepoch('now') THEN 'expired' ELSE 'held' END AS state
FROM locks ORDER BY name;
