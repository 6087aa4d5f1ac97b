-- fleet_ids: every server id the mirror knows of, from any file
DROP VIEW IF EXISTS fleet_ids;
CREATE VIEW fleet_ids AS
SELECT id FROM servers
UNION SELECT assigned_to FROM jobs WHERE assigned_to IS NOT NULL
UNION SELECT locked_by FROM locks WHERE locked_by IS NOT NULL
UNION SELECT from_server FROM messages WHERE from_server IS NOT NULL
UNION SELECT to_server FROM messages WHERE to_server IS NOT NULL AND to_server != 'all';
