-- demo_locks: each lock, its holder and fence, as `demo` shows them
-- internal: a list of the CLI (cs_list), not a report
DROP VIEW IF EXISTS demo_locks;
CREATE VIEW demo_locks AS
SELECT name, locked_by, fence FROM locks;
