-- locks_held: every lock now, its holder, how long held and when it expires
-- From the current locks table.  state: held, expired (past expires_at but
-- not yet cleaned up) or free.  time is when the holder was granted it.
DROP VIEW IF EXISTS locks_held;
CREATE VIEW locks_held AS
SELECT name AS lock, locked_by AS server,
       CASE WHEN locked_by IS NULL THEN 'free'
            WHEN expires_at < unixepoch('now') THEN 'expired' ELSE 'held' END AS state,
       CASE WHEN locked_by IS NOT NULL
            THEN strftime('%Y-%m-%dT%H:%M:%SZ', locked_at, 'unixepoch') END AS time,
       CASE WHEN locked_by IS NOT NULL
            THEN strftime('%Y-%m-%dT%H:%M:%SZ', expires_at, 'unixepoch') END AS expires,
       CASE WHEN locked_by IS NOT NULL THEN CAST(unixepoch('now') - locked_at AS INTEGER) END
         AS held_s,
       CASE WHEN locked_by IS NOT NULL THEN CAST(expires_at - unixepoch('now') AS INTEGER) END
         AS expires_in_s,
       fence
FROM locks
ORDER BY name;
