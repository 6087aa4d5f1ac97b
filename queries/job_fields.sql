-- job_fields: each field of a job's record, in the file's order, as `job show` prints it
-- internal: a list of the CLI (cs_list), not a report
-- The record as the file holds it, every field (those of `job add --set`
-- too); a string is its text, any other value its JSON.  `job show ID`
-- filters on _job.
DROP VIEW IF EXISTS job_fields;
CREATE VIEW job_fields AS
SELECT j.id AS _job, e.key AS field,
       CASE e.type WHEN 'null' THEN 'null' WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                   ELSE e.value END AS value
FROM jobs j, json_each(j.json) e
ORDER BY j.id, e.id;
