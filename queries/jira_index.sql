-- jira_index: the rows of docs/JIRA_CURATED_TICKETS.md (`jira index`)
-- internal: the ticket index's rows, written to the remote by cs_jira_index
-- One row per issue in the mirror (jira_issues, `jira sync`), in key order
-- (project, then number).  labels are comma-separated; parent is the parent
-- issue or, failing that, the Epic Link.
DROP VIEW IF EXISTS jira_index;
CREATE VIEW jira_index AS
SELECT key, browse AS link, type, status, assignee, reporter,
       (SELECT group_concat(value, ', ') FROM json_each(labels)) AS labels,
       coalesce(parent, epic) AS parent, summary, project
FROM jira_issues
ORDER BY project, length(key), key;
