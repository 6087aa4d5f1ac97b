-- message_backlog: unread messages per recipient server, direct and broadcast
-- One row per server the mirror knows of (fleet_ids), with its unread
-- messages as message_unread has them (direct and broadcast, as `msg inbox`
-- counts).  oldest is the timestamp of the oldest unread message,
-- oldest_age_s its age.
DROP VIEW IF EXISTS message_backlog;
CREATE VIEW message_backlog AS
SELECT f.id AS server,
       count(m.id) AS unread,
       count(CASE WHEN m.to_server != 'all' THEN 1 END) AS direct,
       count(CASE WHEN m.to_server = 'all' THEN 1 END) AS broadcast,
       strftime('%Y-%m-%dT%H:%M:%SZ', min(m.timestamp), 'unixepoch') AS oldest,
       CAST(unixepoch('now') - min(m.timestamp) AS INTEGER) AS oldest_age_s
FROM fleet_ids AS f
LEFT JOIN message_unread AS u ON u.server = f.id
LEFT JOIN messages AS m ON m.id = u.id
GROUP BY f.id
ORDER BY f.id;
