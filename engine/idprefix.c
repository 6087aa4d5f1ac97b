/* Unique prefixes of job and message ids (cs_id_resolve): what a person
 * types for an id, as git takes an abbreviated commit. */
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "util.h"
#include "db.h"

#define PREFIX_MIN 4        /* shorter: taken as the whole id */
#define PREFIX_SHOWN 10     /* candidates an ambiguity names */

int cs_id_resolve(cs_ctx *ctx, const char *kind, const char *id, char **full)
{
	int jobs = !strcmp(kind, "job");
	sqlite3_stmt *st = NULL;
	sbuf names = {0};
	char *first = NULL;
	int rc, n = 0;

	*full = NULL;
	if (!jobs && strcmp(kind, "message"))
		return ctx_err(ctx, CS_ERROR, "internal: no ids of kind '%s'", kind);
	if (!id || strlen(id) < PREFIX_MIN || !ctx->db)
		return CS_OK;
	rc = DB_RUN(ctx, jobs ? "SELECT 1 FROM jobs WHERE id=:i" : "SELECT 1 FROM messages WHERE id=:i",
		    DB_TEXT(":i", id));
	if (rc != 0)
		return rc < 0 ? rc : CS_OK;    /* the id itself */
	if ((rc = db_prepare(ctx, &st, jobs ? "SELECT id FROM jobs WHERE substr(id, 1, :n) = :i"
						" ORDER BY id LIMIT 11"
					    : "SELECT id FROM messages WHERE substr(id, 1, :n) = :i"
					      " ORDER BY id LIMIT 11")) ||
	    (rc = db_bind_int(ctx, st, ":n", (long long)strlen(id))) ||
	    (rc = db_bind_text(ctx, st, ":i", id)))
		goto done;
	while ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		if (!n && !(first = strdup(v ? v : ""))) {
			rc = ctx_err_oom(ctx);
			goto done;
		}
		if (n < PREFIX_SHOWN)
			sb_printf(&names, "%s%s", n ? ", " : "", v ? v : "");
		n++;
	}
	if (rc != SQLITE_DONE)
		goto done;
	rc = CS_OK;
	if (n == 1) {
		*full = first;
		first = NULL;
	} else if (n > 1) {
		rc = names.oom ? ctx_err_oom(ctx)
			       : ctx_err(ctx, CS_EINVAL, "%s id prefix '%s' is ambiguous: %s%s", kind, id,
					 names.p, n > PREFIX_SHOWN ? ", ..." : "");
	}
done:
	sqlite3_finalize(st);
	sb_free(&names);
	free(first);
	return rc;
}
