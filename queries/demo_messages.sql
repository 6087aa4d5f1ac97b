-- demo_messages: every message's sender, recipient, type and subject, oldest first, as `demo` shows them
-- internal: a list of the CLI (cs_list), not a report
DROP VIEW IF EXISTS demo_messages;
CREATE VIEW demo_messages AS
SELECT from_server AS "from", to_server AS "to", type, subject
FROM messages ORDER BY timestamp, ord;
