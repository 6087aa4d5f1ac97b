/* The record kinds: how coordination files map to mirror tables (the schema
 * as data), and a record's values: reading a record's JSON text into the
 * typed values of its row, with the checks that import and export share. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "util.h"
#include "json.h"
#include "json_int.h"
#include "db.h"
#include "kinds.h"

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

const kind kinds_table[] = {
	{"coordination/jobs.json", "jobs", '[', "jobs", "id", "id", "json", "dirty", "job", job_fields},
	{"coordination/locks.json", "locks", '{', "locks", "name", NULL, "json", "dirty", "lock", lock_fields},
	{"coordination/messages.json", "messages", '[', "messages", "id", "id", "json", "dirty", "message", msg_fields},
	{"status.json", NULL, 0, "servers", "id", NULL, "status_json", "status_dirty", "status", status_fields},
	{"heartbeat.json", NULL, 0, "servers", "id", NULL, "heartbeat_json", "heartbeat_dirty", "heartbeat", heartbeat_fields},
	{NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL}};

int kinds_server_dir(const git_tree_entry *e)
{
	return git_tree_entry_type(e) == GIT_OBJECT_TREE && cs_valid_server_id(git_tree_entry_name(e));
}

/* ---- parsing ------------------------------------------------------------- */

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
int kinds_file_err(cs_ctx *ctx, const char *path, const char *s, size_t off,
		   const char *fmt, ...)
{
	char what[512];
	int line, col;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	json_linecol(s, off, &line, &col);
	return ctx_err(ctx, CS_ERROR, "%s:%d:%d: %s", path, line, col, what);
}

