-- demo_locks: each lock, its holder and fence, as `demo` shows them
DROP VIEW IF EXISTS demo_locks;
CREATE VIEW demo_locks AS
SELECT name, locked_by, fence FROM locks;
