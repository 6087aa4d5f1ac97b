-- message_servers: every server the messages can concern: the fleet, each one they name, and ''
-- internal: a part of the unread rule the views and the engine read, not a report
-- The fleet (fleet_ids), and every server named by a message: a direct
-- recipient, a sender, or one in a broadcast's read_by.  The id '' (no
-- server's: an id is never empty) stands for every server the mirror does
-- not name, such as a new clone's before its first heartbeat: a lookup for
-- server S uses S when this view has it, else ''.  message_unread tells
-- over these servers who has not read what.
DROP VIEW IF EXISTS message_servers;
CREATE VIEW message_servers AS
SELECT '' AS id
UNION SELECT id FROM fleet_ids
UNION SELECT to_server FROM messages WHERE to_server != 'all'
UNION SELECT from_server FROM messages WHERE from_server IS NOT NULL
UNION SELECT r.value FROM messages AS m, json_each(coalesce(m.read_by, '[]')) AS r
      WHERE m.to_server = 'all' AND r.type = 'text';
