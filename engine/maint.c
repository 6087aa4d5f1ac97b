/* Keeping the repository small: compaction of finished records into
 * monthly archives, and batched log upload with rotation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "util.h"
#include "db.h"
#include "export.h"
#include "decide.h"
#include "query_int.h"

/* ---- compaction ------------------------------------------------------------ */

typedef struct compact_arg {
	double cutoff;
	int jobs, messages;
} compact_arg;

/* Archive the rows of table matching cond (which uses :c) by month. */
static int archive(cs_ctx *ctx, const char *table, const char *file,
		   const char *when, const char *cond, double cutoff, int *count)
{
	sqlite3_stmt *months = NULL, *rows = NULL;
	char sql[512];
	int rc;

	/* checksrc: allow sql-format: table, when and cond are the fixed strings of archive's two callers */
	snprintf(sql, sizeof sql, "SELECT DISTINCT strftime('%%Y-%%m', coalesce(%s, 0), 'unixepoch')"
		 " FROM %s WHERE %s", when, table, cond);
	if ((rc = db_prepare(ctx, &months, sql)) || (rc = db_bind_real(ctx, months, ":c", cutoff)))
		goto done;
	/* checksrc: allow sql-format: as above */
	snprintf(sql, sizeof sql, "SELECT json FROM %s WHERE %s AND strftime('%%Y-%%m',"
		 " coalesce(%s, 0), 'unixepoch') = :m ORDER BY ord", table, cond, when);
	if ((rc = db_prepare(ctx, &rows, sql)))
		goto done;
	while ((rc = db_step(ctx, months)) == SQLITE_ROW) {
		const char *month = (const char *)sqlite3_column_text(months, 0);
		char path[128], *base = NULL, *text = NULL, **texts = NULL;
		size_t len, n = 0;
		snprintf(path, sizeof path, "coordination/archive/%s/%s", month, file);
		sqlite3_reset(rows);
		if ((rc = db_bind_real(ctx, rows, ":c", cutoff)) ||
		    (rc = db_bind_text(ctx, rows, ":m", month)))
			break;
		while ((rc = db_step(ctx, rows)) == SQLITE_ROW) {
			char **x = realloc(texts, (n + 1) * sizeof *x);
			if (!x || !(x[n] = strdup((const char *)sqlite3_column_text(rows, 0)))) {
				texts = x ? x : texts;
				rc = ctx_err_oom(ctx);
				break;
			}
			texts = x;
			n++;
		}
		if (rc == SQLITE_DONE && !(rc = decide_base_read(ctx, path, &base, &len)) &&
		    !(rc = export_append(ctx, path, base, len, texts, n, &text)))
			rc = decide_edit_put(ctx, path, text, strlen(text));
		*count += (int)n;
		for (size_t i = 0; i < n; i++)
			free(texts[i]);
		free(texts);
		free(base);
		free(text);
		if (rc)
			break;
	}
	if (rc == SQLITE_DONE) {
		/* checksrc: allow sql-format: as above */
		snprintf(sql, sizeof sql, "UPDATE %s SET dirty=2 WHERE %s", table, cond);
		sqlite3_finalize(rows);
		rows = NULL;
		if (!(rc = db_prepare(ctx, &rows, sql)) && !(rc = db_bind_real(ctx, rows, ":c", cutoff)))
			rc = db_step(ctx, rows) == SQLITE_DONE ? CS_OK : CS_ERROR;
	}
done:
	sqlite3_finalize(months);
	sqlite3_finalize(rows);
	return rc;
}

static int compact_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	compact_arg *a = p;
	int rc;
	a->jobs = a->messages = 0;
	if (!(rc = archive(ctx, "jobs", "jobs.json", "coalesce(completed_at, started_at, created_at)",
			   "status IN ('done', 'failed', 'cancelled') AND"
			   " coalesce(completed_at, started_at, created_at, 0) < :c",
			   a->cutoff, &a->jobs)))
		rc = archive(ctx, "messages", "messages.json", "timestamp",
			     "coalesce(read, 0) AND coalesce(timestamp, 0) < :c", a->cutoff, &a->messages);
	sb_printf(msg, "%s: archive %d jobs and %d messages", ctx->server, a->jobs, a->messages);
	return rc;
}

int cs_compact(cs_ctx *ctx, long long older_than, int *jobs, int *messages)
{
	compact_arg a = {0, 0, 0};
	int rc;
	if (older_than < 0)
		return ctx_err(ctx, CS_EINVAL, "--older-than must not be negative");
	a.cutoff = util_now() - (double)older_than;
	rc = decide_run(ctx, compact_fn, &a);
	*jobs = a.jobs;
	*messages = a.messages;
	return rc;
}

