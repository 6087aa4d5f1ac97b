/* Reading the mirror: ad-hoc SQL on a separate read-only connection, and
 * coordsync's own fixed statements, both handed back as a row cursor. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "ctx.h"
#include "util.h"
#include "embedded.h"
#include "db.h"
#include "config.h"
#include "query_int.h"

struct cs_rows {
	cs_ctx *ctx;
	sqlite3 *own;         /* the read-only connection, when we opened one */
	sqlite3_stmt *st;
	double deadline;      /* CLOCK_MONOTONIC seconds */
};


static int progress(void *p)
{
	return util_mono() > ((cs_rows *)p)->deadline;
}

/* Reads only.  PRAGMAs are allowed from a short list of ones that only
 * report (their argument is a table or index name); everything that writes,
 * attaches or changes state is not. */
static int authorize(void *p, int action, const char *a, const char *b, const char *c,
		     const char *d)
{
	static const char *const pragmas[] = {"table_info", "table_xinfo", "index_list",
					      "index_info", "table_list", "foreign_key_list",
					      NULL};
	/* Functions that reach outside the mirror: a shared library, or a
	 * pointer into this process (fts3_tokenizer).  The sqlite3 shell's
	 * readfile, writefile and edit do not exist here; they are listed in
	 * case a build of SQLite ever brings them. */
	static const char *const functions[] = {"load_extension", "fts3_tokenizer", "readfile",
						"writefile", "edit", NULL};
	(void)p, (void)c, (void)d;
	switch (action) {
	case SQLITE_FUNCTION:
		for (int i = 0; functions[i]; i++)
			if (b && !strcasecmp(b, functions[i]))
				return SQLITE_DENY;
		return SQLITE_OK;
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_UPDATE:
		/* SQLite asks this while it sets up a table-valued PRAGMA function
		 * such as pragma_table_info().  Nothing can write here anyway: the
		 * connection is read-only and the statement must be read-only. */
		return a && !strcmp(a, "sqlite_master") ? SQLITE_OK : SQLITE_DENY;
	case SQLITE_PRAGMA:
		for (int i = 0; pragmas[i]; i++)
			if (a && !strcmp(a, pragmas[i]))
				return SQLITE_OK;
		return SQLITE_DENY;
	default:
		return SQLITE_DENY;
	}
}

static int only_space(const char *s)
{
	/* Whitespace and comments only. */
	while (*s) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == ';') {
			s++;
		} else if (s[0] == '-' && s[1] == '-') {
			while (*s && *s != '\n')
				s++;
		} else if (s[0] == '/' && s[1] == '*') {
			const char *e = strstr(s + 2, "*/");
			if (!e)
				return 1;
			s = e + 2;
		} else {
			return 0;
		}
	}
	return 1;
}

/* ---- the read-only connection (also used by report.c) ------------------ */

int query_open(cs_ctx *ctx, cs_rows **out)
{
	cs_rows *r = calloc(1, sizeof *r);
	int rc;

	*out = NULL;
	if (!r)
		return ctx_err_oom(ctx);
	r->ctx = ctx;
	if (sqlite3_open_v2(ctx->dbpath, &r->own, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = ctx_err_db(ctx, r->own);
		cs_rows_free(r);
		return rc;
	}
	sqlite3_busy_timeout(r->own, 5000);
	/* Bounds for SQL that is not ours: no value longer than the largest
	 * file the mirror holds (a doubling CTE or randomblob(1e9) stops at
	 * once, not at SQLite's 1 GB), nothing attached. */
	sqlite3_limit(r->own, SQLITE_LIMIT_LENGTH,
		      ctx->max_file > 0 && ctx->max_file < 0x7fffffff ? (int)ctx->max_file : 0x7fffffff);
	sqlite3_limit(r->own, SQLITE_LIMIT_ATTACHED, 0);
	r->deadline = util_mono() + ctx->query_seconds;
	sqlite3_progress_handler(r->own, 1000, progress, r);
	*out = r;
	return CS_OK;
}

sqlite3 *query_db(cs_rows *r) { return r->own; }
sqlite3_stmt *query_stmt(cs_rows *r) { return r->st; }

void query_lock_down(cs_rows *r, int on)
{
	sqlite3_set_authorizer(r->own, on ? authorize : NULL, NULL);
}

int query_check(cs_ctx *ctx, sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	const char *tail = NULL;
	int rc;

	*out = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, out, &tail) != SQLITE_OK) {
		rc = ctx_err(ctx, CS_EINVAL, "query refused: %s", sqlite3_errmsg(db));
		goto fail;
	}
	if (!*out) {
		rc = ctx_err(ctx, CS_EINVAL, "query is empty");
		goto fail;
	}
	if (tail && !only_space(tail)) {
		rc = ctx_err(ctx, CS_EINVAL, "query refused: one statement only");
		goto fail;
	}
	if (!sqlite3_stmt_readonly(*out)) {
		rc = ctx_err(ctx, CS_EINVAL, "query refused: the mirror is read-only here");
		goto fail;
	}
	return CS_OK;
