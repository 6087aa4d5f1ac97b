-- demo_fleet: each server's status and heartbeat age, as `demo` shows them
DROP VIEW IF EXISTS demo_fleet;
CREATE VIEW demo_fleet AS
SELECT server, status, heartbeat_age FROM fleet;
