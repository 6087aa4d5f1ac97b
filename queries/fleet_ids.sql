-- fleet_ids: every server the remote knows of: one with a status.json or a
-- heartbeat.json in its directory.  A name that only appears in a record
-- (a message's recipient, a job's assignee, a lock's holder) is not a
-- server of the fleet: a typo there must not make health wait for it.
DROP VIEW IF EXISTS fleet_ids;
CREATE VIEW fleet_ids AS
SELECT id FROM servers;
