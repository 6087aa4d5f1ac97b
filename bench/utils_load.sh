#!/usr/bin/env bash
# utils_load.sh DB WORKDIR
#
# `sqlite-utils insert` of the same arrays as the other contenders, read
# straight from WORKDIR/coordination/{jobs,messages}.json.  sqlite-utils has no
# option to pick a nested key, but with --text it hands the whole file to a
# --convert expression that may return the rows to insert, so
#   sqlite-utils insert DB jobs jobs.json --text --import json \
#       --convert 'json.loads(text)["jobs"]'
# (and the same for messages) selects the array without any step outside the
# timing.  Timed: both sqlite-utils processes, start to finish (Python start-up,
# reading and parsing the file, creating the table, inserting).
# sqlite-utils makes one column per field, including unknown ones (command,
# repo), keeps times as ISO text and keeps no JSON column; `from`/`to` stay as
# column names.
#
# BENCH_LAYOUT=plain (default): rowid tables without a key.
# BENCH_LAYOUT=mirror: --pk id (sqlite-utils cannot make WITHOUT ROWID tables
# or the jobs_queue index).
# DB is removed first.
set -euo pipefail
if [ $# -ne 2 ]; then
	echo "usage: utils_load.sh DB WORKDIR" >&2
	exit 2
fi
db=$1
work=$2
SQLITE_UTILS=${SQLITE_UTILS:-sqlite-utils}
case ${BENCH_LAYOUT:-plain} in
plain)	pk=() ;;
mirror)	pk=(--pk id) ;;
*)	echo "utils_load.sh: BENCH_LAYOUT must be plain or mirror" >&2; exit 2 ;;
esac
for f in jobs messages; do
	[ -r "$work/coordination/$f.json" ] ||
		{ echo "utils_load.sh: cannot read $work/coordination/$f.json" >&2; exit 1; }
done

rm -f "$db" "$db-journal" "$db-wal" "$db-shm"
for t in jobs messages; do
	"$SQLITE_UTILS" insert "$db" "$t" "$work/coordination/$t.json" "${pk[@]}" \
		--text --import json --convert "json.loads(text)[\"$t\"]"
done
