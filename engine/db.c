/* A small statement layer over SQLite, in the spirit of Fossil's db_*:
 * prepare, bind by name, step, one-shot scalars, transactions, migrations. */
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "util.h"
#include "embedded.h"
#include "db.h"

/* Apply every embedded schema/NNN_*.sql whose number is above the current
 * PRAGMA user_version, each in its own transaction. */
static int db_migrate(cs_ctx *ctx)
{
	long long have;
	int rc;
	if ((rc = db_int(ctx, &have, "PRAGMA user_version", NULL)))
		return rc;
	for (const embedded_file *e = embedded_schema; e->name; e++) {
		long long v = strtoll(e->name, NULL, 10);
		char pragma[64];
		if (v <= have)
			continue;
		snprintf(pragma, sizeof pragma, "PRAGMA user_version=%lld", v);
		if ((rc = db_begin(ctx)))
			return rc;
		if ((rc = db_exec(ctx, e->text)) || (rc = db_exec(ctx, pragma))) {
			db_rollback(ctx);
			return ctx_err(ctx, rc, "migration %s: %s", e->name, ctx->err);
		}
		if ((rc = db_commit(ctx)))
			return rc;
	}
	return CS_OK;
}

/* (Re)create the views of queries/NAME.sql.  They are not data, so they are
 * replaced when the binary's text differs from what made them (a hash kept
 * in meta); otherwise opening the mirror writes nothing. */
static int db_views(cs_ctx *ctx)
{
	unsigned long long h = 1469598103934665603ULL;
	char hex[32], *have = NULL;
	int rc;
	for (const embedded_file *e = embedded_queries; e->name; e++)
		for (size_t i = 0; i < e->len; i++)
			h = (h ^ (unsigned char)e->text[i]) * 1099511628211ULL;
	snprintf(hex, sizeof hex, "%016llx", h);
	if ((rc = db_text(ctx, &have, "SELECT value FROM meta WHERE key='views'", NULL)))
		return rc;
	if (have && !strcmp(have, hex)) {
		free(have);
		return CS_OK;
	}
	free(have);
	if ((rc = db_begin(ctx)))
		return rc;
	for (const embedded_file *e = embedded_queries; e->name && !rc; e++)
		if ((rc = db_exec(ctx, e->text)))
			ctx_err(ctx, rc, "queries/%s: %s", e->name, ctx->err);
	if (!rc && !(rc = db_meta_set(ctx, "views", hex)))
		return db_commit(ctx);
	db_rollback(ctx);
	return rc;
}

