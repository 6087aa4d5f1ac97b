-- demo_fleet: each server's status and heartbeat age, as `demo` shows them
-- internal: a list of the CLI (cs_list), not a report
DROP VIEW IF EXISTS demo_fleet;
CREATE VIEW demo_fleet AS
SELECT server, status, heartbeat_age FROM fleet;
