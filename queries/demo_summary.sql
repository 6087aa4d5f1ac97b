-- demo_summary: jobs per status and the servers they are assigned to, as `demo` ends with
-- internal: a list of the CLI (cs_list), not a report
DROP VIEW IF EXISTS demo_summary;
CREATE VIEW demo_summary AS
SELECT status, count(*) AS jobs, group_concat(assigned_to) AS servers
FROM jobs GROUP BY status ORDER BY status;
