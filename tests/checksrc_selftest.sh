#!/bin/bash
# checksrc.sh's own test: a small tree with one planted violation per rule
# and clean files that look close to them; each violation is reported at its
# line and rule, the clean files are not, and a tree of clean files passes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/checksrc.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
mkdir -p "$work/engine/include/coordsync" "$work/cli"

# Clean: lower layers only, bound parameters, snprintf, case-sensitive
# lookups; banned names and SQL only in comments or in text that is neither.
cat >"$work/engine/include/coordsync/coordsync.h" <<'EOF'
/* The public API. */
#include <stddef.h>
EOF
cat >"$work/engine/db.h" <<'EOF'
/* The statement layer. */
#include "ctx.h"
#include "coordsync/coordsync.h"
EOF
cat >"$work/engine/sync.h" <<'EOF'
#include "db.h"
EOF
cat >"$work/engine/ctx.h" <<'EOF'
/* nothing */
EOF
cat >"$work/engine/sync.c" <<'EOF'
#include <stdio.h>
#include "sync.h"
#include "db.h"
/* strcpy( and sprintf( in a comment; "SELECT x FROM t WHERE a=%d" too */
// atoi(s) in a line comment
static int f(char *buf, size_t n, cJSON *o, int id)
{
	const char *q = "SELECT id FROM jobs WHERE id = :id";
	const char *m = "no strcpy(here) nor DELETE FROM %s in a literal";
	snprintf(buf, n, "%d%% done, where it ends", id);
	snprintf(buf, n, "UPDATE jobs SET x = 1 WHERE "
		 "id = :id -- %%s is not a conversion");
	/* checksrc: allow sql-format: a table name from the kind table */
	snprintf(buf, n, "DELETE FROM %s", "jobs");
	return cJSON_GetObjectItemCaseSensitive(o, "id") != NULL && q && m && !my_atoi(buf);
}
EOF
cat >"$work/cli/cli.h" <<'EOF'
#include "coordsync/coordsync.h"
EOF
cat >"$work/cli/cmd_ok.c" <<'EOF'
#include <stdio.h>
#include "cli.h"
#include "coordsync/coordsync.h"
static const char *help = "Select a job to show (a word, not SQL)";
static const char *h2 = "Delete the lock";
EOF

# A tree of clean files alone passes.
if ! out=$(sh "$here/checksrc.sh" "$work" 2>&1); then
	echo "FAIL: the clean tree is not clean:"; echo "$out"; fail=1
fi

# The violations, one a file, and where each is to be reported.
cat >"$work/engine/db.c" <<'EOF'
#include "db.h"
#include "sync.h"
EOF
cat >"$work/engine/util.c" <<'EOF'
#include <string.h>
#include "cli.h"
EOF
cat >"$work/engine/import.c" <<'EOF'
#include "nowhere.h"
EOF
cat >"$work/engine/stray.c" <<'EOF'
int stray;
EOF
cat >"$work/engine/include/coordsync/extra.h" <<'EOF'
#include "coordsync/coordsync.h"
#include "db.h"
EOF
cat >"$work/cli/cmd_bad.c" <<'EOF'
#include "cli.h"
#include "db.h"
static const char *q =
	"SELECT id FROM jobs";
EOF
cat >"$work/engine/locks.c" <<'EOF'
#include "db.h"
static void f(char *b, size_t n, long long id)
{
	snprintf(b, n, "DELETE FROM jobs "
		 "WHERE id = %lld", id);
}
EOF
cat >"$work/engine/json.c" <<'EOF'
#include "ctx.h"
static void f(char *d, const char *s, cJSON *o)
{
	strcpy(d, s);
	sprintf(d, "%s", s);
	x = atoi (s);
	strncpy(d, s, 4);
	cJSON_GetObjectItem(o, "id");
	cJSON_HasObjectItem(o, "id");
}
EOF
expect='engine/db.c:2: layer:
engine/util.c:2: layer:
engine/import.c:1: layer:
engine/stray.c:1: layer:
engine/include/coordsync/extra.h:2: layer:
cli/cmd_bad.c:2: layer:
cli/cmd_bad.c:4: sql-in-cli:
engine/locks.c:4: sql-format:
engine/json.c:4: banned:
engine/json.c:5: banned:
engine/json.c:6: banned:
engine/json.c:7: banned:
engine/json.c:8: cjson-case:
engine/json.c:9: cjson-case:'

out=$(sh "$here/checksrc.sh" "$work")
rc=$?
[ $rc = 1 ] || { echo "FAIL: exit $rc, not 1, with violations"; fail=1; }
while IFS= read -r want; do
	n=$(grep -cF -- "$want" <<<"$out")
	[ "$n" = 1 ] || { echo "FAIL: '$want' reported $n times, not once"; fail=1; }
done <<<"$expect"
got=$(grep -c . <<<"$out")
want=$(grep -c . <<<"$expect")
if [ "$got" != "$want" ]; then
	echo "FAIL: $got findings, $want expected:"; echo "$out"; fail=1
fi
# Every line has the form file:line: rule: text.
if grep -vE '^[^:]+:[0-9]+: [a-z-]+: .+' <<<"$out"; then
	echo "FAIL: lines above are not file:line: rule: text"; fail=1
fi
[ $fail = 0 ] && echo "checksrc self-test: ok ($got findings as planted)"
exit $fail