int kinds_time_value(const cJSON *v, double *out)
{
	if (cJSON_IsNumber(v)) {
		*out = v->valuedouble;
		return *out >= UTIL_TIME_MIN && *out <= UTIL_TIME_MAX ? 0 : -1;
	}
	if (cJSON_IsString(v))
		return util_time_parse(v->valuestring, out);
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
/* A record is imported in two steps: kinds_record_parse reads its text into the
 * values the INSERT binds (cJSON and every check of the record), and
 * kinds_row_insert binds and steps them.  The first touches neither the handle nor
 * SQLite, so a large import can parse on a second thread while this one
 * inserts (insert_records). */

_Static_assert(sizeof job_fields / sizeof *job_fields <= ROW_VALUES, "job_fields");
_Static_assert(sizeof msg_fields / sizeof *msg_fields <= ROW_VALUES, "msg_fields");
_Static_assert(sizeof lock_fields / sizeof *lock_fields <= ROW_VALUES, "lock_fields");

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

int kinds_batch_oom(batch *b)
{
	b->failed = 2;
	return -1;
}

void kinds_batch_clear(batch *b)
{
	if (b->str.oom)
		sb_free(&b->str);
	b->str.n = 0;
	b->n = 0;
	b->failed = 0;
}

/* The error that stopped b's parse, on ctx, as kinds_import_record reports it. */
int kinds_batch_err(cs_ctx *ctx, const char *path, const char *s, const batch *b)
{
	return b->failed == 2 ? ctx_err_oom(ctx) : kinds_file_err(ctx, path, s, b->err_at, "%s", b->err);
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
		if (kinds_time_value(x, &v->d))
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
int kinds_prepare_insert(cs_ctx *ctx, const kind *k, sqlite3_stmt **st)
{
	sbuf b = {0};
	int n = 0, rc;
	char *sql;
	/* checksrc: allow sql-format: the table and columns are the kind table's */
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
		return ctx_err_oom(ctx);
	rc = db_prepare(ctx, st, sql);
	free(sql);
	return rc;
}

/* Parse the record whose text is s[sp.start, sp.end) into row b->n of b
 * (b->n < b->cap), to be inserted at position ord.  keytext is the record's
 * key when it comes from an object member (locks) or a directory (servers);
 * otherwise it is read from the record's key_json field.  Returns 0, or -1
 * with b->failed set.  Uses no handle: safe on any one thread at a time. */
int kinds_record_parse(const kind *k, const char *s, jspan sp, const char *keytext, long ord,
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
			kinds_batch_oom(b);
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
		kinds_batch_oom(b);
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
			kinds_batch_oom(b);
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
int kinds_row_insert(cs_ctx *ctx, const kind *k, const char *path, sqlite3_stmt *st,
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
		return ctx_err_db(ctx, ctx->db);
	}
	rc = sqlite3_step(st);
	sqlite3_clear_bindings(st);   /* nothing may point into b once it is reused */
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		return kinds_file_err(ctx, path, s, r->sp.start, "duplicate %s '%.*s'", k->noun,
				(int)r->v[0].len, b->str.p + r->v[0].off);
	return rc == SQLITE_DONE ? CS_OK : ctx_err_db(ctx, ctx->db);
}

/* Insert one record whose text is s[sp.start, sp.end); keytext as for
 * kinds_record_parse. */
int kinds_import_record(cs_ctx *ctx, const kind *k, const char *path, sqlite3_stmt *st,
			const char *s, jspan sp, const char *keytext, long ord)
{
	row r;
	batch b;
	int rc;

	memset(&b, 0, sizeof b);
	b.rows = &r;
	b.cap = 1;
	rc = kinds_record_parse(k, s, sp, keytext, ord, &b) ? kinds_batch_err(ctx, path, s, &b)
						       : kinds_row_insert(ctx, k, path, st, s, &b, &r);
	sb_free(&b.str);
	return rc;
}

/* Scan a shared file: the top level must be an object holding member k->top,
 * whose records are listed into *sc (one pass over the bytes).  Every other
 * member's value is parsed too, so that a broken file is never taken as
 * good.  *top is the span of k->top's value. */
int kinds_scan_file(cs_ctx *ctx, const kind *k, const char *s, size_t len, jspan *top,
		    jscan *sc)
{
	size_t i = json_skip_ws(s, len, 0), end, err_at = 0;
	int found = 0;

	if (i >= len || s[i] != '{')
		return kinds_file_err(ctx, k->path, s, i, "the top level must be an object");
	i = json_skip_ws(s, len, i + 1);
	if (i < len && s[i] == '}')
		return kinds_file_err(ctx, k->path, s, i, "missing member '%s'", k->top);
	for (;;) {
		jspan key;
		char *name;
		int match;
		if (i >= len || s[i] != '"')
			return kinds_file_err(ctx, k->path, s, i, "invalid JSON");
		key.start = i;
		if (!(key.end = json_skip_value(s, len, i, &err_at)))
			return kinds_file_err(ctx, k->path, s, err_at, "invalid JSON");
		i = json_skip_ws(s, len, key.end);
		if (i >= len || s[i] != ':')
			return kinds_file_err(ctx, k->path, s, i, "invalid JSON");
		i = json_skip_ws(s, len, i + 1);
		if (!(name = json_string_value(s, key)))
			return ctx_err_oom(ctx);
		match = !strcmp(name, k->top);
		free(name);
		if (match && !found) {
			if (json_members(s, len, i, k->container, sc, &end, &err_at)) {
				if (err_at == (size_t)-1)
					return ctx_err_oom(ctx);
				if (err_at == i)
					return kinds_file_err(ctx, k->path, s, i, "'%s' must be %s", k->top,
							k->container == '[' ? "an array" : "an object");
				return kinds_file_err(ctx, k->path, s, err_at, "invalid JSON");
			}
			top->start = i;
			top->end = end;
			found = 1;
		} else {
			cJSON *v;
			if (!(end = json_skip_value(s, len, i, &err_at)))
				return kinds_file_err(ctx, k->path, s, err_at, "invalid JSON");
			if (!(v = json_parse_span(s, i, end, &err_at)))
				return kinds_file_err(ctx, k->path, s, err_at, "invalid JSON");
			cJSON_Delete(v);
			if (match)
				return kinds_file_err(ctx, k->path, s, key.start, "duplicate member '%s'", k->top);
		}
		i = json_skip_ws(s, len, end);
		if (i < len && s[i] == ',') {
			i = json_skip_ws(s, len, i + 1);
			continue;
		}
		if (i < len && s[i] == '}')
			break;
		return kinds_file_err(ctx, k->path, s, i, "invalid JSON");
	}
	i = json_skip_ws(s, len, i + 1);
	if (i < len)
		return kinds_file_err(ctx, k->path, s, i, "trailing text after the JSON value");
	if (!found)
		return kinds_file_err(ctx, k->path, s, 0, "missing member '%s'", k->top);
	return CS_OK;
}

/* The import's text check (kinds.h). */
void *kinds_check_run(void *arg)
{
	text_job *j = arg;
	j->nul = memchr(j->s + j->from, 0, j->to - j->from) != NULL;
	j->bad = j->nul ? j->to : j->from + json_text_check(j->s + j->from, j->to - j->from);
	return NULL;
}

int kinds_text_verdict(cs_ctx *ctx, const char *path, const text_job *j)
{
	const char *s = j->s;
	size_t bad = j->bad;
	if (j->nul)
		return ctx_err(ctx, CS_ERROR, "%s: contains a NUL byte", path);
	if (bad < j->to)
		return kinds_file_err(ctx, path, s, bad, (unsigned char)s[bad] < 0x20 ? "control character"
				: s[bad] == '\\' && !memcmp(s + bad + 2, "0000", 4)
				? "a NUL character (\\u0000) in a string"
				: s[bad] == '\\' ? "an invalid \\u escape (four hex digits)"
				: s[bad] == '0' || s[bad] == '.' ? "invalid number"
				: "invalid UTF-8");
	return CS_OK;
}

int kinds_text_check(cs_ctx *ctx, const char *path, const char *s, size_t from, size_t to)
{
	text_job j = {s, from, to, 0, 0};
	kinds_check_run(&j);
	return kinds_text_verdict(ctx, path, &j);
}

/* ---- files ----------------------------------------------------------------- */

int kinds_file_row(cs_ctx *ctx, const char *path, const char *blob, const char *error,
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
	    !(rc = blob ? db_bind_real(ctx, st, ":t", util_now()) : db_bind_null(ctx, st, ":t")) &&
	    (rc = db_step(ctx, st)) == SQLITE_DONE)
		rc = CS_OK;
	sqlite3_finalize(st);
	return rc;
}
