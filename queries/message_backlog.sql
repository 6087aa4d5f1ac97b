-- message_backlog: unread messages per recipient server, direct and broadcast
-- One row per server the mirror knows of (fleet_ids).  A direct message is
-- unread while its read flag is not set; a broadcast (to 'all') is unread by
-- every server other than its sender that is not in its read_by, unless a
-- seed tool marked it read (read set and no read_by), as `msg inbox` counts.
-- oldest is the timestamp of the oldest unread message, oldest_age_s its age.
DROP VIEW IF EXISTS message_backlog;
CREATE VIEW message_backlog AS
SELECT f.id AS server,
       count(m.id) AS unread,
       count(CASE WHEN m.to_server != 'all' THEN 1 END) AS direct,
       count(CASE WHEN m.to_server = 'all' THEN 1 END) AS broadcast,
       datetime(min(m.timestamp), 'unixepoch') AS oldest,
       CAST(unixepoch('now') - min(m.timestamp) AS INTEGER) AS oldest_age_s
FROM fleet_ids AS f
LEFT JOIN messages AS m
  ON (m.to_server = f.id AND NOT coalesce(m.read, 0))
  OR (m.to_server = 'all' AND m.from_server IS NOT f.id
      AND NOT (coalesce(m.read, 0) AND m.read_by IS NULL)
      AND NOT EXISTS (SELECT 1 FROM json_each(coalesce(m.read_by, '[]')) WHERE value = f.id))
GROUP BY f.id
ORDER BY f.id;
