/* The handle's error and notices (ctx.h): every module reports a failure
 * through ctx_err*, which keep the message on the handle. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "ctx.h"

/* ---- errors ---------------------------------------------------------- */

int ctx_err(cs_ctx *ctx, int code, const char *fmt, ...)
{
	char msg[sizeof ctx->err];
	va_list ap;
	/* Formatted aside: an argument may be ctx->err itself, the reason a
	 * caller wraps ("migration 003: %s", ctx->err). */
	if (ctx) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		memcpy(ctx->err, msg, sizeof msg);
	}
	return code;
}

int ctx_err_git(cs_ctx *ctx, const char *what)
{
	const git_error *e = git_error_last();
	/* A system error ("No space left on device") says where: in the
	 * clone, unless the message is about the remote, which names it. */
	if (e && e->klass == GIT_ERROR_OS && ctx && ctx->gitdir && !strstr(what, "remote"))
		return ctx_err(ctx, CS_ERROR, "%s: %s (in '%s')", what, e->message, ctx->gitdir);
	return ctx_err(ctx, CS_ERROR, "%s: %s", what,
		      e && e->message ? e->message : "unknown libgit2 error");
}

int ctx_err_db(cs_ctx *ctx, sqlite3 *db)
{
	int code = db ? sqlite3_errcode(db) & 0xff : SQLITE_NOMEM;
	const char *file = db ? sqlite3_db_filename(db, "main") : NULL;
	/* A malformed mirror is set aside and rebuilt by sync and rebuild. */
	if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
		ctx->malformed = 1;
		snprintf(ctx->malformed_why, sizeof ctx->malformed_why, "%s", sqlite3_errmsg(db));
		return ctx_err(ctx, CS_ERROR, "sqlite: %s (mirror '%s'): 'coordsync sync' or"
			      " 'coordsync rebuild' sets it aside and builds a new one",
			      sqlite3_errmsg(db), file && *file ? file : "?");
	}
	/* An I/O failure names the file and the system's reason: "disk I/O
	 * error" alone does not say that the disk is full. */
	if (code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_CANTOPEN) {
		int e = sqlite3_system_errno(db);
		if (e)
			return ctx_err(ctx, CS_ERROR, "sqlite: %s: %s (mirror '%s')", sqlite3_errmsg(db),
				      strerror(e), file && *file ? file : "?");
		return ctx_err(ctx, CS_ERROR, "sqlite: %s (code %d, mirror '%s')", sqlite3_errmsg(db),
			      sqlite3_extended_errcode(db), file && *file ? file : "?");
	}
	return ctx_err(ctx, CS_ERROR, "sqlite: %s", db ? sqlite3_errmsg(db) : "out of memory");
}

int ctx_err_oom(cs_ctx *ctx)
{
	return ctx_err(ctx, CS_ERROR, "out of memory");
}

void cs_set_notice(cs_ctx *ctx, cs_notice_fn fn, void *arg)
{
	ctx->notice = fn;
	ctx->notice_arg = arg;
}

void ctx_notice(cs_ctx *ctx, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	if (!ctx || !ctx->notice)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ctx->notice(msg, ctx->notice_arg);
}
