/* The mapping between coordination files and mirror tables: import (JSON
 * text to rows) and surgical export (dirty rows back into the file text,
 * changing only the bytes of records that changed). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "cs_int.h"
#include "json_int.h"
#include "model.h"
#include "embedded.h"

/* ---- the record kinds --------------------------------------------------- */

static const field job_fields[] = {
	{"status", "status", F_TEXT},
	{"assigned_to", "assigned_to", F_TEXT},
	{"priority", "priority", F_INT},
	{"created_at", "created_at", F_ISO},
	{"started_at", "started_at", F_ISO},
	{"completed_at", "completed_at", F_ISO},
	{"attempts", "attempts", F_INT},
	{"max_attempts", "max_attempts", F_INT},
	{"run_after", "run_after", F_ISO},
	{"fence", "fence", F_INT},
	{"result", "result", F_TEXT},
	{"error", "error", F_TEXT},
	{NULL, NULL, 0}};

static const field lock_fields[] = {
	{"locked_by", "locked_by", F_TEXT},
	{"locked_at", "locked_at", F_EPOCH},
	{"expires_at", "expires_at", F_EPOCH},
	{"fence", "fence", F_INT},
	{NULL, NULL, 0}};

static const field msg_fields[] = {
	{"from", "from_server", F_TEXT},
	{"to", "to_server", F_TEXT},
	{"type", "type", F_TEXT},
	{"subject", "subject", F_TEXT},
	{"body", "body", F_TEXT},
	{"timestamp", "timestamp", F_ISO},
	{"read", "read", F_BOOL},
	{"read_by", "read_by", F_JSON},
	{NULL, NULL, 0}};

static const field status_fields[] = {
	{"status", "status", F_TEXT},
	{"timestamp", "status_at", F_ISO},
	{NULL, NULL, 0}};

static const field heartbeat_fields[] = {
	{"timestamp", "heartbeat_at", F_ISO},
	{NULL, NULL, 0}};

const kind cs_kinds[] = {
	{"coordination/jobs.json", "jobs", '[', "jobs", "id", "id", "json", "dirty", "job", job_fields},
	{"coordination/locks.json", "locks", '{', "locks", "name", NULL, "json", "dirty", "lock", lock_fields},
	{"coordination/messages.json", "messages", '[', "messages", "id", "id", "json", "dirty", "message", msg_fields},
	{"status.json", NULL, 0, "servers", "id", NULL, "status_json", "status_dirty", "status", status_fields},
	{"heartbeat.json", NULL, 0, "servers", "id", NULL, "heartbeat_json", "heartbeat_dirty", "heartbeat", heartbeat_fields},
	{NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL}};

/* ---- parsing ------------------------------------------------------------- */

cJSON *json_parse_span(const char *s, size_t start, size_t end, size_t *err_at)
{
	const char *stop = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(s + start, end - start, &stop, 0);
	if (v && stop == s + end)
		return v;
	cJSON_Delete(v);
	*err_at = stop && stop >= s + start && stop <= s + end ? (size_t)(stop - s) : start;
	return NULL;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first member name that object o holds twice, or NULL (also when out
 * of memory: *oom is set).  cJSON would read the first of two, Python's
 * json the last, so a record that has both cannot be read one way. */
static const char *dup_key(const cJSON *o, int *oom)
{
	const char *small[32], **names = small, *dup = NULL;
	size_t n = 0;
	for (const cJSON *c = o->child; c; c = c->next)
		n++;
	*oom = 0;
	if (n < 2)
		return NULL;
	if (n > sizeof small / sizeof *small && !(names = malloc(n * sizeof *names))) {
		*oom = 1;
		return NULL;
	}
	n = 0;
	for (const cJSON *c = o->child; c; c = c->next)
		names[n++] = c->string ? c->string : "";
	qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 1; i < n && !dup; i++)
		if (!strcmp(names[i - 1], names[i]))
			dup = names[i];
	if (names != small)
		free(names);
	return dup;
}

/* Set an error "PATH:LINE:COL: what" for offset off of text s. */
static int file_err(cs_ctx *ctx, const char *path, const char *s, size_t off,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int file_err(cs_ctx *ctx, const char *path, const char *s, size_t off,
		    const char *fmt, ...)
{
	char what[512];
	int line, col;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	json_linecol(s, off, &line, &col);
	return cs_err(ctx, CS_ERROR, "%s:%d:%d: %s", path, line, col, what);
}

int model_time_value(const cJSON *v, double *out)
{
	if (cJSON_IsNumber(v)) {
		*out = v->valuedouble;
		return *out >= CS_TIME_MIN && *out <= CS_TIME_MAX ? 0 : -1;
	}
	if (cJSON_IsString(v))
		return cs_time_parse(v->valuestring, out);
	return -1;
}

static const char *type_name(int t)
{
	switch (t) {
	case F_TEXT: return "a string or null";
	case F_INT: return "an integer or null";
	case F_BOOL: return "true, false or null";
	case F_ISO:
	case F_EPOCH: return "a time (epoch seconds or ISO-8601) or null";
	}
	return "JSON";
}

/* ---- a record's values ---------------------------------------------------- */
/* A record is imported in two steps: record_parse reads its text into the
 * values the INSERT binds (cJSON and every check of the record), and
 * row_insert binds and steps them.  The first touches neither the handle nor
 * SQLite, so a large import can parse on a second thread while this one
 * inserts (insert_records). */

/* One value to bind: the record's key, then one per field. */
typedef struct rval {
	int type;            /* SQLITE_NULL, SQLITE_INTEGER, SQLITE_FLOAT or SQLITE_TEXT */
	long long i;
	double d;
	size_t off, len;     /* text: bytes [off, off + len) of the batch's strings */
} rval;

/* The key and the fields of the largest kind; the fields arrays count
 * their terminator, which stands for the key here. */
#define ROW_VALUES 16
_Static_assert(sizeof job_fields / sizeof *job_fields <= ROW_VALUES, "job_fields");
_Static_assert(sizeof msg_fields / sizeof *msg_fields <= ROW_VALUES, "msg_fields");
_Static_assert(sizeof lock_fields / sizeof *lock_fields <= ROW_VALUES, "lock_fields");

typedef struct row {
	rval v[ROW_VALUES];
	jspan sp;            /* the record's text */
	long ord;
} row;

/* Up to cap parsed records, their text values in str (not NUL-separated),
 * and what stopped the parse at the record after the n-th: failed is 1 for
 * an error in the file (err, at offset err_at), 2 when out of memory. */
typedef struct batch {
	row *rows;
	size_t n, cap;
	sbuf str;
	int failed;
	size_t err_at;
	char err[512];
} batch;

static int batch_fail(batch *b, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int batch_fail(batch *b, size_t at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->err, sizeof b->err, fmt, ap);
	va_end(ap);
	b->failed = 1;
	b->err_at = at;
	return -1;
}

static int batch_oom(batch *b)
{
	b->failed = 2;
	return -1;
}

static void batch_clear(batch *b)
{
	if (b->str.oom)
		sb_free(&b->str);
	b->str.n = 0;
	b->n = 0;
	b->failed = 0;
}

/* The error that stopped b's parse, on ctx, as import_record reports it. */
static int batch_err(cs_ctx *ctx, const char *path, const char *s, const batch *b)
{
	return b->failed == 2 ? cs_err_oom(ctx) : file_err(ctx, path, s, b->err_at, "%s", b->err);
}

/* Text t as value v, copied into b's strings.  -1 when out of memory. */
static int put_text(batch *b, rval *v, const char *t)
{
	v->type = SQLITE_TEXT;
	v->off = b->str.n;
	v->len = strlen(t);
	sb_put(&b->str, t, v->len);
	return b->str.oom ? -1 : 0;
}

/* The minimum the schemas state for integer field f (jobs.schema.json,
 * locks.schema.json): 1 and *min, or 0 when it has none.  Its maximum is
 * 2^53-1 for all, the last integer a double holds exactly. */
static int field_min(const field *f, long long *min)
{
	if (!strcmp(f->key, "attempts") || !strcmp(f->key, "fence")) {
		*min = 0;
		return 1;
	}
	if (!strcmp(f->key, "max_attempts")) {
		*min = 1;
		return 1;
	}
	return 0;
}

/* Field f of object o as value v.  Returns 0, -1 when the value has the
 * wrong type, -2 when out of memory. */
static int field_value(batch *b, rval *v, const field *f, const cJSON *o)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, f->key);
	long long min;
	v->type = SQLITE_NULL;
	if (!x || cJSON_IsNull(x))
		return 0;
	switch (f->type) {
	case F_TEXT:
		if (!cJSON_IsString(x))
			return -1;
		return put_text(b, v, x->valuestring) ? -2 : 0;
	case F_INT:
		if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) ||
		    fabs(x->valuedouble) >= 9007199254740992.0 ||  /* past 2^53 a double is not exact */
		    (field_min(f, &min) && x->valuedouble < (double)min))
			return -1;
		v->type = SQLITE_INTEGER;
		v->i = (long long)x->valuedouble;
		return 0;
	case F_BOOL:
		if (!cJSON_IsBool(x))
			return -1;
		v->type = SQLITE_INTEGER;
		v->i = cJSON_IsTrue(x);
		return 0;
	case F_ISO:
	case F_EPOCH:
		if (model_time_value(x, &v->d))
			return -1;
		v->type = SQLITE_FLOAT;
		return 0;
	default: {
		char *t = cJSON_PrintUnformatted(x);
		int e;
		if (!t)
			return -2;
		e = put_text(b, v, t) ? -2 : 0;
		cJSON_free(t);
		return e;
	}
	}
}

