/* Export: writing dirty rows back into the coordination files' text,
 * changing only the bytes of records that changed, and the record-level
 * helpers of the decisions (patch, check, add, append). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "util.h"
#include "json.h"
#include "json_int.h"
#include "embedded.h"
#include "db.h"
#include "tree.h"
#include "texts.h"
#include "kinds.h"
#include "export.h"

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
		if (cur && !kinds_time_value(cur, &d) && floor(d) == v)
			break;
		if (f->type == F_EPOCH) {
			sb_printf(b, "%lld", (long long)v);
		} else {
			util_time_iso(v, iso);
			json_put_string(b, iso);
		}
		break;
	}
	default: {
		cJSON *v = cJSON_Parse((const char *)sqlite3_column_text(st, c));
		char *a = NULL, *x = NULL;
		if (!v)
			return ctx_err(ctx, CS_ERROR, "column '%s' holds invalid JSON", f->col);
		a = cur ? cJSON_PrintUnformatted(cur) : NULL;
		x = cJSON_PrintUnformatted(v);
		if (!x) {
			cJSON_Delete(v);
			return ctx_err_oom(ctx);
		}
		if (!a || strcmp(a, x))
			json_put_value(b, v, indent, step);
		cJSON_free(a);
		cJSON_free(x);
		cJSON_Delete(v);
	}
	}
	return b->oom ? ctx_err_oom(ctx) : CS_OK;
}

int export_patch(cs_ctx *ctx, const char *orig, const char *const *keys, char *const *vals,
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
				return ctx_err(ctx, CS_EINVAL, "a patch cannot set '%s' twice", keys[i]);
	if (json_members(orig, len, 0, '{', &sc, &end, &err_at))
		return ctx_err(ctx, CS_ERROR, "internal: record is not an object");
	if (!(ed = calloc((size_t)n + 1, sizeof *ed))) {
		rc = ctx_err_oom(ctx);
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
			rc = ctx_err_oom(ctx);
	apply_edits(&res, orig, len, ed, ned);
	if (!rc && !(*out = sb_detach(&res)))
		rc = ctx_err_oom(ctx);
done:
	free(ed);
	sb_free(&ins);
	sb_free(&res);
	jscan_free(&sc);
	return rc;
}

/* The export's invariant: every record text coordsync writes passes the
 * checks its own import makes (json_text_check: UTF-8, control characters,
 * numbers; kinds_record_parse: one JSON object, no duplicate member, the key, and
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

	kinds_check_run(&j);
	if (j.bad < len)
		return ctx_err(ctx, CS_EREFUSED, "refusing to write %s '%s': its text would not"
			      " import (%s at byte %zu)", k->noun, key ? key : "?",
			      (unsigned char)text[j.bad] < 0x20 ? "a control character" : "an invalid"
			      " number, \\u escape or UTF-8 sequence", j.bad);
	memset(&b, 0, sizeof b);
	b.rows = &r;
	b.cap = 1;
	if (kinds_record_parse(k, text, sp, k->key_json ? NULL : key, 0, &b))
		rc = b.failed == 2 ? ctx_err_oom(ctx)
				   : ctx_err(ctx, CS_EREFUSED, "refusing to write %s '%s': the fleet's"
					    " importers would refuse it: %s", k->noun, key ? key : "?",
					    b.err);
	sb_free(&b.str);
	return rc;
}

int export_check_record(cs_ctx *ctx, const char *path, const char *key, const char *text)
{
	const char *name = strrchr(path, '/');
	name = name ? name + 1 : path;
	for (const kind *k = kinds_table; k->path; k++) {
		const char *kn = strrchr(k->path, '/');
		if (!strcmp(kn ? kn + 1 : k->path, name))
			return export_check(ctx, k, key, text);
	}
	return ctx_err(ctx, CS_EINVAL, "'%s' is not a coordination file", path);
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
			rc = ctx_err(ctx, CS_ERROR, "internal: stored %s record is not an object", k->noun);
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
			rc = ctx_err_oom(ctx);
			n--;
			goto done;
		}
	}
	if (n)
		rc = export_patch(ctx, orig, keys, vals, n, out);
	else if (!(*out = strdup(orig)))
		rc = ctx_err_oom(ctx);
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
	for (const embedded_file *e = embedded_templates; e->name; e++)
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
		rc = ctx_err(ctx, CS_ERROR, "refusing to write '%s': its current version did not import%s%s",
			    path, err ? ": " : "", err ? err : "");
done:
	free(have);
	free(err);
	return rc;
}

/* The file edits an export hands back, one per file it wrote. */
typedef struct file_edits {
	tree_edit *e;
	size_t n;
} file_edits;

/* Write data as the new blob of path, recorded in the files table, and add
 * the edit that puts it in the tree to fe. */
static int put_file(cs_ctx *ctx, file_edits *fe, const char *path, const char *data, size_t len)
{
	git_oid blob;
	char id[GIT_OID_HEXSZ + 1];
	int rc;
	if ((rc = texts_blob_write(ctx, path, data, len, &blob)) ||
	    (rc = tree_edit_add(ctx, &fe->e, &fe->n, path, &blob)))
		return rc;
	git_oid_tostr(id, sizeof id, &blob);
	return kinds_file_row(ctx, path, id, NULL, NULL);
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
	/* checksrc: allow sql-format: the table and columns are the kind table's */
	sb_printf(&b, " FROM %s WHERE %s ORDER BY %s", k->table, k->dirty_col,
		  k->top ? "ord" : k->key_col);
	if (!(sql = sb_detach(&b)))
		return ctx_err_oom(ctx);
	rc = db_prepare(ctx, st, sql);
	free(sql);
	return rc;
}

