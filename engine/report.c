/* Reports: the views of queries/NAME.sql and the user's own NAME.sql files,
 * run on the read-only connection with the --since and --server filters
 * bound as parameters.  See docs/REPORTS.md for the conventions. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "ctx.h"
#include "util.h"
#include "embedded.h"
#include "db.h"
#include "query_int.h"

#define USER_SQL_MAX (1u << 20)   /* largest user view file we read */

typedef struct report {
	char name[65];
	char *desc;       /* one line, never NULL once added */
	char *path;       /* the user's file; NULL for a built-in view */
	char *sql;        /* the user's file's text */
	int internal;     /* a built-in view that is no report (internal_view) */
} report;

typedef struct report_set {
	report *r;
	size_t n, cap;
} report_set;

static void set_free(report_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->r[i].desc);
		free(s->r[i].path);
		free(s->r[i].sql);
	}
	free(s->r);
	memset(s, 0, sizeof *s);
}

/* Append an entry named name (taking ownership of path and sql, even on
 * failure); its description comes from text. */
static int set_add(cs_ctx *ctx, report_set *s, const char *name, size_t namelen,
		   const char *text, char *path, char *sql);

/* ---- descriptions ------------------------------------------------------ */

/* The description of a view file: the rest of its first "-- NAME: ..." line,
 * else of its first "-- " comment line, else "".  Caller frees. */
static char *describe(const char *name, const char *text)
{
	size_t nl = strlen(name);
	const char *first = NULL, *p = text;
	size_t firstlen = 0;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len > 3 && !strncmp(p, "-- ", 3)) {
			if (len > 3 + nl && !strncmp(p + 3, name, nl) && p[3 + nl] == ':') {
				first = p + 4 + nl;
				firstlen = len - 4 - nl;
				break;
			}
			if (!first) {
				first = p + 3;
				firstlen = len - 3;
			}
		}
		if (!e)
			break;
		p = e + 1;
	}
	while (firstlen && (*first == ' ' || *first == '\t'))
		first++, firstlen--;
	while (firstlen && (first[firstlen - 1] == ' ' || first[firstlen - 1] == '\r'))
		firstlen--;
	return strndup(first ? first : "", first ? firstlen : 0);
}

static int set_add(cs_ctx *ctx, report_set *s, const char *name, size_t namelen,
		   const char *text, char *path, char *sql)
{
	report *r;
	if (namelen >= sizeof r->name) {
		free(path);
		free(sql);
		return ctx_err(ctx, CS_EINVAL, "report name too long");
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		report *nr = realloc(s->r, cap * sizeof *nr);
		if (!nr) {
			free(path);
			free(sql);
			return ctx_err_oom(ctx);
		}
		s->r = nr;
		s->cap = cap;
	}
	r = &s->r[s->n];
	memcpy(r->name, name, namelen);
	r->name[namelen] = 0;
	r->path = path;
	r->sql = sql;
	r->internal = 0;
	if (!(r->desc = describe(r->name, text))) {
		free(path);
		free(sql);
		return ctx_err_oom(ctx);
	}
	s->n++;
	return CS_OK;
}

/* ---- built-in and user views --------------------------------------------- */

/* 1 when the leading comment lines of a view file's text hold one that
 * begins "-- internal:": a view the CLI's lists (cs_list) or other views
 * read, which neither report --list shows nor report runs. */
static int internal_view(const char *text)
{
	for (const char *p = text; !strncmp(p, "--", 2); p++) {
		if (!strncmp(p, "-- internal:", 12))
			return 1;
		if (!(p = strchr(p, '\n')))
			break;
	}
	return 0;
}

static int builtin_load(cs_ctx *ctx, report_set *s)
{
	int rc = CS_OK;
	for (const embedded_file *e = embedded_queries; e->name && !rc; e++) {
		size_t n = strlen(e->name);
		if (n > 4 && !strcmp(e->name + n - 4, ".sql") &&
		    !(rc = set_add(ctx, s, e->name, n - 4, e->text, NULL, NULL)))
			s->r[s->n - 1].internal = internal_view(e->text);
	}
	return rc;
}