/* "INSERT INTO t(key, cols..., json, ord) VALUES(?...)" for a shared kind, or
 * an upsert into servers for a per-server kind. */
static int prepare_insert(cs_ctx *ctx, const kind *k, sqlite3_stmt **st)
{
	sbuf b = {0};
	int n = 0, rc;
	char *sql;
	sb_printf(&b, "INSERT INTO %s(%s", k->table, k->key_col);
	for (const field *f = k->fields; f->key; f++, n++)
		sb_printf(&b, ", %s", f->col);
	sb_printf(&b, ", %s%s) VALUES(?", k->json_col, k->top ? ", ord" : "");
	for (int i = 0; i < n + 1 + (k->top ? 1 : 0); i++)
		sb_puts(&b, ", ?");
	sb_puts(&b, ")");
	if (!k->top) {
		sb_printf(&b, " ON CONFLICT(id) DO UPDATE SET %s=excluded.%s", k->json_col, k->json_col);
		for (const field *f = k->fields; f->key; f++)
			sb_printf(&b, ", %s=excluded.%s", f->col, f->col);
	}
	if (!(sql = sb_detach(&b)))
		return cs_err_oom(ctx);
	rc = db_prepare(ctx, st, sql);
	free(sql);
	return rc;
}

/* Parse the record whose text is s[sp.start, sp.end) into row b->n of b
 * (b->n < b->cap), to be inserted at position ord.  keytext is the record's
 * key when it comes from an object member (locks) or a directory (servers);
 * otherwise it is read from the record's key_json field.  Returns 0, or -1
 * with b->failed set.  Uses no handle: safe on any one thread at a time. */
static int record_parse(const kind *k, const char *s, jspan sp, const char *keytext, long ord,
			batch *b)
{
	size_t err_at;
	cJSON *o = json_parse_span(s, sp.start, sp.end, &err_at);
	row *r = &b->rows[b->n];
	const char *keyval = keytext, *dup;
	int i = 1, rc = -1, oom;

	if (!o)
		return batch_fail(b, err_at, "invalid JSON");
	if (!cJSON_IsObject(o)) {
		batch_fail(b, sp.start, "a %s must be an object", k->noun);
		goto done;
	}
	if ((dup = dup_key(o, &oom)) || oom) {
		if (oom)
			batch_oom(b);
		else
			batch_fail(b, sp.start, "a %s has the duplicate key '%s'", k->noun, dup);
		goto done;
	}
	if (k->key_json) {
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, k->key_json);
		if (!cJSON_IsString(key) || !key->valuestring[0]) {
			batch_fail(b, sp.start, "a %s needs a string '%s'", k->noun, k->key_json);
			goto done;
		}
		keyval = key->valuestring;
	} else if (!keyval || !*keyval) {   /* a lock's member name */
		batch_fail(b, sp.start, "a %s needs a non-empty name", k->noun);
		goto done;
	}
	if (put_text(b, &r->v[0], keyval)) {
		batch_oom(b);
		goto done;
	}
	for (const field *f = k->fields; f->key; f++, i++) {
		int e = field_value(b, &r->v[i], f, o);
		if (e == -1) {
			long long min;
			if (f->type == F_INT && field_min(f, &min))
				batch_fail(b, sp.start, "%s '%s': '%s' must be an integer from %lld to"
					   " 2^53-1, or null", k->noun, keyval, f->key, min);
			else
				batch_fail(b, sp.start, "%s '%s': '%s' must be %s", k->noun, keyval,
					   f->key, type_name(f->type));
			goto done;
		}
		if (e) {
			batch_oom(b);
			goto done;
		}
	}
	r->sp = sp;
	r->ord = ord;
	b->n++;
	rc = 0;
done:
	cJSON_Delete(o);
	return rc;
}

/* Insert row r of batch b (a record of s, the file at path) with st.  Text
 * is bound SQLITE_STATIC: b and s outlive the step, and the bindings are
 * cleared after it. */
static int row_insert(cs_ctx *ctx, const kind *k, const char *path, sqlite3_stmt *st,
		      const char *s, const batch *b, const row *r)
{
	int n = 1, rc = SQLITE_OK;

	for (const field *f = k->fields; f->key; f++)
		n++;
	sqlite3_reset(st);
	for (int i = 0; i < n && rc == SQLITE_OK; i++) {
		const rval *v = &r->v[i];
		switch (v->type) {
		case SQLITE_INTEGER: rc = sqlite3_bind_int64(st, i + 1, v->i); break;
		case SQLITE_FLOAT: rc = sqlite3_bind_double(st, i + 1, v->d); break;
		case SQLITE_TEXT:
			rc = sqlite3_bind_text(st, i + 1, b->str.p + v->off, (int)v->len, SQLITE_STATIC);
			break;
		default: rc = sqlite3_bind_null(st, i + 1); break;
		}
	}
	if (rc || sqlite3_bind_text(st, n + 1, s + r->sp.start, (int)(r->sp.end - r->sp.start),
				    SQLITE_STATIC) ||
	    (k->top && sqlite3_bind_int64(st, n + 2, r->ord))) {
		sqlite3_clear_bindings(st);
		return cs_err_db(ctx, ctx->db);
	}
	rc = sqlite3_step(st);
	sqlite3_clear_bindings(st);   /* nothing may point into b once it is reused */
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		return file_err(ctx, path, s, r->sp.start, "duplicate %s '%.*s'", k->noun,
				(int)r->v[0].len, b->str.p + r->v[0].off);
	return rc == SQLITE_DONE ? CS_OK : cs_err_db(ctx, ctx->db);
}