/* ---- logs -------------------------------------------------------------------- */

typedef struct logfile {
	char name[65];
	char *data;
	size_t len;
} logfile;

typedef struct logs_arg {
	logfile *f;
	int n;
	const cs_logs_opts *o;
	int removed;
} logs_arg;

typedef struct have {
	char name[256];
	size_t size;
	int pushed;
} have;

static int have_cmp(const void *x, const void *y)
{
	return -strcmp(((const have *)x)->name, ((const have *)y)->name);  /* newest first */
}

static int logs_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	logs_arg *a = p;
	git_tree *t, *dir = NULL;
	git_tree_entry *e = NULL;
	git_odb *odb = NULL;
	have *h = NULL;
	size_t nh = 0, kept = 0;
	long long bytes = 0;
	char path[400];
	int rc = CS_OK;

	a->removed = 0;
	t = ctx->base;
	if (git_repository_odb(&odb, ctx->repo)) {
		rc = ctx_err_git(ctx, "odb");
		goto done;
	}
	snprintf(path, sizeof path, "%s/logs", ctx->server);
	if (!git_tree_entry_bypath(&e, t, path) && git_tree_entry_type(e) == GIT_OBJECT_TREE &&
	    !git_tree_lookup(&dir, ctx->repo, git_tree_entry_id(e))) {
		size_t n = git_tree_entrycount(dir);
		if (!(h = calloc(n + (size_t)a->n + 1, sizeof *h))) {
			rc = ctx_err_oom(ctx);
			goto done;
		}
		for (size_t i = 0; i < n; i++) {
			const git_tree_entry *x = git_tree_entry_byindex(dir, i);
			size_t sz = 0;
			git_object_t type;
			if (git_tree_entry_type(x) != GIT_OBJECT_BLOB)
				continue;
			git_odb_read_header(&sz, &type, odb, git_tree_entry_id(x));
			snprintf(h[nh].name, sizeof h[nh].name, "%s", git_tree_entry_name(x));
			h[nh++].size = sz;
		}
	} else if (!(h = calloc((size_t)a->n + 1, sizeof *h))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	git_error_clear();
	for (int i = 0; i < a->n && !rc; i++) {
		size_t j;
		snprintf(path, sizeof path, "%s/logs/%s", ctx->server, a->f[i].name);
		rc = decide_edit_put(ctx, path, a->f[i].data, a->f[i].len);
		for (j = 0; j < nh && strcmp(h[j].name, a->f[i].name); j++)
			;
		if (j == nh)
			snprintf(h[nh++].name, sizeof h->name, "%s", a->f[i].name);
		h[j].size = a->f[i].len;
		h[j].pushed = 1;
	}
	if (rc)
		goto done;
	/* Rotation: newest names first; what was just pushed always stays. */
	qsort(h, nh, sizeof *h, have_cmp);
	for (size_t i = 0; i < nh; i++)
		if (h[i].pushed) {
			kept++;
			bytes += (long long)h[i].size;
		}
	for (size_t i = 0; i < nh && !rc; i++) {
		if (h[i].pushed)
			continue;
		if ((int)kept < a->o->keep_files && bytes + (long long)h[i].size <= a->o->keep_bytes) {
			kept++;
			bytes += (long long)h[i].size;
			continue;
		}
		snprintf(path, sizeof path, "%s/logs/%s", ctx->server, h[i].name);
		rc = decide_edit_remove(ctx, path);
		a->removed++;
	}
	sb_printf(msg, "%s: Upload %d log files", ctx->server, a->n);
done:
	free(h);
	git_odb_free(odb);
	git_tree_entry_free(e);
	git_tree_free(dir);
	return rc;
}