/* The report called name, never an internal view; NULL when none. */
static const report *find(const report_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->r[i].name, name))
			return s->r[i].internal ? NULL : &s->r[i];
	return NULL;
}

/* The user's view directory: dir if given, else git config coordsync.queries
 * (relative to the clone).  *out is malloc'd, or NULL when there is none. */
static int user_dir(cs_ctx *ctx, const char *dir, char **out)
{
	git_config *cfg = NULL;
	git_buf buf = {0};
	*out = NULL;
	if (dir) {
		if (!*dir)
			return ctx_err(ctx, CS_EINVAL, "empty queries directory");
		return (*out = strdup(dir)) ? CS_OK : ctx_err_oom(ctx);
	}
	if (ctx->repo && !git_repository_config_snapshot(&cfg, ctx->repo) &&
	    !git_config_get_path(&buf, cfg, "coordsync.queries") && buf.ptr && *buf.ptr) {
		sbuf b = {0};
		if (buf.ptr[0] != '/' && ctx->workdir)
			sb_puts(&b, ctx->workdir);
		sb_puts(&b, buf.ptr);
		*out = sb_detach(&b);
	}
	git_buf_dispose(&buf);
	git_config_free(cfg);
	git_error_clear();
	return CS_OK;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const report *)a)->name, ((const report *)b)->name);
}

