-- schema_objects: the CREATE statements of the mirror, as the sqlite3 shell's .schema prints them
-- internal: a list of the CLI (cs_list, `coordsync schema`), not a report
-- In sqlite_schema's order.  A view's statement is followed by its
-- columns in a comment, as the shell adds it (a column named by an SQL
-- keyword, or by anything but letters, digits and '_', in double quotes;
-- the keywords are sqlite3_keyword_name's, SQLite 3.40).  _table is the
-- table an index or trigger belongs to (a table's or view's own name);
-- _scope is 'user' for the records, their history and the views of
-- queries/, 'internal' for the mirror's bookkeeping (files, meta, the
-- watches, alerts...), which `schema --all` adds.
DROP VIEW IF EXISTS schema_objects;
CREATE VIEW schema_objects AS
SELECT s.type, s.name, s.tbl_name,
       CASE WHEN s.type = 'view' THEN s.sql || char(10) || '/* ' || s.name || '(' ||
         (SELECT group_concat(CASE WHEN p.name GLOB '[A-Za-z_]*'
                                    AND p.name NOT GLOB '*[^A-Za-z0-9_]*'
                                    AND instr(' ' || (
  'ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN'
  || ' BETWEEN BY CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS'
  || ' CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE DEFERRED DELETE'
  || ' DESC DETACH DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN FAIL'
  || ' FILTER FIRST FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB GROUP GROUPS HAVING IF IGNORE'
  || ' IMMEDIATE IN INDEX INDEXED INITIALLY INNER INSERT INSTEAD INTERSECT INTO IS ISNULL JOIN KEY LAST'
  || ' LEFT LIKE LIMIT MATCH MATERIALIZED NATURAL NO NOT NOTHING NOTNULL NULL NULLS OF OFFSET ON OR'
  || ' ORDER OTHERS OUTER OVER PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY RAISE RANGE RECURSIVE'
  || ' REFERENCES REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK ROW ROWS'
  || ' SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION TRIGGER UNBOUNDED UNION'
  || ' UNIQUE UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH WITHOUT'
                                    ) || ' ', ' ' || upper(p.name) || ' ') = 0
                               THEN p.name ELSE '"' || replace(p.name, '"', '""') || '"' END, ',')
          FROM pragma_table_info(s.name) p) || ') */'
       ELSE s.sql END AS sql,
       s.tbl_name AS _table,
       CASE WHEN (s.type <> 'view' AND s.tbl_name IN ('jobs', 'locks', 'messages', 'servers',
                  'history_commits', 'job_history', 'lock_history', 'message_history',
                  'server_history'))
              OR (s.type = 'view' AND s.name NOT LIKE 'watch\_%' ESCAPE '\'
                  AND s.name <> 'schema_objects')
            THEN 'user' ELSE 'internal' END AS _scope
FROM sqlite_schema s WHERE s.sql IS NOT NULL ORDER BY s.rowid;
