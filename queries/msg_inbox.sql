-- msg_inbox: each server's messages as `msg inbox` shows them, oldest first
-- internal: a list of the CLI (cs_list), not a report
-- The messages to a server (direct, or a broadcast from another server),
-- for every server of message_servers ('' for one the mirror does not name).
-- _server is the recipient; _state is 'unread' when message_unread has the
-- message for it, else 'read'.  `msg inbox` filters on both (on _server
-- only with --all).  fields: the message's typed fields (`msg send --set`,
-- any member but the seed's and coordsync's own) as a JSON object, NULL
-- when it has none.
DROP VIEW IF EXISTS msg_inbox;
CREATE VIEW msg_inbox AS
SELECT m.id, m.from_server AS "from", m.to_server AS "to", m.type, m.subject, m.body,
       strftime('%Y-%m-%dT%H:%M:%SZ', m.timestamp, 'unixepoch') AS time,
       (SELECT nullif(json_group_object(j.key, j.value), '{}') FROM json_each(m.json) AS j
        WHERE j.key NOT IN ('id', 'from', 'to', 'type', 'subject', 'body', 'timestamp', 'read',
                            'read_by', 'in_reply_to')) AS fields,
       s.id AS _server,
       CASE WHEN EXISTS (SELECT 1 FROM message_unread AS u WHERE u.id = m.id AND u.server = s.id)
            THEN 'unread' ELSE 'read' END AS _state
FROM message_servers AS s
JOIN messages AS m
  ON (m.to_server = s.id AND s.id != '') OR (m.to_server = 'all' AND m.from_server IS NOT s.id)
ORDER BY m.timestamp, m.ord;