fail:
	sqlite3_finalize(*out);
	*out = NULL;
	return rc;
}

int query_prepare(cs_rows *r, const char *sql)
{
	return query_check(r->ctx, r->own, sql, &r->st);
}

/* Whether v is a number written plainly: an optional '-', digits without
 * a leading zero (but "0"), then optionally '.' and digits, then
 * optionally an exponent.  *integer: it has neither of the last two. */
static int plain_number(const char *v, int *integer)
{
	static const char digits[] = "0123456789";
	const char *p = v + (*v == '-');
	size_t n = strspn(p, digits);
	if (!n || (p[0] == '0' && n > 1))
		return 0;
	p += n;
	*integer = !*p;
	if (*p == '.') {
		if (!(n = strspn(++p, digits)))
			return 0;
		p += n;
	}
	if (*p == 'e' || *p == 'E') {
		p += 1 + (p[1] == '+' || p[1] == '-');
		if (!(n = strspn(p, digits)))
			return 0;
		p += n;
	}
	return !*p;
}

/* Bind value v to parameter i of st: an integer or a real when v is one
 * written plainly (and in range), else text. */
static int bind_value(sqlite3_stmt *st, int i, const char *v)
{
	int integer = 0;
	if (plain_number(v, &integer)) {
		char *end;
		errno = 0;
		if (integer) {
			long long n = strtoll(v, &end, 10);
			if (!errno && !*end)
				return sqlite3_bind_int64(st, i, n);
		} else {
			double d = strtod(v, &end);
			if (!*end && isfinite(d))
				return sqlite3_bind_double(st, i, d);
		}
	}
	return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/* Bind params (pairs name, value) to the statement of r, as
 * cs_query_params says. */
static int bind_params(cs_rows *r, const char *const *params)
{
	sqlite3_stmt *st = r->st;
	int n = sqlite3_bind_parameter_count(st), rc = CS_OK;
	char *bound = calloc((size_t)n + 1, 1);

	if (!bound)
		return ctx_err_oom(r->ctx);
	for (int k = 0; params && params[2 * k] && !rc; k++) {
		const char *name = params[2 * k], *v = params[2 * k + 1];
		int found = 0;
		if (*name == ':' || *name == '$' || *name == '@' || *name == '?')
			name++;
		if (*name && !name[strspn(name, "0123456789")]) {
			long i = strtol(name, NULL, 10);
			/* By its number: an anonymous ? or a ?N, never a named one. */
			if (i >= 1 && i <= n) {
				const char *pn = sqlite3_bind_parameter_name(st, (int)i);
				found = !pn || pn[0] == '?' ? (int)i : 0;
			}
			if (found && bound[found])
				found = -1;
			if (found > 0) {
				bound[found] = 1;
				if (bind_value(st, found, v) != SQLITE_OK)
					rc = ctx_err_db(r->ctx, r->own);
			}
		} else {
			static const char prefix[] = ":$@";
			char full[256];
			for (int j = 0; prefix[j] && !rc && strlen(name) < sizeof full - 1; j++) {
				int i;
				snprintf(full, sizeof full, "%c%s", prefix[j], name);
				if (!(i = sqlite3_bind_parameter_index(st, full)))
					continue;
				if (bound[i]) {
					found = -1;
					break;
				}
				bound[i] = 1;
				found = i;
				if (bind_value(st, i, v) != SQLITE_OK)
					rc = ctx_err_db(r->ctx, r->own);
			}
		}
		if (!rc && found < 0)
			rc = ctx_err(r->ctx, CS_EINVAL, "parameter '%s' is given twice", params[2 * k]);
		else if (!rc && !found)
			rc = ctx_err(r->ctx, CS_EINVAL, "the query has no parameter '%s'", params[2 * k]);
	}
	for (int i = 1; i <= n && !rc; i++)
		if (!bound[i]) {
			const char *pn = sqlite3_bind_parameter_name(st, i);
			if (pn)
				rc = ctx_err(r->ctx, CS_EINVAL, "query parameter '%s' has no value: give it"
					     " with --param %s=VALUE", pn, pn + 1);
			else
				rc = ctx_err(r->ctx, CS_EINVAL, "query parameter ?%d has no value: give it"
					     " with --param %d=VALUE", i, i);
		}
	free(bound);
	return rc;
}

int cs_query_params(cs_ctx *ctx, cs_rows **out, const char *sql, const char *const *params)
{
	cs_rows *r = NULL;
	int rc;

	*out = NULL;
	if ((rc = query_open(ctx, &r)))
		return rc;
	query_lock_down(r, 1);
	if ((rc = query_prepare(r, sql)) || (rc = bind_params(r, params))) {
		cs_rows_free(r);
		return rc;
	}
	*out = r;
	return CS_OK;
}

int cs_query(cs_ctx *ctx, cs_rows **out, const char *sql)
{
	return cs_query_params(ctx, out, sql, NULL);
}

/* ---- the named lists of queries/ ------------------------------------------ */

/* Whether name is a view of queries/ (queries/NAME.sql is embedded). */
static int list_known(const char *name)
{
	size_t n = strlen(name);
	for (const embedded_file *e = embedded_queries; e->name; e++)
		if (strlen(e->name) == n + 4 && !strncmp(e->name, name, n) && !strcmp(e->name + n, ".sql"))
			return 1;
	return 0;
}

/* s as an SQL identifier: in double quotes, a quote doubled. */
static void put_ident(sbuf *b, const char *s)
{
	sb_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			sb_putc(b, '"');
		sb_putc(b, *s);
	}
	sb_putc(b, '"');
}

