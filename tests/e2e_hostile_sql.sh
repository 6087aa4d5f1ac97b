#!/usr/bin/env bash
# Hostile SQL given to `coordsync query`: every statement of
# tests/resources/hostile_sql.txt (writes of every kind, schema and
# sqlite_master edits, ATTACH, PRAGMA writes, several statements,
# load_extension, VACUUM INTO, runaway recursive CTEs and cartesian joins,
# values past the length limit, functions that run long on big values) must
# exit 2 (refused) or 1 (stopped) as listed, each within 3 s of wall time
# with coordsync.query.timeout at 2 s.  Afterwards the mirror file is
# byte-identical, PRAGMA integrity_check is ok, no file was made, and
# ordinary queries still work.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

CORPUS="$TESTS_DIR/resources/hostile_sql.txt"
mkremote r
C1="$T/c1"
DB="$C1/.git/coordsync/mirror.db"
expect_rc 0 cs init "$T/r.git" "$C1" --server build1
for i in $(seq 1 20); do expect_rc 0 cs -C "$C1" job add --id "j$i" --priority "$i"; done
expect_rc 0 cs -C "$C1" query "SELECT count(*) FROM jobs"
[ "$(tail -n 1 <<<"$OUT" | tr -d ' |')" = 20 ] || fail "setup: $OUT"

# (an empty -wal is what a reader that exited leaves: no data)
sums() { for f in "$DB" "$DB-wal"; do [ -s "$f" ] && sha256sum "$f"; done; true; }
files() { find "$T" -path "$T/home" -prune -o -path "$T/run" -prune -o -printf '%p\n' | grep -v -- '-shm$\|-wal$' | sort; }
mkdir -p "$T/run"
sums >"$T/run/sums.before"
files >"$T/run/files.before"
ok "a mirror with 20 jobs"

# One statement: exit status, wall milliseconds and the message, into
# $T/run/N.
one() {
  local n=$1 sql=$2 t0 t1 rc
  t0=$(date +%s%N)
  set +e
  COORDSYNC_QUERY_TIMEOUT=2 "$COORDSYNC" -C "$C1" query "$sql" >"$T/run/$n.out" 2>"$T/run/$n.err"
  rc=$?
  set -e
  t1=$(date +%s%N)
  echo "$rc $(((t1 - t0) / 1000000))" >"$T/run/$n"
}

# Two at a time (the machines have two cores): the runaway ones each wait
# out their 2 s.
n=0
want=()
stmts=()
while IFS='|' read -r w sql; do
  case $w in ''|'#'*) continue ;; esac
  sql=${sql# }
  sql=${sql//@T@/$T}
  sql=$(printf '%b' "$sql")
  n=$((n + 1))
  want[n]=${w// /}
  stmts[n]=$sql
  one "$n" "$sql" &
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n || true; done
done <"$CORPUS"
wait
[ "$n" -ge 50 ] || fail "only $n statements in $CORPUS"

refused=0 stopped=0 slowest=0
for i in $(seq 1 "$n"); do
  read -r rc ms <"$T/run/$i"
  [ "$rc" = "${want[i]}" ] ||
    fail "exit $rc, not ${want[i]}, for: ${stmts[i]} -- $(head -c 300 "$T/run/$i.err") $(head -c 200 "$T/run/$i.out")"
  [ "$ms" -lt 3000 ] || fail "${ms} ms for: ${stmts[i]}"
  grep -q . "$T/run/$i.err" || fail "no message for: ${stmts[i]}"
  [ "$rc" = 2 ] && refused=$((refused + 1)) || stopped=$((stopped + 1))
  [ "$ms" -le "$slowest" ] || slowest=$ms
done
ok "$n hostile statements: $refused refused (exit 2), $stopped stopped (exit 1), each in under 3 s (slowest ${slowest} ms)"
cat "$T"/run/*.err | sed -E 's/^coordsync: //; s/(refused: [^:]*): .*/\1/' | cut -c1-64 | sort | uniq -c |
  sort -rn | sed 's/^/  /'   # the kinds of message

sums >"$T/run/sums.after"
cmp -s "$T/run/sums.before" "$T/run/sums.after" || fail "the mirror's bytes changed"
[ "$(sqlite3 "$DB" "PRAGMA integrity_check")" = ok ] || fail "integrity_check"
files >"$T/run/files.after"
cmp -s "$T/run/files.before" "$T/run/files.after" ||
  fail "files made: $(diff "$T/run/files.before" "$T/run/files.after" | head -5)"
ok "mirror byte-identical, integrity_check ok, no file made (attached.db, copy.db, written, ...)"

expect_rc 0 cs -C "$C1" query --format csv "SELECT count(*), sum(priority) FROM jobs"
[ "$(tail -n 1 <<<"$OUT")" = "20,210" ] || fail "jobs after: $OUT"
expect_rc 0 cs -C "$C1" query "SELECT name FROM pragma_table_info('jobs') WHERE name = 'fence'"
expect_rc 0 cs -C "$C1" query "PRAGMA table_info(jobs)"
expect_rc 0 cs -C "$C1" query "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r LIMIT 1000) SELECT sum(i) FROM r"
grep -q 500500 <<<"$OUT" || fail "bounded recursive CTE: $OUT"
expect_rc 0 cs -C "$C1" query "SELECT length(group_concat(json)) > 0, length(randomblob(1000000)) FROM jobs"
ok "ordinary queries still work: reads, table_info, a bounded recursive CTE, a 1 MB value"
done_testing