/* Insert one record whose text is s[sp.start, sp.end); keytext as for
 * record_parse. */
static int import_record(cs_ctx *ctx, const kind *k, const char *path, sqlite3_stmt *st,
			 const char *s, jspan sp, const char *keytext, long ord)
{
	row r;
	batch b;
	int rc;

	memset(&b, 0, sizeof b);
	b.rows = &r;
	b.cap = 1;
	rc = record_parse(k, s, sp, keytext, ord, &b) ? batch_err(ctx, path, s, &b)
						       : row_insert(ctx, k, path, st, s, &b, &r);
	sb_free(&b.str);
	return rc;
}

/* Scan a shared file: the top level must be an object holding member k->top,
 * whose records are listed into *sc (one pass over the bytes).  Every other
 * member's value is parsed too, so that a broken file is never taken as
 * good.  *top is the span of k->top's value. */
static int scan_file(cs_ctx *ctx, const kind *k, const char *s, size_t len, jspan *top,
		     jscan *sc)
{
	size_t i = json_skip_ws(s, len, 0), end, err_at = 0;
	int found = 0;

	if (i >= len || s[i] != '{')
		return file_err(ctx, k->path, s, i, "the top level must be an object");
	i = json_skip_ws(s, len, i + 1);
	if (i < len && s[i] == '}')
		return file_err(ctx, k->path, s, i, "missing member '%s'", k->top);
	for (;;) {
		jspan key;
		char *name;
		int match;
		if (i >= len || s[i] != '"')
			return file_err(ctx, k->path, s, i, "invalid JSON");
		key.start = i;
		if (!(key.end = json_skip_value(s, len, i, &err_at)))
			return file_err(ctx, k->path, s, err_at, "invalid JSON");
		i = json_skip_ws(s, len, key.end);
		if (i >= len || s[i] != ':')
			return file_err(ctx, k->path, s, i, "invalid JSON");
		i = json_skip_ws(s, len, i + 1);
		if (!(name = json_string_value(s, key)))
			return cs_err_oom(ctx);
		match = !strcmp(name, k->top);
		free(name);
		if (match && !found) {
			if (json_members(s, len, i, k->container, sc, &end, &err_at)) {
				if (err_at == (size_t)-1)
					return cs_err_oom(ctx);
				if (err_at == i)
					return file_err(ctx, k->path, s, i, "'%s' must be %s", k->top,
							k->container == '[' ? "an array" : "an object");
				return file_err(ctx, k->path, s, err_at, "invalid JSON");
			}
			top->start = i;
			top->end = end;
			found = 1;
		} else {
			cJSON *v;
			if (!(end = json_skip_value(s, len, i, &err_at)))
				return file_err(ctx, k->path, s, err_at, "invalid JSON");
			if (!(v = json_parse_span(s, i, end, &err_at)))
				return file_err(ctx, k->path, s, err_at, "invalid JSON");
			cJSON_Delete(v);
			if (match)
				return file_err(ctx, k->path, s, key.start, "duplicate member '%s'", k->top);
		}
		i = json_skip_ws(s, len, end);
		if (i < len && s[i] == ',') {
			i = json_skip_ws(s, len, i + 1);
			continue;
		}
		if (i < len && s[i] == '}')
			break;
		return file_err(ctx, k->path, s, i, "invalid JSON");
	}
	i = json_skip_ws(s, len, i + 1);
	if (i < len)
		return file_err(ctx, k->path, s, i, "trailing text after the JSON value");
	if (!found)
		return file_err(ctx, k->path, s, 0, "missing member '%s'", k->top);
	return CS_OK;
}

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
			return cs_err_db(ctx, ctx->db);
		snprintf(sql, sizeof sql, "SELECT %s FROM %s GROUP BY 1 HAVING count(*) > 1 LIMIT 1",
			 k->key_col, k->table);
		if ((rc = db_text(ctx, &dup, sql, NULL)))
			break;
		snprintf(sql, sizeof sql, "SELECT max(ord) FROM %s WHERE %s=:a", k->table, k->key_col);
		if (dup && !(rc = db_int(ctx, &ord, sql, dup)))
			rc = file_err(ctx, k->path, s, ord < (long long)sc->n ? sc->m[ord].val.start : 0,
				      "duplicate %s '%s'", k->noun, dup);
		else if (!rc)
			rc = cs_err_db(ctx, ctx->db);
		free(dup);
	}
	return rc;
}

/* ---- an arena for cJSON during imports ---------------------------------- */
/* An import parses one record at a time and frees it before the next, so
 * cJSON's many small allocations can come from a block that is simply
 * reset: it saves the malloc/free pairs that otherwise dominate parsing.
 * Blocks too big for the arena fall back to malloc and go at the reset. */

#define ARENA_SIZE (256u << 10)

static struct arena {
	char *base;
	size_t used;
	void **big;
	size_t nbig, capbig;
} arena;

static void *arena_malloc(size_t n)
{
	void *p;
	n = (n + 15) & ~(size_t)15;
	if (arena.base && arena.used + n <= ARENA_SIZE) {
		p = arena.base + arena.used;
		arena.used += n;
		return p;
	}
	if (arena.nbig == arena.capbig) {
		size_t cap = arena.capbig ? arena.capbig * 2 : 16;
		void **b = realloc(arena.big, cap * sizeof *b);
		if (!b)
			return NULL;
		arena.big = b;
		arena.capbig = cap;
	}
	if (!(p = malloc(n)))
		return NULL;
	arena.big[arena.nbig++] = p;
	return p;
}

static void arena_free(void *p)
{
	(void)p;   /* everything goes at arena_reset */
}

static void arena_reset(void)
{
	for (size_t i = 0; i < arena.nbig; i++)
		free(arena.big[i]);
	arena.nbig = 0;
	arena.used = 0;
}

/* Route cJSON through the arena (on) or back to malloc (off). */
static int arena_use(int on)
{
	cJSON_Hooks h = {NULL, NULL};
	if (on) {
		if (!arena.base && !(arena.base = malloc(ARENA_SIZE)))
			return -1;
		h.malloc_fn = arena_malloc;
		h.free_fn = arena_free;
	} else {
		arena_reset();
		free(arena.base);
		free(arena.big);
		memset(&arena, 0, sizeof arena);
	}
	cJSON_InitHooks(&h);
	return 0;
}

/* ---- parsing beside the inserts -------------------------------------------- */
/* A large import parses its records on a second thread: cJSON and the checks
 * cost about as much as SQLite's inserts, and the two sides share only the
 * text, which neither changes.  The parser fills PIPE_BATCHES batches in
 * turn; this thread inserts each batch in order and hands it back.  The
 * parser stops at the first record that fails, and the rows before it are
 * inserted first, so an import reports the error a sequential one would.
 * cJSON's allocation hooks are global: while the parser runs, nothing else
 * may call cJSON (the arena is the parser's). */

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
		return batch_oom(b);
	rc = record_parse(k, s, sc->m[i].val, name, (long)i, b);
	arena_reset();
	free(name);
	return rc;
}

