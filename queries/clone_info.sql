-- clone_info: the mirror's head, last import, record counts and files in error, as `info` shows
-- internal: a list of the CLI (cs_list), not a report
DROP VIEW IF EXISTS clone_info;
CREATE VIEW clone_info AS
SELECT (SELECT value FROM meta WHERE key='remote_head') AS remote_head,
       (SELECT strftime('%Y-%m-%dT%H:%M:%SZ', value, 'unixepoch') FROM meta
        WHERE key='last_import') AS last_import,
       (SELECT count(*) FROM jobs) AS jobs,
       (SELECT count(*) FROM jobs WHERE status='queued') AS queued,
       (SELECT count(*) FROM jobs WHERE status='running') AS running,
       (SELECT count(*) FROM locks) AS locks,
       (SELECT count(*) FROM messages) AS messages,
       (SELECT count(*) FROM servers) AS servers,
       (SELECT group_concat(path || ': ' || error, '; ') FROM files WHERE error IS NOT NULL)
         AS bad_files;