/* Read path whole, refusing files over USER_SQL_MAX and NUL bytes. */
static int read_text(cs_ctx *ctx, const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;
	int rc = CS_OK;
	*out = NULL;
	if (!f)
		return ctx_err(ctx, CS_EINVAL, "cannot read '%s': %s", path, strerror(errno));
	if (!(buf = malloc(USER_SQL_MAX + 1))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	n = fread(buf, 1, USER_SQL_MAX + 1, f);
	if (ferror(f))
		rc = ctx_err(ctx, CS_EINVAL, "cannot read '%s': %s", path, strerror(errno));
	else if (n > USER_SQL_MAX)
		rc = ctx_err(ctx, CS_EINVAL, "'%s' is larger than %u bytes", path, USER_SQL_MAX);
	else if (memchr(buf, 0, n))
		rc = ctx_err(ctx, CS_EINVAL, "'%s' holds a NUL byte", path);
	if (!rc) {
		buf[n] = 0;
		*out = buf;
		buf = NULL;
	}
done:
	free(buf);
	fclose(f);
	return rc;
}

/* Add every DIR/NAME.sql to s (which holds the built-in views), sorted by
 * name.  A name that is not a valid id or that a built-in report already
 * uses is an error. */
static int user_load(cs_ctx *ctx, report_set *s, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t first = s->n;
	int rc = CS_OK;
	if (!d)
		return ctx_err(ctx, CS_EINVAL, "cannot read queries directory '%s': %s", dir,
			      strerror(errno));
	while (!rc && (errno = 0, de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char name[65], *path = NULL, *text = NULL;
		sbuf b = {0};
		struct stat stt;
		if (n <= 4 || strcmp(de->d_name + n - 4, ".sql") || de->d_name[0] == '.')
			continue;
		if (n - 4 >= sizeof name) {
			rc = ctx_err(ctx, CS_EINVAL, "user view '%s': name too long", de->d_name);
			break;
		}
		memcpy(name, de->d_name, n - 4);
		name[n - 4] = 0;
		if (!cs_valid_id(name)) {
			rc = ctx_err(ctx, CS_EINVAL, "user view '%s/%s': '%s' is not a valid report name",
				    dir, de->d_name, name);
			break;
		}
		for (size_t i = 0; i < first && !rc; i++)
			if (!strcasecmp(s->r[i].name, name))
				rc = ctx_err(ctx, CS_EINVAL, "user view '%s/%s': '%s' is a built-in report",
					    dir, de->d_name, s->r[i].name);
		if (rc)
			break;
		sb_puts(&b, dir);
		if (dir[strlen(dir) - 1] != '/')
			sb_putc(&b, '/');
		sb_puts(&b, de->d_name);
		if (!(path = sb_detach(&b))) {
			rc = ctx_err_oom(ctx);
			break;
		}
		if (stat(path, &stt) || !S_ISREG(stt.st_mode)) {
			free(path);
			continue;
		}
		if ((rc = read_text(ctx, path, &text))) {
			free(path);
			break;
		}
		rc = set_add(ctx, s, name, strlen(name), text, path, text);
	}
	if (!rc && errno)
		rc = ctx_err(ctx, CS_ERROR, "cannot read queries directory '%s': %s", dir,
			    strerror(errno));
	closedir(d);
	if (!rc)
		qsort(s->r + first, s->n - first, sizeof *s->r, by_name);
	return rc;
}

/* Create the user views of s as TEMP views on r's connection, before the
 * authorizer is installed, then check under it that target reads only.
 * A file must be exactly one SELECT: "CREATE TEMP VIEW ... AS" followed by
 * its text must be a single statement.  Creating a view runs nothing.  A
 * file other than target's that fails is left out (a view that uses it then
 * fails naming it), so one broken file does not break the others. */
static int user_install(cs_ctx *ctx, cs_rows *r, const report_set *s, const report *target)
{
	sqlite3 *db = query_db(r);
	sqlite3_stmt *st = NULL;
	char sql[96], why[sizeof ctx->err];
	int rc = CS_OK;
	for (size_t i = 0; i < s->n && !rc; i++) {
		const report *u = &s->r[i];
		const char *tail = NULL;
		sbuf b = {0};
		char *create;
		if (!u->path)
			continue;
		/* The name must not hide a table or view of the mirror. */
		if (sqlite3_prepare_v2(db, "SELECT 1 FROM main.sqlite_master WHERE name = ?1"
					   " COLLATE NOCASE", -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC) != SQLITE_OK) {
			rc = ctx_err_db(ctx, db);
			break;
		}
		if ((rc = sqlite3_step(st)) == SQLITE_ROW)
			rc = ctx_err(ctx, CS_EINVAL, "user view '%s': the mirror has a table or view of"
				    " that name", u->path);
		else if (rc != SQLITE_DONE)
			rc = ctx_err_db(ctx, db);
		else
			rc = CS_OK;
		sqlite3_finalize(st);
		st = NULL;
		if (rc && u != target) {
			rc = CS_OK;
			continue;
		}
		if (rc)
			break;
		/* checksrc: allow sql-format: a name user_load checked (cs_valid_id) */
		sb_printf(&b, "CREATE TEMP VIEW \"%s\" AS\n", u->name);
		sb_puts(&b, u->sql);
		sb_putc(&b, '\n');
		if (!(create = sb_detach(&b))) {
			rc = ctx_err_oom(ctx);
			break;
		}
		if (sqlite3_prepare_v2(db, create, -1, &st, &tail) != SQLITE_OK || !st)
			rc = ctx_err(ctx, CS_EINVAL, "user view '%s' must be one SELECT: %s", u->path,
				    st ? sqlite3_errmsg(db) : "empty");
		else if (tail && tail[strspn(tail, " \t\r\n;")])
			rc = ctx_err(ctx, CS_EINVAL, "user view '%s' must be one SELECT: it has more"
				    " than one statement", u->path);
		else if (sqlite3_step(st) != SQLITE_DONE)
			rc = ctx_err(ctx, CS_EINVAL, "user view '%s': %s", u->path, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		st = NULL;
		free(create);
		if (rc && u != target)
			rc = CS_OK;
	}
	if (rc)
		return rc;
	query_lock_down(r, 1);
	/* checksrc: allow sql-format: a name user_load checked */
	snprintf(sql, sizeof sql, "SELECT * FROM temp.\"%s\"", target->name);
	if ((rc = query_check(ctx, db, sql, &st))) {
		snprintf(why, sizeof why, "%s", ctx->err);
		ctx_err(ctx, rc, "user view '%s': %s", target->path, why);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Built-in views, then the user's (when a directory is configured). */
static int load_all(cs_ctx *ctx, report_set *s, const cs_report_opts *opts)
{
	char *dir = NULL;
	int rc;
	if (!(rc = builtin_load(ctx, s)) &&
	    !(rc = user_dir(ctx, opts ? opts->queries : NULL, &dir)) && dir)
		rc = user_load(ctx, s, dir);
	free(dir);
	return rc;
}

/* ---- --since --------------------------------------------------------------- */

/* ISO-8601 (YYYY-MM-DD...), epoch seconds, or a whole number followed by
 * s, m, h, d or w meaning that long ago.  s is not NULL. */
static int since_parse(cs_ctx *ctx, const char *s, double *out)
{
	static const char units[] = "smhdw";
	static const double seconds[] = {1, 60, 3600, 86400, 604800};
	size_t n = strlen(s), k = strspn(s, "0123456789");
	const char *u;
	char *end;
	if (k > 0 && k <= 9 && k + 1 == n && (u = strchr(units, s[k]))) {
		*out = util_now() - strtod(s, NULL) * seconds[u - units];
		return CS_OK;
	}
	if (k == 4 && s[4] == '-' && !util_time_parse(s, out))
		return CS_OK;
	if (k > 0) {
		errno = 0;
		*out = strtod(s, &end);
		if (!*end && !errno)
			return CS_OK;
	}
	return ctx_err(ctx, CS_EINVAL, "cannot read time '%s' (ISO-8601, epoch seconds, or 30m, 24h,"
		      " 7d, 2w)", s);
}

/* ---- public ------------------------------------------------------------------ */

int cs_report_list(cs_ctx *ctx, cs_rows **out, const cs_report_opts *opts)
{
	report_set s = {0};
	cs_rows *r = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	*out = NULL;
	if ((rc = load_all(ctx, &s, opts)) || (rc = query_open(ctx, &r)))
		goto done;
	if (sqlite3_exec(query_db(r), "CREATE TEMP TABLE reports(name TEXT, description TEXT,"
				       " source TEXT)", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(query_db(r), "INSERT INTO temp.reports VALUES(:n, :d, :s)", -1,
			       &st, NULL) != SQLITE_OK) {
		rc = ctx_err_db(ctx, query_db(r));
		goto done;
	}
	for (size_t i = 0; i < s.n; i++) {
		if (s.r[i].internal)
			continue;
		if ((rc = db_bind_text(ctx, st, ":n", s.r[i].name)) ||
		    (rc = db_bind_text(ctx, st, ":d", s.r[i].desc)) ||
		    (rc = db_bind_text(ctx, st, ":s", s.r[i].path ? s.r[i].path : "builtin")))
			goto done;
		if ((rc = db_step(ctx, st)) < 0)
			goto done;
		rc = CS_OK;
		sqlite3_reset(st);
	}
	query_lock_down(r, 1);
	if (!(rc = query_prepare(r, "SELECT name, description, source FROM temp.reports"
				    " ORDER BY name")))
		*out = r, r = NULL;
done:
	sqlite3_finalize(st);
	cs_rows_free(r);
	set_free(&s);
	return rc < 0 ? rc : CS_OK;
}

int cs_report(cs_ctx *ctx, cs_rows **out, const char *name, const cs_report_opts *opts)
{
	static const char *const timecols[] = {"time", "hour", "day"};
	report_set s = {0};
	const report *rep;
	const char *since = opts ? opts->since : NULL, *server = opts ? opts->server : NULL;
	const char *timecol = NULL;
	int hasserver = 0, rc;
	double t = 0;
	cs_rows *r = NULL;
	sqlite3_stmt *st = NULL;
	sbuf b = {0};
	char *sql = NULL;

	*out = NULL;
	if (!name || !cs_valid_id(name))
		return ctx_err(ctx, CS_EINVAL, "invalid report name '%s'", name ? name : "");
	if (since && (rc = since_parse(ctx, since, &t)))
		return rc;
	/* A built-in report needs no user views: a broken file of the user's
	 * then cannot break it. */
	if ((rc = builtin_load(ctx, &s)))
		goto done;
	if (!(rep = find(&s, name))) {
		set_free(&s);
		if ((rc = load_all(ctx, &s, opts)))
			goto done;
		if (!(rep = find(&s, name))) {
			rc = ctx_err(ctx, CS_ENOTFOUND, "no report '%s' (see report --list)", name);
			goto done;
		}
	}
	if ((rc = query_open(ctx, &r)))
		goto done;
	if (rep->path)
		rc = user_install(ctx, r, &s, rep);
	if (rc)
		goto done;
	query_lock_down(r, 1);

	/* Which filter columns the view has. */
	/* checksrc: allow sql-format: name passed cs_valid_id above */
	sb_printf(&b, "SELECT * FROM \"%s\"", name);
	if (!(sql = sb_detach(&b))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if ((rc = query_check(ctx, query_db(r), sql, &st)))
		goto done;
	for (size_t k = 0; k < sizeof timecols / sizeof *timecols && !timecol; k++)
		for (int i = 0; i < sqlite3_column_count(st); i++)
			if (!strcmp(sqlite3_column_name(st, i), timecols[k]))
				timecol = timecols[k];
	for (int i = 0; i < sqlite3_column_count(st); i++)
		if (!strcmp(sqlite3_column_name(st, i), "server"))
			hasserver = 1;
	sqlite3_finalize(st);
	st = NULL;
	if (since && !timecol) {
		rc = ctx_err(ctx, CS_EINVAL, "report '%s' has no time, hour or day column: --since"
			    " does not apply", name);
		goto done;
	}
	if (server && !hasserver) {
		rc = ctx_err(ctx, CS_EINVAL, "report '%s' has no server column: --server does not"
			    " apply", name);
		goto done;
	}

	/* The filters, on the values bound below.  A time is ISO text or epoch
	 * seconds; an hour or day is a bucket that counts while it ends after
	 * --since. */
	sb_puts(&b, sql);
	if (since) {
		const char *add = !strcmp(timecol, "hour") ? "3600" : !strcmp(timecol, "day") ? "86400" : "0";
		const char *mod = !strcmp(timecol, "hour") ? "+1 hour" : !strcmp(timecol, "day") ? "+1 day"
												  : "+0 seconds";
		/* checksrc: allow sql-format: timecols[] and fixed text */
		sb_printf(&b, " WHERE (CASE WHEN typeof(\"%s\") IN ('integer', 'real') THEN \"%s\" + %s"
			      " ELSE unixepoch(\"%s\", '%s') END) %s :since",
			  timecol, timecol, add, timecol, mod, strcmp(timecol, "time") ? ">" : ">=");
	}
	if (server)
		sb_printf(&b, " %s \"server\" = :server", since ? "AND" : "WHERE");
	free(sql);
	if (!(sql = sb_detach(&b))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if ((rc = query_prepare(r, sql)) ||
	    (since && (rc = db_bind_real(ctx, query_stmt(r), ":since", t))) ||
	    (server && (rc = db_bind_text(ctx, query_stmt(r), ":server", server))))
		goto done;
	*out = r;
	r = NULL;
done:
	sqlite3_finalize(st);
	cs_rows_free(r);
	sb_free(&b);
	free(sql);
	set_free(&s);
	return rc;
}