int cs_logs_push(cs_ctx *ctx, const char *const *files, int n, const cs_logs_opts *o,
		 int *removed)
{
	logs_arg a = {NULL, n, o, 0};
	int rc = CS_OK;
	*removed = 0;
	if (n <= 0)
		return ctx_err(ctx, CS_EINVAL, "no files to push");
	if (!(a.f = calloc((size_t)n, sizeof *a.f)))
		return ctx_err_oom(ctx);
	for (int i = 0; i < n && !rc; i++) {
		const char *base = strrchr(files[i], '/');
		FILE *f;
		long sz;
		base = base ? base + 1 : files[i];
		if (!cs_valid_id(base)) {
			rc = ctx_err(ctx, CS_EINVAL, "invalid log file name '%s': use 1-64 of [A-Za-z0-9._-]",
				    base);
			break;
		}
		snprintf(a.f[i].name, sizeof a.f[i].name, "%s", base);
		/* Files are kept by name in SERVER/logs/: two of one name would
		 * leave one, so neither is pushed. */
		for (int k = 0; k < i; k++)
			if (!strcmp(a.f[k].name, base)) {
				rc = ctx_err(ctx, CS_EINVAL, "two files named '%s' ('%s' and '%s'):"
					    " SERVER/logs/ keeps one file per name", base, files[k],
					    files[i]);
				break;
			}
		if (rc)
			break;
		if (!(f = fopen(files[i], "rb"))) {
			rc = ctx_err(ctx, CS_EINVAL, "cannot read '%s': %s", files[i], strerror(errno));
			break;
		}
		if (fseek(f, 0, SEEK_END) || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
			rc = ctx_err(ctx, CS_EINVAL, "cannot read '%s'", files[i]);
		} else if (sz > o->max_file) {
			rc = ctx_err(ctx, CS_EINVAL, "'%s' is %ld bytes, over the %lld byte limit"
				    " (coordsync.logs.maxfile)", files[i], sz, o->max_file);
		} else if (!(a.f[i].data = malloc((size_t)sz + 1))) {
			rc = ctx_err_oom(ctx);
		} else if (fread(a.f[i].data, 1, (size_t)sz, f) != (size_t)sz) {
			rc = ctx_err(ctx, CS_EINVAL, "cannot read '%s'", files[i]);
		} else {
			a.f[i].len = (size_t)sz;
		}
		fclose(f);
	}
	if (!rc)
		rc = decide_run(ctx, logs_fn, &a);
	*removed = a.removed;
	for (int i = 0; i < n; i++)
		free(a.f[i].data);
	free(a.f);
	return rc;
}

/* ---- reading pushed logs ------------------------------------------------------ */

#define LOGS_WALK_MAX 10000   /* commits looked at for the time a file changed */

/* The commit the mirror last imported, into *out (git_commit_free). */
static int logs_head(cs_ctx *ctx, git_commit **out)
{
	char *hex = NULL;
	git_oid oid;
	int rc;
	*out = NULL;
	if ((rc = db_text(ctx, &hex, "SELECT value FROM meta WHERE key=:a", "last_head")))
		return rc;
	if (!hex) {
		rc = ctx_err(ctx, CS_ENOTFOUND, "nothing imported yet: run 'coordsync sync'");
	} else if (git_oid_fromstr(&oid, hex) || git_commit_lookup(out, ctx->repo, &oid)) {
		rc = ctx_err_git(ctx, "the imported head");
	}
	free(hex);
	return rc;
}

/* The tree SERVER/logs of commit c into *out, or NULL when there is none. */
static int logs_dir(cs_ctx *ctx, git_commit *c, const char *server, git_tree **out)
{
	git_tree *t = NULL;
	git_tree_entry *e = NULL;
	char path[128];
	int rc = CS_OK;
	*out = NULL;
	snprintf(path, sizeof path, "%s/logs", server);
	if (git_commit_tree(&t, c))
		return ctx_err_git(ctx, "tree");
	if (!git_tree_entry_bypath(&e, t, path) && git_tree_entry_type(e) == GIT_OBJECT_TREE &&
	    git_tree_lookup(out, ctx->repo, git_tree_entry_id(e)))
		rc = ctx_err_git(ctx, "tree");
	git_error_clear();
	git_tree_entry_free(e);
	git_tree_free(t);
	return rc;
}

/* server, or this server when NULL: CS_EINVAL unless a valid name. */
static int logs_server(cs_ctx *ctx, const char **server)
{
	if (!*server)
		*server = ctx->server;
	if (!*server)
		return ctx_err(ctx, CS_EINVAL, "no server id: pass --server or set coordsync.server");
	if (!cs_valid_id(*server))
		return ctx_err(ctx, CS_EINVAL, "invalid server id '%s'", *server);
	return CS_OK;
}