/* The statement for list name with filters (pairs column, value): the
 * view's columns but those whose name starts with '_', where each filter
 * column equals ?N.  The names come from the view itself, never from the
 * caller's text: a filter column the view lacks is CS_EINVAL. */
static int list_sql(cs_rows *r, const char *name, const char *const *filters, char **out)
{
	sbuf b = {0};
	sqlite3_stmt *st = NULL;
	int rc, n, first = 1;

	*out = NULL;
	sb_puts(&b, "SELECT * FROM ");
	put_ident(&b, name);
	if (!(*out = sb_detach(&b)))
		return ctx_err_oom(r->ctx);
	rc = query_check(r->ctx, r->own, *out, &st);
	free(*out);
	*out = NULL;
	if (rc)
		return rc;
	n = sqlite3_column_count(st);
	sb_puts(&b, "SELECT ");
	for (int i = 0; i < n; i++) {
		const char *c = sqlite3_column_name(st, i);
		if (c[0] == '_')
			continue;
		sb_puts(&b, first ? "" : ", ");
		put_ident(&b, c);
		first = 0;
	}
	sb_puts(&b, " FROM ");
	put_ident(&b, name);
	for (int k = 0; filters && filters[2 * k] && !rc; k++) {
		int have = 0;
		for (int i = 0; i < n; i++)
			have |= !strcmp(sqlite3_column_name(st, i), filters[2 * k]);
		if (!have)
			rc = ctx_err(r->ctx, CS_EINVAL, "list '%s' has no column '%s'", name,
				    filters[2 * k]);
		sb_puts(&b, k ? " AND " : " WHERE ");
		put_ident(&b, filters[2 * k]);
		sb_printf(&b, " = ?%d", k + 1);
	}
	sqlite3_finalize(st);
	if (first && !rc)
		rc = ctx_err(r->ctx, CS_EINVAL, "list '%s' has no column to show", name);
	if (!rc && !(*out = sb_detach(&b)))
		rc = ctx_err_oom(r->ctx);
	sb_free(&b);
	return rc;
}

