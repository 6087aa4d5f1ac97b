/* Import: checking coordination files and loading their records into the
 * mirror's tables, a large file parsed on a second thread beside the
 * inserts, a changed one only in the records that differ. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "util.h"
#include "json.h"
#include "json_int.h"
#include "db.h"
#include "tree.h"
#include "texts.h"
#include "kinds.h"
#include "import.h"

/* Above this many records an import drops the table's indexes and builds
 * them again at the end: one sorted build beats many random inserts. */
#define BULK_RECORDS 5000

/* Build the indexes again; a unique index that fails names the duplicate. */
static int indexes_create(cs_ctx *ctx, const kind *k, const char *s, const jscan *sc,
			  db_indexes *ix)
{
	int rc = CS_OK;
	for (int i = 0; i < ix->n && !rc; i++) {
		char sql[200], *dup = NULL;
		long long ord = 0;
		if (sqlite3_exec(ctx->db, ix->sql[i], NULL, NULL, NULL) == SQLITE_OK)
			continue;
		if (sqlite3_extended_errcode(ctx->db) != SQLITE_CONSTRAINT_UNIQUE)
			return ctx_err_db(ctx, ctx->db);
		/* checksrc: allow sql-format: the column and table are the kind table's */
		snprintf(sql, sizeof sql, "SELECT %s FROM %s GROUP BY 1 HAVING count(*) > 1 LIMIT 1",
			 k->key_col, k->table);
		if ((rc = db_text(ctx, &dup, sql, NULL)))
			break;
		/* checksrc: allow sql-format: the table and column are the kind table's */
		snprintf(sql, sizeof sql, "SELECT max(ord) FROM %s WHERE %s=:a", k->table, k->key_col);
		if (dup && !(rc = db_int(ctx, &ord, sql, dup)))
			rc = kinds_file_err(ctx, k->path, s, ord < (long long)sc->n ? sc->m[ord].val.start : 0,
				      "duplicate %s '%s'", k->noun, dup);
		else if (!rc)
			rc = ctx_err_db(ctx, ctx->db);
		free(dup);
	}
	return rc;
}

/* ---- an arena for cJSON during imports ---------------------------------- */
/* An import parses one record at a time and frees it before the next, so
 * cJSON's many small allocations can come from a block that is simply
 * reset: it saves the malloc/free pairs that otherwise dominate parsing.
 * Blocks too big for the arena fall back to malloc and free.
 *
 * cJSON's allocation hooks are process-wide, so they are installed once, for
 * good, and route each call by thread: a thread whose arena is in use
 * (arena_use) allocates from its own arena, every other call is malloc's or
 * free's.  Handles may then import on several threads at once, and other
 * threads use cJSON meanwhile (the contract is in import.h). */

#define ARENA_SIZE (256u << 10)

static __thread struct arena {
	char *base;
	size_t used;
	int on;
} arena;

static void *arena_malloc(size_t n)
{
	void *p;
	n = (n + 15) & ~(size_t)15;
	if (arena.on && arena.used + n <= ARENA_SIZE) {
		p = arena.base + arena.used;
		arena.used += n;
		return p;
	}
	return malloc(n);
}

static void arena_free(void *p)
{
	uintptr_t a = (uintptr_t)p, base = (uintptr_t)arena.base;
	if (arena.on && a >= base && a < base + ARENA_SIZE)
		return;   /* it goes at arena_reset */
	free(p);
}

static void arena_reset(void)
{
	arena.used = 0;
}

static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void hooks_install(void)
{
	cJSON_Hooks h = {arena_malloc, arena_free};
	cJSON_InitHooks(&h);
}

/* Route this thread's cJSON allocations through its arena (on) or back to
 * malloc (off, freeing the arena).  -1 when there is no memory for one. */
static int arena_use(int on)
{
	pthread_once(&hooks_once, hooks_install);
	if (on) {
		if (!arena.base && !(arena.base = malloc(ARENA_SIZE)))
			return -1;
		arena.used = 0;
		arena.on = 1;
	} else {
		free(arena.base);
		memset(&arena, 0, sizeof arena);
	}
	return 0;
}