static void *parser_run(void *arg)
{
	parser *p = arg;
	size_t i = p->from;

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
		batch_clear(b);
		while (i < p->to && b->n < b->cap && !parse_member(p->k, p->s, p->sc, i, b))
			i++;
		pthread_mutex_lock(&p->mu);
		p->full[slot] = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (b->failed)
			break;
	}
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
			rc = row_insert(ctx, p->k, p->k->path, st, p->s, b, &b->rows[j]);
		if (!rc && b->failed)
			rc = batch_err(ctx, p->k->path, p->s, b);
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
			rc = cs_err_oom(ctx);
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
		return cs_err_oom(ctx);
	if (to - from >= PIPE_MIN)
		rc = insert_threaded(ctx, k, st, s, sc, from, to, &ran);
	memset(&b, 0, sizeof b);
	b.rows = &r;
	b.cap = 1;
	for (size_t i = from; i < to && !rc && !ran; i++) {
		batch_clear(&b);
		rc = parse_member(k, s, sc, i, &b) ? batch_err(ctx, k->path, s, &b)
						   : row_insert(ctx, k, k->path, st, s, &b, &r);
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
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", k->table);
	if ((rc = db_int(ctx, &nold, sql, NULL)) || (size_t)nold != a + n + (sc->n - c))
		return rc;
	snprintf(sql, sizeof sql, "DELETE FROM %s WHERE ord >= %zu AND ord < %zu", k->table, a,
		 a + n);
	if ((rc = db_exec(ctx, sql)))
		return rc;
	if (c - a != n) {
		snprintf(sql, sizeof sql, "UPDATE %s SET ord = ord + %ld WHERE ord >= %zu", k->table,
			 (long)(c - a) - (long)n, a + n);
		if ((rc = db_exec(ctx, sql)))
			return rc;
	}
	if (!(rc = prepare_insert(ctx, k, &st)) && !(rc = insert_records(ctx, k, st, s, sc, a, c)))
		*done = 1;
	sqlite3_finalize(st);
	return rc;
}

/* The import's text check of s[from, to): no NUL byte, json_text_check.
 * check_run finds the first bad byte (it touches nothing else, so it can run
 * on a second thread), text_verdict reports it: the error names path, with
 * the line and column of the offending byte. */
typedef struct text_job {
	const char *s;
	size_t from, to;
	int nul;            /* the text holds a NUL byte */
	size_t bad;         /* else the first byte json_text_check refuses, or to */
} text_job;

static void *check_run(void *arg)
{
	text_job *j = arg;
	j->nul = memchr(j->s + j->from, 0, j->to - j->from) != NULL;
	j->bad = j->nul ? j->to : j->from + json_text_check(j->s + j->from, j->to - j->from);
	return NULL;
}

static int text_verdict(cs_ctx *ctx, const char *path, const text_job *j)
{
	const char *s = j->s;
	size_t bad = j->bad;
	if (j->nul)
		return cs_err(ctx, CS_ERROR, "%s: contains a NUL byte", path);
	if (bad < j->to)
		return file_err(ctx, path, s, bad, (unsigned char)s[bad] < 0x20 ? "control character"
				: s[bad] == '\\' ? "a NUL character (\\u0000) in a string"
				: s[bad] == '0' || s[bad] == '.' ? "invalid number"
				: "invalid UTF-8");
	return CS_OK;
}

