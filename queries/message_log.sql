-- message_log: every message, newest first, and who has not read it yet
-- server is the recipient (a server id, or 'all' for a broadcast); unread_by
-- lists the servers for which it is still unread (as in message_backlog).
DROP VIEW IF EXISTS message_log;
CREATE VIEW message_log AS
SELECT datetime(m.timestamp, 'unixepoch') AS time, m.from_server AS sender,
       m.to_server AS server, m.type, m.subject,
       (SELECT group_concat(f.id, ' ') FROM (SELECT id FROM fleet_ids ORDER BY id) AS f
        WHERE (m.to_server = f.id AND NOT coalesce(m.read, 0))
           OR (m.to_server = 'all' AND m.from_server IS NOT f.id
               AND NOT (coalesce(m.read, 0) AND m.read_by IS NULL)
               AND NOT EXISTS (SELECT 1 FROM json_each(coalesce(m.read_by, '[]'))
                               WHERE value = f.id))) AS unread_by,
       m.id
FROM messages AS m
ORDER BY m.timestamp DESC, m.ord DESC;