/* ---- parsing beside the inserts -------------------------------------------- */
/* A large import parses its records on a second thread: cJSON and the checks
 * cost about as much as SQLite's inserts, and the two sides share only the
 * text, which neither changes.  The parser fills PIPE_BATCHES batches in
 * turn; this thread inserts each batch in order and hands it back.  The
 * parser stops at the first record that fails, and the rows before it are
 * inserted first, so an import reports the error a sequential one would.
 * The parser parses from an arena of its own thread. */

#define PIPE_BATCHES 4
#define BATCH_ROWS 256
#define PIPE_MIN 2048   /* fewer records are parsed inline: a thread would cost more */

typedef struct parser {
	const kind *k;
	const char *s;
	const jscan *sc;
	size_t from, to;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	batch b[PIPE_BATCHES];
	int full[PIPE_BATCHES];   /* batch i is the inserter's */
	int stop;                 /* the inserter gave up: parse no more */
} parser;

/* Parse record i of scan sc into b; arena_reset after.  0 or -1 (b->failed). */
static int parse_member(const kind *k, const char *s, const jscan *sc, size_t i, batch *b)
{
	char *name = NULL;
	int rc;
	if (k->container == '{' && !(name = json_string_value(s, sc->m[i].key)))
		return kinds_batch_oom(b);
	rc = kinds_record_parse(k, s, sc->m[i].val, name, (long)i, b);
	arena_reset();
	free(name);
	return rc;
}

