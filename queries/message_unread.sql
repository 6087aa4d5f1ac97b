-- message_unread: each message and each server that has not read it yet (the one rule)
-- internal: a part of the unread rule the views and the engine read, not a report
-- A direct message is unread by its recipient while its read flag is not
-- set.  A broadcast (to 'all') is unread by every server of message_servers
-- other than its sender that is not in its read_by, unless a seed tool
-- marked it read (read set and no read_by).  Server '' is every server the
-- mirror does not name (message_servers).  Every count or list of unread
-- messages (message_backlog, message_log, msg inbox, health, auto-reply)
-- reads this view.
DROP VIEW IF EXISTS message_unread;
CREATE VIEW message_unread AS
SELECT m.to_server AS server, m.id
FROM messages AS m
WHERE m.to_server NOT IN ('all', '') AND NOT coalesce(m.read, 0)
UNION ALL
SELECT f.id AS server, m.id
FROM message_servers AS f
JOIN messages AS m
  ON m.to_server = 'all' AND m.from_server IS NOT f.id
     AND NOT (coalesce(m.read, 0) AND m.read_by IS NULL)
     AND NOT EXISTS (SELECT 1 FROM json_each(coalesce(m.read_by, '[]')) WHERE value = f.id);