int cs_logs_list(cs_ctx *ctx, cs_rows **out, const char *server)
{
	git_commit *head = NULL, *c = NULL, *p = NULL;
	git_tree *dir = NULL, *cur = NULL, *prev = NULL;
	git_odb *odb = NULL;
	sqlite3_stmt *ins = NULL;
	size_t n = 0, unknown;
	double *when = NULL;
	int rc;

	*out = NULL;
	if ((rc = logs_server(ctx, &server)) || (rc = logs_head(ctx, &head)) ||
	    (rc = logs_dir(ctx, head, server, &dir)))
		goto done;
	if (git_repository_odb(&odb, ctx->repo)) {
		rc = ctx_err_git(ctx, "odb");
		goto done;
	}
	n = dir ? git_tree_entrycount(dir) : 0;
	if (n && !(when = calloc(n, sizeof *when))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	/* The time of each file is that of the newest first-parent commit
	 * that wrote its present content: walk back until each is found. */
	unknown = n;
	for (size_t i = 0; i < n; i++)
		if (git_tree_entry_type(git_tree_entry_byindex(dir, i)) != GIT_OBJECT_BLOB)
			when[i] = -1, unknown--;
	if (git_commit_dup(&c, head)) {
		rc = ctx_err_git(ctx, "commit");
		goto done;
	}
	if ((rc = logs_dir(ctx, c, server, &cur)))
		goto done;
	for (int steps = 0; unknown && steps < LOGS_WALK_MAX; steps++) {
		if (git_commit_parentcount(c) == 0) {
			p = NULL;
		} else if (git_commit_parent(&p, c, 0)) {
			rc = ctx_err_git(ctx, "parent");
			goto done;
		}
		if (p && (rc = logs_dir(ctx, p, server, &prev)))
			goto done;
		if (!prev || !cur || git_oid_cmp(git_tree_id(prev), git_tree_id(cur)))
			for (size_t i = 0; i < n; i++) {
				const git_tree_entry *x = git_tree_entry_byindex(dir, i), *y;
				if (when[i])
					continue;
				y = prev ? git_tree_entry_byname(prev, git_tree_entry_name(x)) : NULL;
				if (!y || git_oid_cmp(git_tree_entry_id(x), git_tree_entry_id(y))) {
					when[i] = (double)git_commit_time(c);
					unknown--;
				}
			}
		git_tree_free(cur);
		cur = prev;
		prev = NULL;
		git_commit_free(c);
		c = p;
		p = NULL;
		if (!c)
			break;
	}
	if ((rc = db_exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS log_files(name TEXT, size INTEGER,"
			       " time REAL); DELETE FROM temp.log_files")) ||
	    (rc = db_prepare(ctx, &ins, "INSERT INTO temp.log_files VALUES(:n, :s, :t)")))
		goto done;
	for (size_t i = 0; i < n && !rc; i++) {
		const git_tree_entry *x = git_tree_entry_byindex(dir, i);
		size_t sz = 0;
		git_object_t type;
		if (when[i] < 0)
			continue;
		if (git_odb_read_header(&sz, &type, odb, git_tree_entry_id(x))) {
			rc = ctx_err_git(ctx, "blob");
			break;
		}
		sqlite3_reset(ins);
		if (!(rc = db_bind_text(ctx, ins, ":n", git_tree_entry_name(x))) &&
		    !(rc = db_bind_int(ctx, ins, ":s", (long long)sz)) &&
		    !(rc = when[i] > 0 ? db_bind_real(ctx, ins, ":t", when[i])
				       : db_bind_null(ctx, ins, ":t")))
			rc = db_step(ctx, ins) == SQLITE_DONE ? CS_OK : CS_ERROR;
	}
	if (!rc)
		rc = query_fixed(ctx, out, "SELECT name, size, strftime('%Y-%m-%dT%H:%M:%SZ', time,"
				       " 'unixepoch') AS time FROM temp.log_files ORDER BY name");
done:
	sqlite3_finalize(ins);
	free(when);
	git_odb_free(odb);
	git_tree_free(prev);
	git_tree_free(cur);
	git_tree_free(dir);
	git_commit_free(p);
	git_commit_free(c);
	git_commit_free(head);
	return rc;
}

int cs_logs_get(cs_ctx *ctx, char **data, size_t *len, const char *server, const char *name)
{
	git_commit *head = NULL;
	git_tree *dir = NULL;
	git_blob *blob = NULL;
	const git_tree_entry *e;
	int rc;

	*data = NULL;
	*len = 0;
	if (!name || !cs_valid_id(name))
		return ctx_err(ctx, CS_EINVAL, "invalid log file name '%s': use 1-64 of [A-Za-z0-9._-]",
			      name ? name : "");
	if ((rc = logs_server(ctx, &server)) || (rc = logs_head(ctx, &head)) ||
	    (rc = logs_dir(ctx, head, server, &dir)))
		goto done;
	if (!dir || !(e = git_tree_entry_byname(dir, name)) ||
	    git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		rc = ctx_err(ctx, CS_ENOTFOUND, "no log file '%s/logs/%s'", server, name);
		goto done;
	}
	if (git_blob_lookup(&blob, ctx->repo, git_tree_entry_id(e))) {
		rc = ctx_err_git(ctx, "blob");
		goto done;
	}
	*len = (size_t)git_blob_rawsize(blob);
	if (!(*data = malloc(*len + 1))) {
		*len = 0;
		rc = ctx_err_oom(ctx);
		goto done;
	}
	memcpy(*data, git_blob_rawcontent(blob), *len);
	(*data)[*len] = 0;
done:
	git_blob_free(blob);
	git_tree_free(dir);
	git_commit_free(head);
	return rc;
}
