-- server_heartbeat: each server with a heartbeat on the remote and its time (UTC)
-- internal: a list of the CLI (cs_list), not a report
-- `init` warns when its server id has one already: two clones must not
-- share an id.
DROP VIEW IF EXISTS server_heartbeat;
CREATE VIEW server_heartbeat AS
SELECT id AS server, strftime('%Y-%m-%dT%H:%M:%SZ', heartbeat_at, 'unixepoch') AS heartbeat
FROM servers WHERE heartbeat_at IS NOT NULL ORDER BY id;