static int store_record(cs_ctx *ctx, const kind *k, const char *key, const char *text, long ord)
{
	sqlite3_stmt *st = NULL;
	char sql[200];
	int rc;
	/* checksrc: allow sql-format: the table and columns are the kind table's */
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
		return ctx_err_oom(ctx);
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
		return ctx_err_oom(ctx);
	return CS_OK;
}

int export_add(cs_ctx *ctx, const char *table, const char *name, const char *text)
{
	const kind *k = NULL;
	sqlite3_stmt *st = NULL;
	jspan sp = {0, strlen(text)};
	char sql[128];
	int rc;

	for (const kind *x = kinds_table; x->path; x++)
		if (x->top && !strcmp(x->table, table))
			k = x;
	if (!k)
		return ctx_err(ctx, CS_ERROR, "internal: no table '%s'", table);
	if ((rc = kinds_prepare_insert(ctx, k, &st)) ||
	    (rc = kinds_import_record(ctx, k, k->path, st, text, sp, name, -1)))
		goto done;
	/* checksrc: allow sql-format: the kind table's */
	snprintf(sql, sizeof sql, "UPDATE %s SET dirty=1 WHERE rowid=last_insert_rowid()", k->table);
	rc = db_exec(ctx, sql);
done:
	sqlite3_finalize(st);
	return rc;
}

int export_append(cs_ctx *ctx, const char *path, const char *s, size_t len,
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
	for (const kind *x = kinds_table; x->path; x++)
		if (x->top && !strcmp(strrchr(x->path, '/') + 1, name))
			k = x;
	if (!k || k->container != '[')
		return ctx_err(ctx, CS_ERROR, "internal: cannot append to '%s'", path);
	tmp = *k;
	tmp.path = path;       /* for messages */
	if (!s) {
		s = template_text(k->path);
		len = strlen(s);
	}
	if (!(rc = kinds_scan_file(ctx, &tmp, s, len, &top, &sc)) &&
	    !(rc = append_edit(ctx, &tmp, s, len, top, &sc, NULL, texts, n, &ed))) {
		apply_edits(&res, s, len, &ed, 1);
		if (!(*out = sb_detach(&res)))
			rc = ctx_err_oom(ctx);
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
		return ctx_err(ctx, CS_ERROR, "mirror is out of step with '%s'; run 'coordsync rebuild'",
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
			return ctx_err_oom(ctx);
	}
	return CS_OK;
}

/* After records were taken out: drop their rows and close the gaps in ord. */
static int renumber(cs_ctx *ctx, const kind *k)
{
	char sql[512];
	/* checksrc: allow sql-format: the kind table's names and the constant DIRTY_REMOVE */
	snprintf(sql, sizeof sql, "CREATE TEMP TABLE gone(ord INTEGER PRIMARY KEY);"
		 "INSERT INTO gone SELECT ord FROM %s WHERE %s=%d AND ord >= 0;"
		 "DELETE FROM %s WHERE %s=%d;"
		 "UPDATE %s SET ord = ord - (SELECT count(*) FROM gone WHERE gone.ord < %s.ord);"
		 "DROP TABLE gone;",
		 k->table, k->dirty_col, DIRTY_REMOVE, k->table, k->dirty_col, DIRTY_REMOVE, k->table,
		 k->table);
	return db_exec(ctx, sql);
}

/* Export the dirty records of shared kind k, read from base, into fe. */
static int export_shared(cs_ctx *ctx, const kind *k, git_tree *base, file_edits *fe)
{
	sqlite3_stmt *st = NULL;
	git_tree_entry *e = NULL;
	texts_version *bt = NULL;
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
		if ((rc = texts_get(ctx, &bt, git_tree_entry_id(e), k->path))) {
			rc = rc == CTX_ETOOBIG ? CS_ERROR : rc;
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
	} else if ((rc = kinds_scan_file(ctx, k, s, len, &top, &sc))) {
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
				rc = ctx_err_oom(ctx);
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
				rc = ctx_err(ctx, CS_ERROR,
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
				rc = ctx_err_oom(ctx);
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
		rc = ctx_err_oom(ctx);
		goto done;
	}
	rc = put_file(ctx, fe, k->path, out.p, out.n);
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
	texts_release(ctx, bt);
	git_tree_entry_free(e);
	sqlite3_finalize(st);
	return rc;
}

/* Export dirty status.json or heartbeat.json records: each is a whole file
 * owned by one server, so the last write wins. */
static int export_server(cs_ctx *ctx, const kind *k, git_tree *base, file_edits *fe)
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
			rc = ctx_err(ctx, CS_EINVAL, "invalid server id '%s'", id);
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
			rc = ctx_err_oom(ctx);
		if (!rc && !(rc = store_record(ctx, k, id, text, 0)))
			rc = put_file(ctx, fe, path, file.p, file.n);
		free(text);
		sb_free(&file);
		if (rc)
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CS_OK : rc;
}

int export_edits(cs_ctx *ctx, git_tree *base, tree_edit **out, size_t *n)
{
	file_edits fe = {NULL, 0};
	int rc = CS_OK;
	*out = NULL;
	*n = 0;
	for (const kind *k = kinds_table; k->path && !rc; k++)
		rc = k->top ? export_shared(ctx, k, base, &fe) : export_server(ctx, k, base, &fe);
	if (rc) {
		tree_edits_free(fe.e, fe.n);
		return rc;
	}
	*out = fe.e;
	*n = fe.n;
	return CS_OK;
}