int db_open(cs_ctx *ctx, const char *path, int how)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (how & DB_CREATE ? SQLITE_OPEN_CREATE : 0);
	int rc;
	if (sqlite3_open_v2(path, &ctx->db, flags, NULL) != SQLITE_OK) {
		rc = ctx_err(ctx, CS_ERROR, "cannot open mirror '%s': %s", path,
			    ctx->db ? sqlite3_errmsg(ctx->db) : "out of memory");
		sqlite3_close(ctx->db);
		ctx->db = NULL;
		return rc;
	}
	sqlite3_busy_timeout(ctx->db, 10000);
	sqlite3_extended_result_codes(ctx->db, 1);
	/* The mirror can be rebuilt from git, so NORMAL durability is enough.  A
	 * rebuild writes a new file that is renamed into place only when done,
	 * so it needs no journal at all until then. */
	if ((rc = db_exec(ctx, how & DB_BULK ? "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
					     : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")) ||
	    /* 32 MiB of cache and in-memory sorting for a large import; a
	     * helper thread for the index builds at its end. */
	    (rc = db_exec(ctx, "PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY; PRAGMA threads=1")))
		return rc;
	if ((rc = db_migrate(ctx)))
		return rc;
	return db_views(ctx);
}

int db_exec(cs_ctx *ctx, const char *sql)
{
	if (sqlite3_exec(ctx->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return ctx_err_db(ctx, ctx->db);
	return CS_OK;
}

int db_prepare(cs_ctx *ctx, sqlite3_stmt **out, const char *sql)
{
	if (sqlite3_prepare_v2(ctx->db, sql, -1, out, NULL) != SQLITE_OK)
		return ctx_err_db(ctx, ctx->db);
	return CS_OK;
}

static int bind_index(cs_ctx *ctx, sqlite3_stmt *st, const char *name)
{
	int i = sqlite3_bind_parameter_index(st, name);
	if (i == 0)
		ctx_err(ctx, CS_ERROR, "internal: no parameter '%s' in: %s", name, sqlite3_sql(st));
	return i;
}

#define BIND(call)                                                  \
	do {                                                        \
		int i_ = bind_index(ctx, st, name);                 \
		if (!i_)                                            \
			return CS_ERROR;                            \
		if ((call) != SQLITE_OK)                            \
			return ctx_err_db(ctx, sqlite3_db_handle(st)); \
	} while (0)

int db_bind_text(cs_ctx *ctx, sqlite3_stmt *st, const char *name, const char *v)
{
	if (!v)
		return db_bind_null(ctx, st, name);
	BIND(sqlite3_bind_text(st, i_, v, -1, SQLITE_TRANSIENT));
	return CS_OK;
}

int db_bind_int(cs_ctx *ctx, sqlite3_stmt *st, const char *name, long long v)
{
	BIND(sqlite3_bind_int64(st, i_, v));
	return CS_OK;
}

int db_bind_real(cs_ctx *ctx, sqlite3_stmt *st, const char *name, double v)
{
	BIND(sqlite3_bind_double(st, i_, v));
	return CS_OK;
}

int db_bind_null(cs_ctx *ctx, sqlite3_stmt *st, const char *name)
{
	BIND(sqlite3_bind_null(st, i_));
	return CS_OK;
}

int db_step(cs_ctx *ctx, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	return ctx_err_db(ctx, sqlite3_db_handle(st));
}

int db_run_binds(cs_ctx *ctx, const char *sql, const db_bind *b, int n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = db_prepare(ctx, &st, sql)))
		return rc;
	for (int i = 0; i < n && !rc; i++) {
		if (b[i].type == DB_BIND_TEXT)
			rc = db_bind_text(ctx, st, b[i].name, b[i].t);
		else if (b[i].type == DB_BIND_INT)
			rc = db_bind_int(ctx, st, b[i].name, b[i].i);
		else
			rc = db_bind_real(ctx, st, b[i].name, b[i].r);
	}
	if (!rc && (rc = db_step(ctx, st)) == SQLITE_DONE)
		rc = sqlite3_stmt_readonly(st) ? 0 : sqlite3_changes(ctx->db);
	else if (rc == SQLITE_ROW)
		rc = 1;
	sqlite3_finalize(st);
	return rc;
}

static int one_shot(cs_ctx *ctx, sqlite3_stmt **st, const char *sql, const char *a)
{
	int rc;
	if ((rc = db_prepare(ctx, st, sql)))
		return rc;
	if (a && (rc = db_bind_text(ctx, *st, ":a", a)))
		return rc;
	return db_step(ctx, *st);
}

int db_text(cs_ctx *ctx, char **out, const char *sql, const char *a)
{
	sqlite3_stmt *st = NULL;
	int rc = one_shot(ctx, &st, sql, a);
	*out = NULL;
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		rc = CS_OK;
		if (t && !(*out = strdup(t)))
			rc = ctx_err_oom(ctx);
	} else if (rc == SQLITE_DONE) {
		rc = CS_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

int db_int(cs_ctx *ctx, long long *out, const char *sql, const char *a)
{
	sqlite3_stmt *st = NULL;
	int rc = one_shot(ctx, &st, sql, a);
	*out = 0;
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = CS_OK;
	} else if (rc == SQLITE_DONE) {
		rc = CS_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

int db_meta_set(cs_ctx *ctx, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int rc;
	if (!(rc = db_prepare(ctx, &st, "INSERT OR REPLACE INTO meta(key, value) VALUES(:k, :v)")) &&
	    !(rc = db_bind_text(ctx, st, ":k", key)) &&
	    !(rc = db_bind_text(ctx, st, ":v", value)) &&
	    (rc = db_step(ctx, st)) == SQLITE_DONE)
		rc = CS_OK;
	sqlite3_finalize(st);
	return rc;
}

int db_begin(cs_ctx *ctx)
{
	int rc = db_exec(ctx, "BEGIN IMMEDIATE");
	if (!rc)
		ctx->in_txn = 1;
	return rc;
}

int db_commit(cs_ctx *ctx)
{
	int rc = db_exec(ctx, "COMMIT");
	if (!rc)
		ctx->in_txn = 0;
	return rc;
}

void db_rollback(cs_ctx *ctx)
{
	if (ctx->in_txn)
		sqlite3_exec(ctx->db, "ROLLBACK", NULL, NULL, NULL);
	ctx->in_txn = 0;
}

/* ---- bulk loads ---------------------------------------------------------- */


void db_indexes_free(db_indexes *ix)
{
	for (int i = 0; i < ix->n; i++)
		free(ix->sql[i]);
	free(ix->sql);
	ix->sql = NULL;
	ix->n = 0;
}

int db_indexes_drop(cs_ctx *ctx, const char *table, db_indexes *ix)
{
	sqlite3_stmt *st = NULL;
	sbuf drop = {0};
	int rc;
	if ((rc = db_prepare(ctx, &st, "SELECT name, sql FROM sqlite_master WHERE type='index'"
				       " AND tbl_name=:t AND sql IS NOT NULL")) ||
	    (rc = db_bind_text(ctx, st, ":t", table)))
		goto done;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		char **n = realloc(ix->sql, (size_t)(ix->n + 1) * sizeof *n);
		if (!n || !(n[ix->n] = strdup((const char *)sqlite3_column_text(st, 1)))) {
			ix->sql = n ? n : ix->sql;
			rc = ctx_err_oom(ctx);
			goto done;
		}
		ix->sql = n;
		ix->n++;
		sb_printf(&drop, "DROP INDEX \"%s\";", (const char *)sqlite3_column_text(st, 0));
	}
	if (rc != SQLITE_DONE)
		goto done;
	rc = drop.oom ? ctx_err_oom(ctx) : drop.n ? db_exec(ctx, drop.p) : CS_OK;
done:
	sb_free(&drop);
	sqlite3_finalize(st);
	return rc;
}

int db_indexes_create(cs_ctx *ctx, db_indexes *ix)
{
	int rc = CS_OK;
	for (int i = 0; i < ix->n && !rc; i++)
		rc = db_exec(ctx, ix->sql[i]);
	return rc;
}