static int text_check(cs_ctx *ctx, const char *path, const char *s, size_t from, size_t to)
{
	text_job j = {s, from, to, 0, 0};
	check_run(&j);
	return text_verdict(ctx, path, &j);
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
static int import_shared(cs_ctx *ctx, const kind *k, const char *s, size_t len, cs_text *nt,
			 cs_text *ot, int ot_checked)
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
		checking = !pthread_create(&checker, NULL, check_run, &whole);
	if (nt && nt->scan == TEXT_STRICT) {
		sc = &nt->sc;
		top = nt->top;
	} else if ((rc = scan_file(ctx, k, s, len, &top, &local))) {
		/* A file that fails both reports what the text check finds:
		 * that check comes first. */
		int trc;
		if (checking)
			pthread_join(checker, NULL);
		trc = checking ? text_verdict(ctx, k->path, &whole) : text_check(ctx, k->path, s, 0, len);
		rc = trc ? trc : rc;
		goto done;
	}
	if (checking) {
		pthread_join(checker, NULL);
		if ((rc = text_verdict(ctx, k->path, &whole)))
			goto done;
	}
	if (ot)
		have_delta = delta_find(k, s, len, top, sc, ot->p, ot->n, &d);
	if (!checking && !(nt && nt->checked) &&
	    (rc = have_delta && ot_checked ? text_check(ctx, k->path, s, d.r0, d.r1)
					   : text_check(ctx, k->path, s, 0, len)))
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
	snprintf(del, sizeof del, "DELETE FROM %s", k->table);
	if ((rc = db_exec(ctx, del)) ||
	    (sc->n > BULK_RECORDS && (rc = db_indexes_drop(ctx, k->table, &ix))) ||
	    (rc = prepare_insert(ctx, k, &st)) || (rc = insert_records(ctx, k, st, s, sc, 0, sc->n)) ||
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
	if ((rc = prepare_insert(ctx, k, &st)))
		return rc;
	if (!(rc = import_record(ctx, k, path, st, s, sp, server, 0)))
		ctx->import_rows++;
	sqlite3_finalize(st);
	return rc;
}

int model_add(cs_ctx *ctx, const char *table, const char *name, const char *text)
{
	const kind *k = NULL;
	sqlite3_stmt *st = NULL;
	jspan sp = {0, strlen(text)};
	char sql[128];
	int rc;

	for (const kind *x = cs_kinds; x->path; x++)
		if (x->top && !strcmp(x->table, table))
			k = x;
	if (!k)
		return cs_err(ctx, CS_ERROR, "internal: no table '%s'", table);
	if ((rc = prepare_insert(ctx, k, &st)) ||
	    (rc = import_record(ctx, k, k->path, st, text, sp, name, -1)))
		goto done;
	snprintf(sql, sizeof sql, "UPDATE %s SET dirty=1 WHERE rowid=last_insert_rowid()", k->table);
	rc = db_exec(ctx, sql);
done:
	sqlite3_finalize(st);
	return rc;
}

/* ---- the import pass ---------------------------------------------------- */

static int file_row(cs_ctx *ctx, const char *path, const char *blob, const char *error,
		    const char *bad_blob)
{
	sqlite3_stmt *st = NULL;
	int rc;
	if (!(rc = db_prepare(ctx, &st,
			      "INSERT INTO files(path, blob, error, bad_blob, imported_at)"
			      " VALUES(:p, :b, :e, :x, :t) ON CONFLICT(path) DO UPDATE SET"
			      " blob=coalesce(excluded.blob, blob), error=excluded.error,"
			      " bad_blob=excluded.bad_blob,"
			      " imported_at=coalesce(excluded.imported_at, imported_at)")) &&
	    !(rc = db_bind_text(ctx, st, ":p", path)) &&
	    !(rc = db_bind_text(ctx, st, ":b", blob)) &&
	    !(rc = db_bind_text(ctx, st, ":e", error)) &&
	    !(rc = db_bind_text(ctx, st, ":x", bad_blob)) &&
	    !(rc = blob ? db_bind_real(ctx, st, ":t", cs_now()) : db_bind_null(ctx, st, ":t")) &&
	    (rc = db_step(ctx, st)) == SQLITE_DONE)
		rc = CS_OK;
	sqlite3_finalize(st);
	return rc;
}

/* Check and import the text s[0, len) of the file at path (of kind k; for
 * a per-server file, server is its directory).  An error names path.  For a
 * shared file, nt, ot and ot_checked are import_shared's. */
static int import_text(cs_ctx *ctx, const kind *k, const char *path, const char *server,
		       const char *s, size_t len, cs_text *nt, cs_text *ot, int ot_checked)
{
	int rc;
	if (k->top)
		return import_shared(ctx, k, s, len, nt, ot, ot_checked);
	if ((rc = text_check(ctx, path, s, 0, len)))
		return rc;
	return import_server(ctx, k, path, server, s, len);
}

int model_import_buffer(cs_ctx *ctx, const char *path, const char *s, size_t len)
{
	const char *slash = strrchr(path, '/');
	char server[65];
	const kind *k = NULL;
	int rc;

	for (const kind *x = cs_kinds; x->path && !k; x++)
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
		return cs_err(ctx, CS_EINVAL, "'%s' is not a coordination file", path);
	if ((rc = db_exec(ctx, "SAVEPOINT import_file")))
		return rc;
	if ((rc = import_text(ctx, k, path, server, s, len, NULL, NULL, 0))) {
		db_exec(ctx, "ROLLBACK TO import_file");
		db_exec(ctx, "RELEASE import_file");
		return rc;
	}
	return db_exec(ctx, "RELEASE import_file");
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
	cs_text *nt = NULL, *ot = NULL;
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
			rc = file_row(ctx, path, id, NULL, NULL);
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
		rc = cs_err(ctx, CS_ERROR, "'%s' is not a file (%s)", path,
			    git_tree_entry_type(e) == GIT_OBJECT_BLOB ? "a symbolic link"
			    : git_tree_entry_type(e) == GIT_OBJECT_TREE ? "a directory" : "a submodule");
		goto record_bad;
	}
	/* Refused from its header, before anything is read or parsed.  Not
	 * remembered as a bad blob: with a higher limit it may import.  A
	 * shared file's versions are kept for the rest of the sync (the
	 * history walk and the working tree read them too). */
	rc = k->top ? gx_text_get(ctx, &nt, git_tree_entry_id(e), path)
		    : gx_blob_lookup(ctx, &blob, git_tree_entry_id(e), path);
	if (rc == CS_ETOOBIG) {
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
		if (gx_text_get(ctx, &ot, &oldid, path))
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
	    (rc = file_row(ctx, path, id, NULL, NULL)) ||
	    (k->top && (rc = db_meta_set(ctx, key, mark))))
		goto done;
	stats->files_imported++;
	goto done;

record_bad:
	stats->files_failed++;
	if (!firsterr[0])
		snprintf(firsterr, errlen, "%s", ctx->err);
	rc = file_row(ctx, path, NULL, ctx->err, id[0] ? id : NULL);
done:
	free(have);
	free(bad);
	free(checked);
	git_blob_free(blob);
	gx_text_release(ctx, nt);
	gx_text_release(ctx, ot);
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

	for (const kind *k = cs_kinds; k->path && !rc; k++) {
		if (k->top && !strcmp(k->path, path)) {
			snprintf(sql, sizeof sql, "DELETE FROM %s", k->table);
			rc = db_exec(ctx, sql);
		} else if (!k->top && slash && !strcmp(slash + 1, k->path)) {
			char *server = strndup(path, (size_t)(slash - path));
			if (!server)
				return cs_err_oom(ctx);
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

int model_import_tree(cs_ctx *ctx, git_tree *tree, cs_sync_stats *stats, int force)
{
	char firsterr[sizeof ctx->err] = "";
	char path[256];
	sqlite3_stmt *st = NULL;
	long rows = ctx->import_rows;
	int rc = CS_OK;

	/* Shared files. */
	for (const kind *k = cs_kinds; k->path && !rc; k++) {
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
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE || !cs_valid_server_id(name))
			continue;
		for (const kind *k = cs_kinds; k->path && !rc; k++) {
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
				rc = cs_err_oom(ctx);
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
		cs_err(ctx, CS_ERROR, "%s", firsterr);
	return rc;
}

/* ---- export --------------------------------------------------------------- */

typedef struct edit {
	size_t start, end;   /* bytes of the original replaced (start == end: insert) */
	char *text;
} edit;

static int edit_cmp(const void *a, const void *b)
{
	const edit *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Apply edits to s[0, len) into out; frees the edit texts. */
static void apply_edits(sbuf *out, const char *s, size_t len, edit *ed, size_t n)
{
	size_t at = 0;
	qsort(ed, n, sizeof *ed, edit_cmp);
	for (size_t i = 0; i < n; i++) {
		sb_put(out, s + at, ed[i].start - at);
		sb_puts(out, ed[i].text);
		at = ed[i].end;
		free(ed[i].text);
	}
	sb_put(out, s + at, len - at);
}

/* Indentation of the line holding offset off, and whether s has newlines. */
static int line_indent(const char *s, size_t off)
{
	size_t i = off;
	while (i > 0 && s[i - 1] != '\n')
		i--;
	int n = 0;
	while (s[i + (size_t)n] == ' ')
		n++;
	return n;
}

/* Text for column c of st as the JSON value of field f.  Empty when the
 * value is unchanged from cur (the original member, or NULL). */
static int field_text(cs_ctx *ctx, sqlite3_stmt *st, int c, const field *f, const cJSON *cur,
		      int indent, int step, sbuf *b)
{
	int t = sqlite3_column_type(st, c);
	double d;
	char iso[32];

	if (t == SQLITE_NULL) {
		if (cur && !cJSON_IsNull(cur))
			sb_puts(b, "null");
		return CS_OK;
	}
	switch (f->type) {
	case F_TEXT: {
		const char *v = (const char *)sqlite3_column_text(st, c);
		if (!cJSON_IsString(cur) || strcmp(cur->valuestring, v))
			json_put_string(b, v);
		break;
	}
	case F_INT: {
		long long v = sqlite3_column_int64(st, c);
		if (!cJSON_IsNumber(cur) || cur->valuedouble != (double)v)
			sb_printf(b, "%lld", v);
		break;
	}
	case F_BOOL: {
		int v = sqlite3_column_int(st, c) != 0;
		if (!cJSON_IsBool(cur) || cJSON_IsTrue(cur) != v)
			sb_puts(b, v ? "true" : "false");
		break;
	}
	case F_ISO:
	case F_EPOCH: {
		double v = floor(sqlite3_column_double(st, c));
		if (cur && !model_time_value(cur, &d) && floor(d) == v)
			break;
		if (f->type == F_EPOCH) {
			sb_printf(b, "%lld", (long long)v);
		} else {
			cs_time_iso(v, iso);
			json_put_string(b, iso);
		}
		break;
	}
	default: {
		cJSON *v = cJSON_Parse((const char *)sqlite3_column_text(st, c));
		char *a = NULL, *x = NULL;
		if (!v)
			return cs_err(ctx, CS_ERROR, "column '%s' holds invalid JSON", f->col);
		a = cur ? cJSON_PrintUnformatted(cur) : NULL;
		x = cJSON_PrintUnformatted(v);
		if (!x) {
			cJSON_Delete(v);
			return cs_err_oom(ctx);
		}
		if (!a || strcmp(a, x))
			json_put_value(b, v, indent, step);
		cJSON_free(a);
		cJSON_free(x);
		cJSON_Delete(v);
	}
	}
	return b->oom ? cs_err_oom(ctx) : CS_OK;
}

int model_patch(cs_ctx *ctx, const char *orig, const char *const *keys, char *const *vals,
		int n, char **out)
{
	size_t len = strlen(orig), end, err_at;
	jscan sc = {0};
	edit *ed = NULL;
	size_t ned = 0;
	int rc = CS_OK, multiline, indent = 0;
	sbuf ins = {0}, res = {0};

	*out = NULL;
	/* Two edits of one member would overlap: refuse, whoever asked. */
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (!strcmp(keys[i], keys[j]))
				return cs_err(ctx, CS_EINVAL, "a patch cannot set '%s' twice", keys[i]);
	if (json_members(orig, len, 0, '{', &sc, &end, &err_at))
		return cs_err(ctx, CS_ERROR, "internal: record is not an object");
	if (!(ed = calloc((size_t)n + 1, sizeof *ed))) {
		rc = cs_err_oom(ctx);
		goto done;
	}
	multiline = strchr(orig, '\n') != NULL;
	if (sc.n)
		indent = line_indent(orig, sc.m[0].key.start);
	else if (multiline)
		indent = line_indent(orig, len - 1) + 2;
	for (int f = 0; f < n; f++) {
		size_t at;
		for (at = 0; at < sc.n; at++) {
			char *key = json_string_value(orig, sc.m[at].key);
			int match = key && !strcmp(key, keys[f]);
			free(key);
			if (match)
				break;
		}
		if (at < sc.n) {
			ed[ned].start = sc.m[at].val.start;
			ed[ned].end = sc.m[at].val.end;
			ed[ned++].text = strdup(vals[f]);
			continue;
		}
		if (sc.n || ins.n)
			sb_putc(&ins, ',');
		if (multiline) {
			sb_putc(&ins, '\n');
			for (int i = 0; i < indent; i++)
				sb_putc(&ins, ' ');
		} else if (sc.n || ins.n) {
			sb_putc(&ins, ' ');
		}
		json_put_string(&ins, keys[f]);
		sb_puts(&ins, ": ");
		sb_puts(&ins, vals[f]);
	}
	if (ins.n) {
		if (!sc.n && multiline) {
			sb_putc(&ins, '\n');
			for (int i = 0; i < indent - 2; i++)
				sb_putc(&ins, ' ');
		}
		/* After the last member, or everything inside an empty "{ }". */
		ed[ned].start = sc.n ? sc.m[sc.n - 1].val.end : 1;
		ed[ned].end = sc.n ? sc.m[sc.n - 1].val.end : end - 1;
		ed[ned++].text = sb_detach(&ins);
	}
	for (size_t i = 0; i < ned; i++)
		if (!ed[i].text)
			rc = cs_err_oom(ctx);
	apply_edits(&res, orig, len, ed, ned);
	if (!rc && !(*out = sb_detach(&res)))
		rc = cs_err_oom(ctx);
done:
	free(ed);
	sb_free(&ins);
	sb_free(&res);
	jscan_free(&sc);
	return rc;
}

/* The export's invariant: every record text coordsync writes passes the
 * checks its own import makes (json_text_check: UTF-8, control characters,
 * numbers; record_parse: one JSON object, no duplicate member, the key, and
 * each field's type and range, times included).  Every exported record is
 * made by patch_record, which calls this, so no decision can push a record
 * the fleet cannot read: it is refused (CS_EREFUSED) and nothing is pushed.
 * key is the record's key (a lock's name, a server's id). */
static int export_check(cs_ctx *ctx, const kind *k, const char *key, const char *text)
{
	size_t len = strlen(text);
	text_job j = {text, 0, len, 0, 0};
	jspan sp = {0, len};
	row r;
	batch b;
	int rc = CS_OK;

	check_run(&j);
	if (j.bad < len)
		return cs_err(ctx, CS_EREFUSED, "refusing to write %s '%s': its text would not"
			      " import (%s at byte %zu)", k->noun, key ? key : "?",
			      (unsigned char)text[j.bad] < 0x20 ? "a control character" : "an invalid"
			      " number, \\u0000 or UTF-8 sequence", j.bad);
	memset(&b, 0, sizeof b);
	b.rows = &r;
	b.cap = 1;
	if (record_parse(k, text, sp, k->key_json ? NULL : key, 0, &b))
		rc = b.failed == 2 ? cs_err_oom(ctx)
				   : cs_err(ctx, CS_EREFUSED, "refusing to write %s '%s': the fleet's"
					    " importers would refuse it: %s", k->noun, key ? key : "?",
					    b.err);
	sb_free(&b.str);
	return rc;
}

int model_check_record(cs_ctx *ctx, const char *path, const char *key, const char *text)
{
	const char *name = strrchr(path, '/');
	name = name ? name + 1 : path;
	for (const kind *k = cs_kinds; k->path; k++) {
		const char *kn = strrchr(k->path, '/');
		if (!strcmp(kn ? kn + 1 : k->path, name))
			return export_check(ctx, k, key, text);
	}
	return cs_err(ctx, CS_EINVAL, "'%s' is not a coordination file", path);
}

/* The record text orig with k's fields set from columns col0.. of st.
 * Members that did not change keep their bytes; new members go last, in the
 * record's own layout.  *out is malloc'd. */
static int patch_record(cs_ctx *ctx, const kind *k, const char *key, const char *orig,
			sqlite3_stmt *st, int col0, char **out)
{
	size_t len = strlen(orig), err_at;
	const char *keys[16];
	char *vals[16];
	int n = 0, nf = 0, rc = CS_OK, indent = 0;
	cJSON *o = NULL;

	*out = NULL;
	if (!(o = json_parse_span(orig, 0, len, &err_at)) || !cJSON_IsObject(o)) {
		/* A decision made a record no importer reads: the invariant says why. */
		if (!(rc = export_check(ctx, k, key, orig)))
			rc = cs_err(ctx, CS_ERROR, "internal: stored %s record is not an object", k->noun);
		goto done;
	}
	{
		jscan sc = {0};
		size_t end;
		if (!json_members(orig, len, 0, '{', &sc, &end, &err_at) && sc.n)
			indent = line_indent(orig, sc.m[0].key.start);
		jscan_free(&sc);
	}
	for (const field *f = k->fields; f->key; f++, nf++) {
		sbuf v = {0};
		const cJSON *cur = cJSON_GetObjectItemCaseSensitive(o, f->key);
		if ((rc = field_text(ctx, st, col0 + nf, f, cur, indent,
				     strchr(orig, '\n') ? 2 : 0, &v))) {
			sb_free(&v);
			goto done;
		}
		if (!v.n)
			continue;
		keys[n] = f->key;
		if (!(vals[n++] = sb_detach(&v))) {
			rc = cs_err_oom(ctx);
			n--;
			goto done;
		}
	}
	if (n)
		rc = model_patch(ctx, orig, keys, vals, n, out);
	else if (!(*out = strdup(orig)))
		rc = cs_err_oom(ctx);
	if (!rc && (rc = export_check(ctx, k, key, *out))) {
		free(*out);
		*out = NULL;
	}
done:
	for (int i = 0; i < n; i++)
		free(vals[i]);
	cJSON_Delete(o);
	return rc;
}

static const char *template_text(const char *path)
{
	const char *name = strrchr(path, '/');
	name = name ? name + 1 : path;
	for (const cs_embedded *e = cs_embedded_templates; e->name; e++)
		if (!strcmp(e->name, name))
			return e->text;
	return NULL;
}

/* Refuse to write over a file whose newest version did not import. */
static int check_writable(cs_ctx *ctx, const char *path, const git_oid *base_blob)
{
	char *have = NULL, *err = NULL;
	char id[GIT_OID_HEXSZ + 1];
	int rc;
	if ((rc = db_text(ctx, &have, "SELECT blob FROM files WHERE path=:a", path)) ||
	    (rc = db_text(ctx, &err, "SELECT error FROM files WHERE path=:a", path)))
		goto done;
	if (!base_blob)
		goto done;
	git_oid_tostr(id, sizeof id, base_blob);
	if (!have || strcmp(have, id))
		rc = cs_err(ctx, CS_ERROR, "refusing to write '%s': its current version did not import%s%s",
			    path, err ? ": " : "", err ? err : "");
done:
	free(have);
	free(err);
	return rc;
}

static int put_file(cs_ctx *ctx, git_oid *tree, const char *path, const char *data, size_t len)
{
	git_tree *t = NULL;
	git_oid blob;
	char id[GIT_OID_HEXSZ + 1];
	int rc;
	if ((rc = gx_blob_write(ctx, path, data, len, &blob)))
		return rc;
	if (git_tree_lookup(&t, ctx->repo, tree))
		return cs_err_git(ctx, "cannot read tree");
	rc = gx_tree_put(ctx, t, path, &blob, tree);
	git_tree_free(t);
	git_oid_tostr(id, sizeof id, &blob);
	return rc ? rc : file_row(ctx, path, id, NULL, NULL);
}

/* "SELECT key, json, ord, dirty, fields... FROM table WHERE dirty" */
static int prepare_dirty(cs_ctx *ctx, const kind *k, sqlite3_stmt **st)
{
	sbuf b = {0};
	char *sql;
	int rc;
	sb_printf(&b, "SELECT %s, %s, %s, %s", k->key_col, k->json_col, k->top ? "ord" : "0",
		  k->dirty_col);
	for (const field *f = k->fields; f->key; f++)
		sb_printf(&b, ", %s", f->col);
	sb_printf(&b, " FROM %s WHERE %s ORDER BY %s", k->table, k->dirty_col,
		  k->top ? "ord" : k->key_col);
	if (!(sql = sb_detach(&b)))
		return cs_err_oom(ctx);
	rc = db_prepare(ctx, st, sql);
	free(sql);
	return rc;
}

static int store_record(cs_ctx *ctx, const kind *k, const char *key, const char *text, long ord)
{
	sqlite3_stmt *st = NULL;
	char sql[200];
	int rc;
	snprintf(sql, sizeof sql, "UPDATE %s SET %s=:j, %s=0%s WHERE %s=:k", k->table, k->json_col,
		 k->dirty_col, k->top ? ", ord=:o" : "", k->key_col);
	if (!(rc = db_prepare(ctx, &st, sql)) && !(rc = db_bind_text(ctx, st, ":j", text)) &&
	    !(rc = db_bind_text(ctx, st, ":k", key)) &&
	    !(rc = k->top ? db_bind_int(ctx, st, ":o", ord) : CS_OK) &&
	    (rc = db_step(ctx, st)) == SQLITE_DONE)
		rc = CS_OK;
	sqlite3_finalize(st);
	return rc;
}

static int grow_edits(cs_ctx *ctx, edit **ed, size_t *cap, size_t want)
{
	edit *ne;
	if (want <= *cap)
		return CS_OK;
	if (!(ne = realloc(*ed, (*cap ? *cap * 2 : 16) * sizeof *ne)))
		return cs_err_oom(ctx);
	*ed = ne;
	*cap = *cap ? *cap * 2 : 16;
	return CS_OK;
}

/* An edit that appends n records (texts; keys too for an object) after the
 * last record of the container at top, in the file's own layout: after the
 * last one, or filling an empty "[ ]". */
static int append_edit(cs_ctx *ctx, const kind *k, const char *s, size_t len, jspan top,
		       const jscan *sc, char *const *keys, char *const *texts, size_t n, edit *out)
{
	int multiline = memchr(s, '\n', len) != NULL, ind;
	sbuf app = {0};

	if (sc->n)
		ind = line_indent(s, k->container == '{' ? sc->m[0].key.start : sc->m[0].val.start);
	else
		ind = line_indent(s, top.start) + 2;
	for (size_t i = 0; i < n; i++) {
		if (sc->n || i)
			sb_puts(&app, multiline ? "," : ", ");
		if (multiline) {
			sb_putc(&app, '\n');
			for (int x = 0; x < ind; x++)
				sb_putc(&app, ' ');
		}
		if (k->container == '{') {
			json_put_string(&app, keys[i]);
			sb_puts(&app, ": ");
		}
		sb_puts(&app, texts[i]);
	}
	if (!sc->n && multiline) {
		sb_putc(&app, '\n');
		for (int x = 0; x < line_indent(s, top.start); x++)
			sb_putc(&app, ' ');
	}
	out->start = sc->n ? sc->m[sc->n - 1].val.end : top.start + 1;
	out->end = sc->n ? sc->m[sc->n - 1].val.end : top.end - 1;
	if (!(out->text = sb_detach(&app)))
		return cs_err_oom(ctx);
	return CS_OK;
}

int model_append(cs_ctx *ctx, const char *path, const char *s, size_t len,
		 char *const *texts, size_t n, char **out)
{
	const kind *k = NULL;
	const char *name = strrchr(path, '/');
	kind tmp;
	jscan sc = {0};
	jspan top;
	edit ed = {0, 0, NULL};
	sbuf res = {0};
	int rc;

	name = name ? name + 1 : path;
	for (const kind *x = cs_kinds; x->path; x++)
		if (x->top && !strcmp(strrchr(x->path, '/') + 1, name))
			k = x;
	if (!k || k->container != '[')
		return cs_err(ctx, CS_ERROR, "internal: cannot append to '%s'", path);
	tmp = *k;
	tmp.path = path;       /* for messages */
	if (!s) {
		s = template_text(k->path);
		len = strlen(s);
	}
	if (!(rc = scan_file(ctx, &tmp, s, len, &top, &sc)) &&
	    !(rc = append_edit(ctx, &tmp, s, len, top, &sc, NULL, texts, n, &ed))) {
		apply_edits(&res, s, len, &ed, 1);
		if (!(*out = sb_detach(&res)))
			rc = cs_err_oom(ctx);
	}
	jscan_free(&sc);
	return rc;
}

static int long_cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

/* Edits that take records rm (ords) out of their container, with their
 * separators: a run of removed records goes with the comma before it, or
 * the one after it when it starts the list; removing all leaves "[]". */
static int remove_records(cs_ctx *ctx, const kind *k, const jscan *sc, jspan top, long *rm,
			  size_t nrm, edit **ed, size_t *ned, size_t *cap)
{
	int rc;
	qsort(rm, nrm, sizeof *rm, long_cmp);
	if ((size_t)rm[nrm - 1] >= sc->n)
		return cs_err(ctx, CS_ERROR, "mirror is out of step with '%s'; run 'coordsync rebuild'",
			      k->path);
	for (size_t r = 0; r < nrm;) {
		size_t i = (size_t)rm[r], j = i;
		while (r + 1 < nrm && (size_t)rm[r + 1] == j + 1)
			j = (size_t)rm[++r];
		r++;
		if ((rc = grow_edits(ctx, ed, cap, *ned + 1)))
			return rc;
		if (i > 0) {
			(*ed)[*ned].start = sc->m[i - 1].val.end;
			(*ed)[*ned].end = sc->m[j].val.end;
		} else if (j + 1 < sc->n) {
			(*ed)[*ned].start = k->container == '{' ? sc->m[i].key.start : sc->m[i].val.start;
			(*ed)[*ned].end = k->container == '{' ? sc->m[j + 1].key.start
							      : sc->m[j + 1].val.start;
		} else {
			(*ed)[*ned].start = top.start + 1;
			(*ed)[*ned].end = top.end - 1;
		}
		if (!((*ed)[(*ned)++].text = strdup("")))
			return cs_err_oom(ctx);
	}
	return CS_OK;
}

/* After records were taken out: drop their rows and close the gaps in ord. */
static int renumber(cs_ctx *ctx, const kind *k)
{
	char sql[512];
	snprintf(sql, sizeof sql,
		 "CREATE TEMP TABLE gone(ord INTEGER PRIMARY KEY);"
		 "INSERT INTO gone SELECT ord FROM %s WHERE %s=%d AND ord >= 0;"
		 "DELETE FROM %s WHERE %s=%d;"
		 "UPDATE %s SET ord = ord - (SELECT count(*) FROM gone WHERE gone.ord < %s.ord);"
		 "DROP TABLE gone;",
		 k->table, k->dirty_col, DIRTY_REMOVE, k->table, k->dirty_col, DIRTY_REMOVE, k->table,
		 k->table);
	return db_exec(ctx, sql);
}

/* Export the dirty records of shared kind k on top of *tree. */
static int export_shared(cs_ctx *ctx, const kind *k, git_tree *base, git_oid *tree, int *changed)
{
	sqlite3_stmt *st = NULL;
	git_tree_entry *e = NULL;
	cs_text *bt = NULL;
	const char *s;
	size_t len;
	jspan top;
	jscan sc = {0};
	const jscan *scp = &sc;
	edit *ed = NULL;
	size_t ned = 0, cap = 0, nnew = 0, nrm = 0;
	long *rm = NULL;
	char **newk = NULL, **newt = NULL;
	sbuf out = {0};
	int rc;

	if ((rc = prepare_dirty(ctx, k, &st)))
		return rc;
	if ((rc = db_step(ctx, st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? CS_OK : rc;
	}
	/* The base is the version this decision's import just read (and
	 * listed): it is at hand. */
	if (!git_tree_entry_bypath(&e, base, k->path)) {
		if ((rc = gx_text_get(ctx, &bt, git_tree_entry_id(e), k->path))) {
			rc = rc == CS_ETOOBIG ? CS_ERROR : rc;
			goto done;
		}
		s = bt->p;
		len = bt->n;
	} else {
		s = template_text(k->path);
		len = strlen(s);
	}
	if ((rc = check_writable(ctx, k->path, e ? git_tree_entry_id(e) : NULL)))
		goto done;
	if (bt && bt->scan == TEXT_STRICT) {
		scp = &bt->sc;
		top = bt->top;
	} else if ((rc = scan_file(ctx, k, s, len, &top, &sc))) {
		goto done;
	}
	do {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const char *orig = (const char *)sqlite3_column_text(st, 1);
		long ord = (long)sqlite3_column_int64(st, 2);
		int is_new = ord < 0;
		char *text = NULL;
		if (sqlite3_column_int(st, 3) == DIRTY_REMOVE) {
			long *n = realloc(rm, (nrm + 1) * sizeof *n);
			if (!n) {
				rc = cs_err_oom(ctx);
				goto done;
			}
			rm = n;
			if (!is_new)
				rm[nrm++] = ord;
			continue;
		}
		if ((rc = patch_record(ctx, k, key, orig, st, 4, &text)))
			goto done;
		if (is_new)
			ord = (long)(scp->n + nnew);
		if ((rc = grow_edits(ctx, &ed, &cap, ned + 1)) ||
		    (rc = store_record(ctx, k, key, text, ord))) {
			free(text);
			goto done;
		}
		if (!is_new) {
			if ((size_t)ord >= scp->n || scp->m[ord].val.end - scp->m[ord].val.start != strlen(orig) ||
			    memcmp(s + scp->m[ord].val.start, orig, strlen(orig))) {
				free(text);
				rc = cs_err(ctx, CS_ERROR,
					    "mirror is out of step with '%s'; run 'coordsync rebuild'", k->path);
				goto done;
			}
			ed[ned].start = scp->m[ord].val.start;
			ed[ned].end = scp->m[ord].val.end;
			ed[ned++].text = text;
			continue;
		}
		/* A new record goes after the last one. */
		{
			char **a = realloc(newk, (nnew + 1) * sizeof *a), **b;
			if (a)
				newk = a;
			b = a ? realloc(newt, (nnew + 1) * sizeof *b) : NULL;
			if (b)
				newt = b;
			if (!a || !b || !(newk[nnew] = strdup(key))) {
				free(text);
				rc = cs_err_oom(ctx);
				goto done;
			}
			newt[nnew++] = text;
		}
	} while ((rc = db_step(ctx, st)) == SQLITE_ROW);
	if (rc != SQLITE_DONE)
		goto done;
	if (nrm && (rc = remove_records(ctx, k, scp, top, rm, nrm, &ed, &ned, &cap)))
		goto done;
	if (nnew) {
		if ((rc = grow_edits(ctx, &ed, &cap, ned + 1)) ||
		    (rc = append_edit(ctx, k, s, len, top, scp, newk, newt, nnew, &ed[ned])))
			goto done;
		ned++;
	}
	apply_edits(&out, s, len, ed, ned);
	ned = 0;
	if (out.oom) {
		rc = cs_err_oom(ctx);
		goto done;
	}
	rc = put_file(ctx, tree, k->path, out.p, out.n);
	*changed += 1;
	if (!rc && nrm)
		rc = renumber(ctx, k);
done:
	for (size_t i = 0; i < ned; i++)
		free(ed[i].text);
	free(ed);
	free(rm);
	for (size_t i = 0; i < nnew; i++) {
		free(newk[i]);
		free(newt[i]);
	}
	free(newk);
	free(newt);
	sb_free(&out);
	jscan_free(&sc);
	gx_text_release(ctx, bt);
	git_tree_entry_free(e);
	sqlite3_finalize(st);
	return rc;
}

/* Export dirty status.json or heartbeat.json records: each is a whole file
 * owned by one server, so the last write wins. */
static int export_server(cs_ctx *ctx, const kind *k, git_tree *base, git_oid *tree, int *changed)
{
	sqlite3_stmt *st = NULL;
	int rc;
	char path[128];

	if ((rc = prepare_dirty(ctx, k, &st)))
		return rc;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *orig = (const char *)sqlite3_column_text(st, 1);
		git_tree_entry *e = NULL;
		char *text = NULL;
		sbuf file = {0};
		if (!cs_valid_id(id) || !orig) {
			rc = cs_err(ctx, CS_EINVAL, "invalid server id '%s'", id);
			break;
		}
		snprintf(path, sizeof path, "%s/%s", id, k->path);
		git_tree_entry_bypath(&e, base, path);
		rc = check_writable(ctx, path, e ? git_tree_entry_id(e) : NULL);
		git_tree_entry_free(e);
		if (rc || (rc = patch_record(ctx, k, id, orig, st, 4, &text)))
			break;
		sb_puts(&file, text);
		sb_putc(&file, '\n');
		if (file.oom)
			rc = cs_err_oom(ctx);
		if (!rc && !(rc = store_record(ctx, k, id, text, 0)))
			rc = put_file(ctx, tree, path, file.p, file.n);
		free(text);
		sb_free(&file);
		if (rc)
			break;
		*changed += 1;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CS_OK : rc;
}

int model_export(cs_ctx *ctx, git_tree *base, git_oid *out_tree, int *changed)
{
	int rc = CS_OK;
	git_oid_cpy(out_tree, git_tree_id(base));
	*changed = 0;
	for (const kind *k = cs_kinds; k->path && !rc; k++)
		rc = k->top ? export_shared(ctx, k, base, out_tree, changed)
			    : export_server(ctx, k, base, out_tree, changed);
	return rc;
}