static void *parser_run(void *arg)
{
	parser *p = arg;
	size_t i = p->from;

	arena_use(1);   /* without one, cJSON uses malloc */
	for (int slot = 0; i < p->to; slot = (slot + 1) % PIPE_BATCHES) {
		batch *b = &p->b[slot];
		int stop;
		pthread_mutex_lock(&p->mu);
		while (p->full[slot] && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		stop = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			break;
		kinds_batch_clear(b);
		while (i < p->to && b->n < b->cap && !parse_member(p->k, p->s, p->sc, i, b))
			i++;
		pthread_mutex_lock(&p->mu);
		p->full[slot] = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (b->failed)
			break;
	}
	arena_use(0);
	return NULL;
}

/* Insert what the running parser p hands over, in order, until all of its
 * records are in or one fails; then tell the parser to stop. */
static int insert_parsed(cs_ctx *ctx, sqlite3_stmt *st, parser *p)
{
	size_t left = p->to - p->from;
	int rc = CS_OK;

	for (int slot = 0; left && !rc; slot = (slot + 1) % PIPE_BATCHES) {
		batch *b = &p->b[slot];
		pthread_mutex_lock(&p->mu);
		while (!p->full[slot])
			pthread_cond_wait(&p->cv, &p->mu);
		pthread_mutex_unlock(&p->mu);
		for (size_t j = 0; j < b->n && !rc; j++)
			rc = kinds_row_insert(ctx, p->k, p->k->path, st, p->s, b, &b->rows[j]);
		if (!rc && b->failed)
			rc = kinds_batch_err(ctx, p->k->path, p->s, b);
		left -= b->n;
		pthread_mutex_lock(&p->mu);
		p->full[slot] = 0;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Import records [from, to) with a parser thread.  *ran is 0 when no
 * thread could be started (nothing was done). */
static int insert_threaded(cs_ctx *ctx, const kind *k, sqlite3_stmt *st, const char *s,
			   const jscan *sc, size_t from, size_t to, int *ran)
{
	parser p;
	pthread_t t;
	int rc = CS_OK, i;

	*ran = 0;
	memset(&p, 0, sizeof p);
	p.k = k;
	p.s = s;
	p.sc = sc;
	p.from = from;
	p.to = to;
	for (i = 0; i < PIPE_BATCHES; i++) {
		if (!(p.b[i].rows = malloc(BATCH_ROWS * sizeof *p.b[i].rows))) {
			rc = ctx_err_oom(ctx);
			goto done;
		}
		p.b[i].cap = BATCH_ROWS;
	}
	if (pthread_mutex_init(&p.mu, NULL))
		goto done;
	if (pthread_cond_init(&p.cv, NULL)) {
		pthread_mutex_destroy(&p.mu);
		goto done;
	}
	if (!pthread_create(&t, NULL, parser_run, &p)) {
		*ran = 1;
		rc = insert_parsed(ctx, st, &p);
		pthread_join(t, NULL);
	}
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
done:
	for (i = 0; i < PIPE_BATCHES; i++) {
		free(p.b[i].rows);
		sb_free(&p.b[i].str);
	}
	return rc;
}

/* Import records [from, to) of a scanned shared file as rows at positions
 * ord = from, from + 1, ... */
static int insert_records(cs_ctx *ctx, const kind *k, sqlite3_stmt *st, const char *s,
			  const jscan *sc, size_t from, size_t to)
{
	row r;
	batch b;
	int rc = CS_OK, ran = 0;

	if (arena_use(1))
		return ctx_err_oom(ctx);
	if (to - from >= PIPE_MIN)
		rc = insert_threaded(ctx, k, st, s, sc, from, to, &ran);
	memset(&b, 0, sizeof b);
	b.rows = &r;
	b.cap = 1;
	for (size_t i = from; i < to && !rc && !ran; i++) {
		kinds_batch_clear(&b);
		rc = parse_member(k, s, sc, i, &b) ? kinds_batch_err(ctx, k->path, s, &b)
						   : kinds_row_insert(ctx, k, k->path, st, s, &b, &r);
	}
	sb_free(&b.str);
	arena_use(0);
	if (!rc)
		ctx->import_rows += (long)(to - from);
	return rc;
}

static size_t member_start(const kind *k, const jscan *sc, size_t i)
{
	return k->container == '{' ? sc->m[i].key.start : sc->m[i].val.start;
}

/* How the new version s of a shared file differs from old, the version the
 * rows hold: old's records [a, a + mid.n) became s's [a, c), and every other
 * record is the same text.  r0 is where record a - 1 ends (or the container's
 * first byte), r1 where record c starts (len when there is none): the bytes
 * of s outside [r0, r1) are old's, and both lie between two members. */
typedef struct delta {
	size_t a, c, r0, r1;
	jscan mid;
} delta;

/* Find the delta from old to s (scanned into sc): 1 when found, 0 when the
 * two cannot be shown to differ only in a run of records.  Old is scanned
 * only between them, from a point where both parses agree to the first
 * member of the common suffix, which must be a member start in old too. */
static int delta_find(const kind *k, const char *s, size_t len, jspan top, const jscan *sc,
		      const char *old, size_t oldlen, delta *d)
{
	size_t p, q, a = 0, c, at, stop, end, err;
	long dl = (long)len - (long)oldlen;
	int obj = k->container == '{', r;

	text_common(old, oldlen, s, len, &p, &q);
	/* The change must lie inside the container's brackets. */
	if (p <= top.start || len - q > top.end - 1)
		return 0;
	while (a < sc->n && sc->m[a].val.end <= p)
		a++;
	c = a;
	while (c < sc->n && member_start(k, sc, c) < len - q)
		c++;
	at = a ? sc->m[a - 1].val.end : top.start + 1;
	stop = c < sc->n ? (size_t)((long)member_start(k, sc, c) - dl) : (size_t)-1;
	r = json_members_from(old, oldlen, at, obj, a == 0, stop, &d->mid, &end, &err);
	if (r == 1 ? end != stop : r == 0 ? (c < sc->n || end != (size_t)((long)top.end - dl)) : 1)
		return 0;
	d->a = a;
	d->c = c;
	d->r0 = at;
	d->r1 = c < sc->n ? member_start(k, sc, c) : len;
	return 1;
}

/* Replace the rows of records d->a.. by s's: *done is 1.  When the rows do
 * not hold what d says old holds, *done is 0 and nothing was changed. */
static int delta_apply(cs_ctx *ctx, const kind *k, const char *s, const jscan *sc,
		       const delta *d, int *done)
{
	sqlite3_stmt *st = NULL;
	size_t a = d->a, c = d->c, n = d->mid.n;
	long long nold = 0;
	char sql[160];
	int rc;

	*done = 0;
	/* checksrc: allow sql-format: the table is the kind table's */
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", k->table);
	if ((rc = db_int(ctx, &nold, sql, NULL)) || (size_t)nold != a + n + (sc->n - c))
		return rc;
	/* checksrc: allow sql-format: the table is the kind table's */
	snprintf(sql, sizeof sql, "DELETE FROM %s WHERE ord >= :a AND ord < :b", k->table);
	if ((rc = DB_RUN(ctx, sql, DB_INT(":a", (long long)a), DB_INT(":b", (long long)(a + n)))) < 0)
		return rc;
	if (c - a != n) {
		/* checksrc: allow sql-format: the table is the kind table's */
		snprintf(sql, sizeof sql, "UPDATE %s SET ord = ord + :d WHERE ord >= :a", k->table);
		if ((rc = DB_RUN(ctx, sql, DB_INT(":d", (long long)(c - a) - (long long)n),
				 DB_INT(":a", (long long)(a + n)))) < 0)
			return rc;
	}
	if (!(rc = kinds_prepare_insert(ctx, k, &st)) && !(rc = insert_records(ctx, k, st, s, sc, a, c)))
		*done = 1;
	sqlite3_finalize(st);
	return rc;
}
/* A file at least this large that is read whole is checked on a second
 * thread, beside its scan. */
#define CHECK_THREAD_MIN (1u << 20)

/* Check and import s[0, len), a version of a shared file (jobs, locks or
 * messages), replacing its rows.  nt is that version when it came from git
 * (NULL: a buffer), with what an earlier pass learnt about it, and what
 * this one learns is kept there.  ot is the version the rows hold (NULL:
 * none, or not known); ot_checked says it passed this build's text check.
 *
 * The text check of s then covers only the records that differ: json_text_
 * check is a left-to-right pass whose state between two members of the
 * container is always the same (outside any string, after whitespace or a
 * comma; no number, escape or UTF-8 sequence spans a member's end, which is
 * ASCII), and it looks at most two bytes back.  So over the bytes before
 * r0 (old's own) and from r1 on (old's, from a member start), s is checked
 * as old was and passes as old did: the first failure, if any, lies in
 * [r0, r1), at the same offset.  ot_checked must hold for this check, not
 * an older one: see JSON_TEXT_CHECK_VERSION. */
static int import_shared(cs_ctx *ctx, const kind *k, const char *s, size_t len, texts_version *nt,
			 texts_version *ot, int ot_checked)
{
	sqlite3_stmt *st = NULL;
	db_indexes ix = {NULL, 0};
	jscan local = {0};
	const jscan *sc = &local;
	delta d;
	jspan top;
	char del[64];
	text_job whole = {s, 0, len, 0, 0};
	pthread_t checker;
	int rc, done = 0, have_delta = 0, checking = 0;

	memset(&d, 0, sizeof d);
	/* Without an old version the whole text is checked: a large one on a
	 * second thread while this one scans it (both only read s). */
	if (!ot && !(nt && nt->checked) && !(nt && nt->scan == TEXT_STRICT) &&
	    len >= CHECK_THREAD_MIN)
		checking = !pthread_create(&checker, NULL, kinds_check_run, &whole);
	if (nt && nt->scan == TEXT_STRICT) {
		sc = &nt->sc;
		top = nt->top;
	} else if ((rc = kinds_scan_file(ctx, k, s, len, &top, &local))) {
		/* A file that fails both reports what the text check finds:
		 * that check comes first. */
		int trc;
		if (checking)
			pthread_join(checker, NULL);
		trc = checking ? kinds_text_verdict(ctx, k->path, &whole)
			       : kinds_text_check(ctx, k->path, s, 0, len);
		rc = trc ? trc : rc;
		goto done;
	}
	if (checking) {
		pthread_join(checker, NULL);
		if ((rc = kinds_text_verdict(ctx, k->path, &whole)))
			goto done;
	}
	if (ot)
		have_delta = delta_find(k, s, len, top, sc, ot->p, ot->n, &d);
	if (!checking && !(nt && nt->checked) &&
	    (rc = have_delta && ot_checked ? kinds_text_check(ctx, k->path, s, d.r0, d.r1)
					   : kinds_text_check(ctx, k->path, s, 0, len)))
		goto done;
	if (nt) {
		nt->checked = 1;
		if (!nt->scan) {
			nt->sc = local;
			nt->top = top;
			memset(&local, 0, sizeof local);
			sc = &nt->sc;
		}
		nt->scan = TEXT_STRICT;   /* a listing it had is the same: a parse of the same bytes */
	}
	if (have_delta && ((rc = delta_apply(ctx, k, s, sc, &d, &done)) || done))
		goto fences;
	/* checksrc: allow sql-format: the table is the kind table's */
	snprintf(del, sizeof del, "DELETE FROM %s", k->table);
	if ((rc = db_exec(ctx, del)) ||
	    (sc->n > BULK_RECORDS && (rc = db_indexes_drop(ctx, k->table, &ix))) ||
	    (rc = kinds_prepare_insert(ctx, k, &st)) ||
	    (rc = insert_records(ctx, k, st, s, sc, 0, sc->n)) ||
	    (rc = indexes_create(ctx, k, s, sc, &ix)))
		goto done;
fences:
	if (!rc && !strcmp(k->table, "locks"))
		rc = db_exec(ctx, "INSERT INTO lock_fences(name, fence) SELECT name, fence FROM locks"
				  " WHERE fence IS NOT NULL ON CONFLICT(name) DO UPDATE SET"
				  " fence=max(fence, excluded.fence)");
done:
	db_indexes_free(&ix);
	sqlite3_finalize(st);
	jscan_free(&local);
	jscan_free(&d.mid);
	return rc;
}

/* Import <server>/status.json or heartbeat.json. */
static int import_server(cs_ctx *ctx, const kind *k, const char *path, const char *server,
			 const char *s, size_t len)
{
	sqlite3_stmt *st = NULL;
	jspan sp;
	size_t i = 0;
	int rc;
	while (i < len && strchr(" \t\r\n", s[i]))
		i++;
	sp.start = i;
	sp.end = len;
	while (sp.end > sp.start && strchr(" \t\r\n", s[sp.end - 1]))
		sp.end--;
	if ((rc = kinds_prepare_insert(ctx, k, &st)))
		return rc;
	if (!(rc = kinds_import_record(ctx, k, path, st, s, sp, server, 0)))
		ctx->import_rows++;
	sqlite3_finalize(st);
	return rc;
}
/* ---- the import pass ---------------------------------------------------- */


/* Check and import the text s[0, len) of the file at path (of kind k; for
 * a per-server file, server is its directory).  An error names path.  For a
 * shared file, nt, ot and ot_checked are import_shared's. */
static int import_text(cs_ctx *ctx, const kind *k, const char *path, const char *server,
		       const char *s, size_t len, texts_version *nt, texts_version *ot, int ot_checked)
{
	int rc;
	if (k->top)
		return import_shared(ctx, k, s, len, nt, ot, ot_checked);
	if ((rc = kinds_text_check(ctx, path, s, 0, len)))
		return rc;
	return import_server(ctx, k, path, server, s, len);
}

int import_buffer(cs_ctx *ctx, const char *path, const char *s, size_t len)
{
	const char *slash = strrchr(path, '/');
	char server[65];
	const kind *k = NULL;
	int rc;

	for (const kind *x = kinds_table; x->path && !k; x++)
		if (x->top ? !strcmp(x->path, path)
			   : slash && !strcmp(slash + 1, x->path) && strchr(path, '/') == slash)
			k = x;
	server[0] = 0;
	if (k && !k->top) {
		snprintf(server, sizeof server, "%.*s", (int)(slash - path), path);
		if ((size_t)(slash - path) >= sizeof server || !cs_valid_id(server))
			k = NULL;
	}
	if (!k)
		return ctx_err(ctx, CS_EINVAL, "'%s' is not a coordination file", path);
	if ((rc = db_exec(ctx, "SAVEPOINT import_file")))
		return rc;
	if ((rc = import_text(ctx, k, path, server, s, len, NULL, NULL, 0))) {
		db_exec(ctx, "ROLLBACK TO import_file");
		db_exec(ctx, "RELEASE import_file");
		return rc;
	}
	return db_exec(ctx, "RELEASE import_file");
}

/* What import_check goes on with after import_buffer refused a shared
 * file: every record on its own, each error but the first (said already)
 * to fn.  Only for a file whose text and structure pass. */
static int check_records(cs_ctx *ctx, const kind *k, const char *s, size_t len,
			 const char *first, import_problem_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	jscan sc = {0};
	jspan top;
	row r;
	batch b;
	char del[64];
	int rc;

	memset(&b, 0, sizeof b);
	b.rows = &r;
	b.cap = 1;
	if (kinds_text_check(ctx, k->path, s, 0, len) || kinds_scan_file(ctx, k, s, len, &top, &sc)) {
		jscan_free(&sc);
		return CS_OK;   /* the file as a whole: the first error is all there is */
	}
	if ((rc = db_exec(ctx, "SAVEPOINT import_check")))
		goto done;
	/* checksrc: allow sql-format: the table is the kind table's */
	snprintf(del, sizeof del, "DELETE FROM %s", k->table);
	if ((rc = db_exec(ctx, del)) || (rc = kinds_prepare_insert(ctx, k, &st)) ||
	    (rc = arena_use(1) ? ctx_err_oom(ctx) : CS_OK))
		goto rollback;
	for (size_t i = 0; i < sc.n && !rc; i++) {
		int bad;
		kinds_batch_clear(&b);
		bad = parse_member(k, s, &sc, i, &b) ? kinds_batch_err(ctx, k->path, s, &b)
						     : kinds_row_insert(ctx, k, k->path, st, s, &b, &r);
		if (bad && !strcmp(ctx->err, "out of memory"))
			rc = bad;
		else if (bad && strcmp(ctx->err, first) && fn(ctx, ctx->err, arg))
			rc = CS_ERROR;
	}
	arena_use(0);
rollback:
	sqlite3_finalize(st);
	db_exec(ctx, "ROLLBACK TO import_check");
	db_exec(ctx, "RELEASE import_check");
done:
	sb_free(&b.str);
	jscan_free(&sc);
	return rc;
}

int import_check(cs_ctx *ctx, const char *path, const char *s, size_t len, import_problem_fn fn,
		 void *arg)
{
	char first[sizeof ctx->err];
	const kind *k = NULL;
	int rc = import_buffer(ctx, path, s, len);
	if (rc == CS_OK || !strcmp(ctx->err, "out of memory"))
		return rc;
	snprintf(first, sizeof first, "%s", ctx->err);
	if (fn(ctx, first, arg))
		return ctx_err(ctx, CS_ERROR, "%s", first);
	for (const kind *x = kinds_table; x->path && !k; x++)
		if (x->top && !strcmp(x->path, path))
			k = x;
	if (k && (rc = check_records(ctx, k, s, len, first, fn, arg)))
		return rc;
	return ctx_err(ctx, CS_ERROR, "%s", first);
}

/* Import one file if its blob changed.  A file that fails keeps its last
 * good rows (a savepoint undoes the partial import); the failure is kept in
 * files.error and counted. */
static int import_path(cs_ctx *ctx, git_tree *tree, const kind *k, const char *path,
		       const char *server, cs_sync_stats *stats, int force, char *firsterr,
		       size_t errlen)
{
	const git_tree_entry *e = NULL;
	git_tree_entry *owned = NULL;
	git_blob *blob = NULL;
	texts_version *nt = NULL, *ot = NULL;
	git_oid oldid;
	char id[GIT_OID_HEXSZ + 1], key[300], mark[64];
	char *have = NULL, *bad = NULL, *checked = NULL;
	const char *s;
	size_t len;
	int rc, ot_checked = 0;

	if (git_tree_entry_bypath(&owned, tree, path))
		return CS_OK;
	e = owned;
	git_oid_tostr(id, sizeof id, git_tree_entry_id(e));
	if ((rc = db_text(ctx, &have, "SELECT blob FROM files WHERE path=:a", path)) ||
	    (rc = db_text(ctx, &bad, "SELECT coalesce(bad_blob, iif(error IS NULL, NULL, ''))"
			       " FROM files WHERE path=:a", path)))
		goto done;
	if (!force && have && !strcmp(have, id)) {
		/* Back to the last good version (a revert): no longer broken. */
		if (bad)
			rc = kinds_file_row(ctx, path, id, NULL, NULL);
		goto done;
	}
	if (!force && bad && !strcmp(bad, id)) {
		/* Known bad and unchanged: report again without re-reading. */
		char *msg = NULL;
		if (!(rc = db_text(ctx, &msg, "SELECT error FROM files WHERE path=:a", path))) {
			stats->files_failed++;
			if (!firsterr[0])
				snprintf(firsterr, errlen, "%s", msg ? msg : path);
		}
		free(msg);
		goto done;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
		rc = ctx_err(ctx, CS_ERROR, "'%s' is not a file (%s)", path,
			    git_tree_entry_type(e) == GIT_OBJECT_BLOB ? "a symbolic link"
			    : git_tree_entry_type(e) == GIT_OBJECT_TREE ? "a directory" : "a submodule");
		goto record_bad;
	}
	/* Refused from its header, before anything is read or parsed.  Not
	 * remembered as a bad blob: with a higher limit it may import.  A
	 * shared file's versions are kept for the rest of the sync (the
	 * history walk and the working tree read them too). */
	rc = k->top ? texts_get(ctx, &nt, git_tree_entry_id(e), path)
		    : tree_blob_lookup(ctx, &blob, git_tree_entry_id(e), path);
	if (rc == CTX_ETOOBIG) {
		id[0] = 0;
		goto record_bad;
	}
	if (rc)
		goto done;
	s = nt ? nt->p : git_blob_rawcontent(blob);
	len = nt ? nt->n : (size_t)git_blob_rawsize(blob);
	/* The version the rows hold, to import only the records that differ;
	 * and whether it passed this build's text check (meta 'checked:PATH'
	 * is "VERSION BLOB" of the last version of PATH that did). */
	snprintf(key, sizeof key, "checked:%s", path);
	if (k->top && !force && have && !git_oid_fromstr(&oldid, have)) {
		char saved[sizeof ctx->err];
		memcpy(saved, ctx->err, sizeof saved);
		if (texts_get(ctx, &ot, &oldid, path))
			memcpy(ctx->err, saved, sizeof saved);   /* then import it whole */
		else if (!(rc = db_text(ctx, &checked, "SELECT value FROM meta WHERE key=:a", key))) {
			snprintf(mark, sizeof mark, "%d %s", JSON_TEXT_CHECK_VERSION, have);
			ot_checked = ot->checked || (checked && !strcmp(checked, mark));
		}
		if (rc)
			goto done;
	}
	if ((rc = db_exec(ctx, "SAVEPOINT import_file")))
		goto done;
	rc = import_text(ctx, k, path, server, s, len, nt, ot, ot_checked);
	git_error_clear();
	if (rc) {
		db_exec(ctx, "ROLLBACK TO import_file");
		db_exec(ctx, "RELEASE import_file");
		goto record_bad;
	}
	snprintf(mark, sizeof mark, "%d %s", JSON_TEXT_CHECK_VERSION, id);
	if ((rc = db_exec(ctx, "RELEASE import_file")) ||
	    (rc = kinds_file_row(ctx, path, id, NULL, NULL)) ||
	    (k->top && (rc = db_meta_set(ctx, key, mark))))
		goto done;
	stats->files_imported++;
	goto done;

record_bad:
	stats->files_failed++;
	if (!firsterr[0])
		snprintf(firsterr, errlen, "%s", ctx->err);
	rc = kinds_file_row(ctx, path, NULL, ctx->err, id[0] ? id : NULL);
done:
	free(have);
	free(bad);
	free(checked);
	git_blob_free(blob);
	texts_release(ctx, nt);
	texts_release(ctx, ot);
	git_tree_entry_free(owned);
	return rc;
}

/* Forget a file that is gone from the tree. */
static int forget_path(cs_ctx *ctx, const char *path)
{
	const char *slash = strchr(path, '/');
	sqlite3_stmt *st = NULL;
	char sql[160];
	int rc = CS_OK;

	for (const kind *k = kinds_table; k->path && !rc; k++) {
		if (k->top && !strcmp(k->path, path)) {
			/* checksrc: allow sql-format: the table is the kind table's */
			snprintf(sql, sizeof sql, "DELETE FROM %s", k->table);
			rc = db_exec(ctx, sql);
		} else if (!k->top && slash && !strcmp(slash + 1, k->path)) {
			char *server = strndup(path, (size_t)(slash - path));
			if (!server)
				return ctx_err_oom(ctx);
			/* checksrc: allow sql-format: the columns are the kind table's */
			snprintf(sql, sizeof sql, "UPDATE servers SET %s=NULL", k->json_col);
			for (const field *f = k->fields; f->key; f++)
				snprintf(sql + strlen(sql), sizeof sql - strlen(sql), ", %s=NULL", f->col);
			snprintf(sql + strlen(sql), sizeof sql - strlen(sql), " WHERE id=:a");
			if (!(rc = db_prepare(ctx, &st, sql)) && !(rc = db_bind_text(ctx, st, ":a", server)) &&
			    (rc = db_step(ctx, st)) == SQLITE_DONE)
				rc = db_exec(ctx, "DELETE FROM servers WHERE status_json IS NULL"
						  " AND heartbeat_json IS NULL");
			sqlite3_finalize(st);
			st = NULL;
			free(server);
		}
	}
	if (!rc) {
		if (!(rc = db_prepare(ctx, &st, "DELETE FROM files WHERE path=:a")) &&
		    !(rc = db_bind_text(ctx, st, ":a", path)) && (rc = db_step(ctx, st)) == SQLITE_DONE)
			rc = CS_OK;
		sqlite3_finalize(st);
	}
	return rc;
}

int import_tree(cs_ctx *ctx, git_tree *tree, cs_sync_stats *stats, int force)
{
	char firsterr[sizeof ctx->err] = "";
	char path[256];
	sqlite3_stmt *st = NULL;
	long rows = ctx->import_rows;
	int rc = CS_OK;

	/* Shared files. */
	for (const kind *k = kinds_table; k->path && !rc; k++) {
		if (!k->top)
			continue;
		rc = import_path(ctx, tree, k, k->path, NULL, stats, force, firsterr,
				 sizeof firsterr);
	}
	/* Per-server files: every top-level directory with a valid id that
	 * is not reserved (coordination/, docs/, all/ ... are no servers). */
	for (size_t i = 0, n = git_tree_entrycount(tree); i < n && !rc; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		if (!kinds_server_dir(e))
			continue;
		for (const kind *k = kinds_table; k->path && !rc; k++) {
			if (k->top)
				continue;
			snprintf(path, sizeof path, "%s/%s", name, k->path);
			rc = import_path(ctx, tree, k, path, name, stats, force, firsterr,
					 sizeof firsterr);
		}
	}
	/* Files we imported before that are gone now. */
	if (!rc && !(rc = db_prepare(ctx, &st, "SELECT path FROM files"))) {
		char **gone = NULL;
		size_t ngone = 0;
		while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
			const char *p = (const char *)sqlite3_column_text(st, 0);
			git_tree_entry *e = NULL;
			if (!git_tree_entry_bypath(&e, tree, p)) {
				git_tree_entry_free(e);
				continue;
			}
			char **ng = realloc(gone, (ngone + 1) * sizeof *ng);
			if (!ng || !(ng[ngone] = strdup(p))) {
				gone = ng ? ng : gone;
				rc = ctx_err_oom(ctx);
				break;
			}
			gone = ng;
			ngone++;
		}
		sqlite3_finalize(st);
		if (rc == SQLITE_DONE)
			rc = CS_OK;
		for (size_t i = 0; i < ngone; i++) {
			if (!rc)
				rc = forget_path(ctx, gone[i]);
			free(gone[i]);
		}
		free(gone);
	}
	stats->records_imported += ctx->import_rows - rows;
	/* Files that failed do not fail the pass: the caller commits what did
	 * import and reports stats->files_failed with this message. */
	if (!rc && stats->files_failed)
		ctx_err(ctx, CS_ERROR, "%s", firsterr);
	return rc;
}
