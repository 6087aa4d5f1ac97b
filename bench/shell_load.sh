#!/usr/bin/env bash
# shell_load.sh DB WORKDIR
#
# The sqlite3 shell's own bulk load of WORKDIR/coordination/{jobs,messages}.json:
# one transaction that creates the tables (the mirror's typed columns plus a
# `json` column with each record's text) and fills them with
#   INSERT … SELECT json_extract(value, …), …, value
#   FROM json_each(readfile(…), '$.jobs' | '$.messages')
# Times are stored as epoch seconds: unixepoch(json_extract(…)).
# Note: json_each's `value` is SQLite's minified rendering of the record, not
# the original bytes (coordsync keeps the original slice).
#
# BENCH_LAYOUT=plain (default): rowid tables, no key, no index.
# BENCH_LAYOUT=mirror: id TEXT PRIMARY KEY, WITHOUT ROWID, jobs_queue index.
# DB is removed first.  Everything this script does is what gets timed.
set -euo pipefail
if [ $# -ne 2 ]; then
	echo "usage: shell_load.sh DB WORKDIR" >&2
	exit 2
fi
db=$1
work=$2
SQLITE3=${SQLITE3:-sqlite3}
jobs=$(cd "$work/coordination" && pwd)/jobs.json
msgs=$(cd "$work/coordination" && pwd)/messages.json
for f in "$jobs" "$msgs"; do
	[ -r "$f" ] || { echo "shell_load.sh: cannot read $f" >&2; exit 1; }
done
q() { printf "'%s'" "${1//\'/\'\'}"; }   # SQL string literal

case ${BENCH_LAYOUT:-plain} in
plain)	pk=""; tail=""; index="" ;;
mirror)	pk=" PRIMARY KEY"; tail=" WITHOUT ROWID"
	index="CREATE INDEX jobs_queue ON jobs(status, priority, created_at);" ;;
*)	echo "shell_load.sh: BENCH_LAYOUT must be plain or mirror" >&2; exit 2 ;;
esac

rm -f "$db" "$db-journal" "$db-wal" "$db-shm"
"$SQLITE3" -bail "$db" <<SQL
BEGIN;
CREATE TABLE jobs(
  id TEXT$pk, status TEXT, assigned_to TEXT, priority INTEGER,
  created_at REAL, started_at REAL, json TEXT NOT NULL)$tail;
$index
CREATE TABLE messages(
  id TEXT$pk, from_server TEXT, to_server TEXT, type TEXT, subject TEXT,
  body TEXT, timestamp REAL, read INTEGER, json TEXT NOT NULL)$tail;
INSERT INTO jobs
SELECT json_extract(value, '\$.id'),
       json_extract(value, '\$.status'),
       json_extract(value, '\$.assigned_to'),
       json_extract(value, '\$.priority'),
       unixepoch(json_extract(value, '\$.created_at')),
       unixepoch(json_extract(value, '\$.started_at')),
       value
FROM json_each(readfile($(q "$jobs")), '\$.jobs');
INSERT INTO messages
SELECT json_extract(value, '\$.id'),
       json_extract(value, '\$.from'),
       json_extract(value, '\$.to'),
       json_extract(value, '\$.type'),
       json_extract(value, '\$.subject'),
       json_extract(value, '\$.body'),
       unixepoch(json_extract(value, '\$.timestamp')),
       json_extract(value, '\$.read'),
       value
FROM json_each(readfile($(q "$msgs")), '\$.messages');
COMMIT;
SQL