int cs_list(cs_ctx *ctx, cs_rows **out, const char *name, const char *const *filters)
{
	cs_rows *r = NULL;
	char *sql = NULL;
	int rc;

	*out = NULL;
	if (!list_known(name))
		return ctx_err(ctx, CS_EINVAL, "no list '%s' in queries/", name);
	if ((rc = query_open(ctx, &r)))
		return rc;
	query_lock_down(r, 1);
	if ((rc = list_sql(r, name, filters, &sql)) || (rc = query_prepare(r, sql)))
		goto done;
	for (int k = 0; filters && filters[2 * k] && !rc; k++)
		if (sqlite3_bind_text(r->st, k + 1, filters[2 * k + 1], -1, SQLITE_TRANSIENT) !=
		    SQLITE_OK)
			rc = ctx_err_db(ctx, r->own);
done:
	free(sql);
	if (rc)
		cs_rows_free(r);
	else
		*out = r;
	return rc;
}

/* ---- coordsync's own statements on the handle's connection --------------- */

int query_fixed(cs_ctx *ctx, cs_rows **out, const char *sql)
{
	cs_rows *r = calloc(1, sizeof *r);
	int rc;
	*out = NULL;
	if (!r)
		return ctx_err_oom(ctx);
	r->ctx = ctx;
	if ((rc = db_prepare(ctx, &r->st, sql))) {
		cs_rows_free(r);
		return rc;
	}
	*out = r;
	return CS_OK;
}

/* The settings (config.c) as rows: a temp table that config_view fills, so
 * the one formatter renders it like any query. */
int cs_config_list(cs_ctx *ctx, cs_rows **out)
{
	int rc = config_view(ctx);
	return rc ? rc : query_fixed(ctx, out, "SELECT key, value, source, help FROM temp.config_view");
}

int cs_query_timeout(const cs_ctx *ctx)
{
	return ctx->query_seconds;
}

int cs_rows_next(cs_rows *r)
{
	int rc = sqlite3_step(r->st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_INTERRUPT)
		return ctx_err(r->ctx, CS_ERROR, "query took longer than %d s (coordsync.query.timeout)",
			      r->ctx->query_seconds);
	return ctx_err(r->ctx, rc == SQLITE_AUTH ? CS_EINVAL : CS_ERROR, "sqlite: %s",
		      sqlite3_errmsg(sqlite3_db_handle(r->st)));
}

int cs_rows_columns(cs_rows *r) { return sqlite3_column_count(r->st); }
const char *cs_rows_name(cs_rows *r, int i) { return sqlite3_column_name(r->st, i); }

int cs_rows_type(cs_rows *r, int i)
{
	switch (sqlite3_column_type(r->st, i)) {
	case SQLITE_INTEGER: return CS_INT;
	case SQLITE_FLOAT: return CS_REAL;
	case SQLITE_NULL: return CS_NULL;
	default: return CS_TEXT;
	}
}

const char *cs_rows_text(cs_rows *r, int i)
{
	return (const char *)sqlite3_column_text(r->st, i);
}

void cs_rows_free(cs_rows *r)
{
	if (!r)
		return;
	sqlite3_finalize(r->st);
	sqlite3_close(r->own);
	free(r);
}
