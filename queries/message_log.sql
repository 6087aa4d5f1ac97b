-- message_log: every message, newest first, and who has not read it yet
-- server is the recipient (a server id, or 'all' for a broadcast); unread_by
-- lists the servers of the fleet for which it is still unread
-- (message_unread).
DROP VIEW IF EXISTS message_log;
CREATE VIEW message_log AS
SELECT strftime('%Y-%m-%dT%H:%M:%SZ', m.timestamp, 'unixepoch') AS time, m.from_server AS sender,
       m.to_server AS server, m.type, m.subject,
       (SELECT group_concat(f.id, ' ') FROM (SELECT id FROM fleet_ids ORDER BY id) AS f
        WHERE EXISTS (SELECT 1 FROM message_unread AS u WHERE u.id = m.id AND u.server = f.id))
         AS unread_by,
       m.id
FROM messages AS m
ORDER BY m.timestamp DESC, m.ord DESC;
