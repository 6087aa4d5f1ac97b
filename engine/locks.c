/* The lock decisions: acquire, renew, release and cleanup.  Each is a
 * cs_decide_fn: SQL over the freshly imported mirror that marks the records
 * it changes dirty; cs_decide turns that into one commit and one push. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cs_int.h"     /* cs_decide, model_add: not cut from it yet */
#include "ctx.h"
#include "util.h"
#include "clock.h"
#include "db.h"
#include "json_int.h"
#include "ops.h"

typedef struct lock_arg {
	const char *name;
	int ttl;
	int op;               /* 'a' acquire, 'r' renew, 'x' release, 'c' cleanup */
	cs_lock_info *info;
	int released;
} lock_arg;

static int lock_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	lock_arg *a = p;
	sqlite3_stmt *st = NULL;
	double now = ops_now();
	const char *holder = NULL;
	double expires = 0, lease = 0, watched = -1;
	long long fence = 0;
	cs_boot boot;
	int rc, exists = 0;

	if ((rc = cs_clock_boot(ctx, &boot)))
		return rc;
	if (a->op == 'c') {
		rc = DB_RUN(ctx, "UPDATE locks SET locked_by=NULL, locked_at=NULL, expires_at=NULL,"
				 " dirty=1 WHERE locked_by IS NOT NULL AND expires_at < :t AND"
				 " (locked_by = :s OR name IN (SELECT name FROM lock_free_after a"
				 "  WHERE a.boot_id = :bid AND :boot - a.seen_boot >="
				 "  coalesce(a.lease, 0) + :d))",
				DB_REAL(":t", now - ctx->lock_delay), DB_TEXT(":s", ctx->server),
				DB_TEXT(":bid", boot.id), DB_REAL(":boot", boot.now),
				DB_REAL(":d", ctx->lock_delay));
		if (rc < 0)
			return rc;
		a->released = rc;
		sb_puts(msg, "Cleanup expired locks");
		return CS_OK;
	}
	if ((rc = db_prepare(ctx, &st, "SELECT locked_by, expires_at, max(coalesce(fence, 0),"
				       " coalesce((SELECT fence FROM lock_fences f WHERE f.name=l.name), 0)),"
				       " (SELECT coalesce(lease, 0) FROM lock_free_after a WHERE a.name=l.name),"
				       " (SELECT :boot - seen_boot FROM lock_free_after a WHERE a.name=l.name"
				       "  AND a.boot_id = :bid)"
				       " FROM locks l WHERE name=:n")) ||
	    (rc = db_bind_text(ctx, st, ":n", a->name)) ||
	    (rc = db_bind_real(ctx, st, ":boot", boot.now)) ||
	    (rc = db_bind_text(ctx, st, ":bid", boot.id)))
		goto done;
	if ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		exists = 1;
		holder = (const char *)sqlite3_column_text(st, 0);
		expires = sqlite3_column_double(st, 1);
		fence = sqlite3_column_int64(st, 2);
		lease = sqlite3_column_double(st, 3);
		if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			watched = sqlite3_column_double(st, 4);
	} else if (rc != SQLITE_DONE) {
		goto done;
	}
	rc = CS_OK;
	if (a->info) {
		snprintf(a->info->holder, sizeof a->info->holder, "%s", holder ? holder : "");
		a->info->expires_at = expires;
		a->info->fence = fence;
	}
	int mine = holder && !strcmp(holder, ctx->server);
	/* Another server's lock stays taken for lock_delay seconds after it
	 * expires: clocks differ between servers.  And not before this host
	 * has watched it for its lease plus the lock-delay (lock_free_after),
	 * by its boot clock: a clock minutes ahead, here or at the holder, or
	 * a step of this host's wall clock, would otherwise take a live lock.
	 * No watch in this boot (watched < 0) is no time watched. */
	double wait_watch = lease + ctx->lock_delay - watched;
	int free_now = !holder || (expires + ctx->lock_delay < now && watched >= 0 &&
				   wait_watch <= 0);

	if (a->op == 'x') {
		if (!mine) {
			rc = cs_err(ctx, CS_EREFUSED, "cannot release '%s': %s", a->name,
				    holder ? "held by another server" : "not held");
			if (holder)
				cs_err(ctx, CS_EREFUSED, "cannot release '%s': held by %s", a->name, holder);
			goto done;
		}
		rc = DB_RUN(ctx, "UPDATE locks SET locked_by=NULL, locked_at=NULL, expires_at=NULL,"
				 " dirty=1 WHERE name=:n", DB_TEXT(":n", a->name));
		sb_printf(msg, "Lock %s released by %s", a->name, ctx->server);
		goto done;
	}
	if (a->op == 'r' && !mine) {
		rc = cs_err(ctx, CS_EREFUSED, "cannot renew '%s': %s%s", a->name,
			    holder ? "held by " : "not held by ", holder ? holder : ctx->server);
		goto done;
	}
	if (!mine && !free_now) {
		char iso[32];
		cs_time_iso(expires, iso);
		if (expires + ctx->lock_delay < now)
			rc = cs_err(ctx, CS_EREFUSED, "cannot lock '%s': held by %s until %s by its"
				    " clock, but this server has watched that grant for less than its"
				    " lease (free here in %.0fs): clocks may differ", a->name, holder, iso,
				    ceil(watched < 0 ? lease + ctx->lock_delay : wait_watch));
		else
			rc = cs_err(ctx, CS_EREFUSED, "cannot lock '%s': held by %s until %s", a->name,
				    holder, iso);
		goto done;
	}
	if (!mine) {
		/* A new grant: above every fence this clone has seen for the lock,
		 * in the file, in its memory (lock_fences, kept across rebuilds and
		 * accept-history) and in the lock's history, so that a dropped
		 * entry or a rewound remote cannot make a fence repeat. */
		long long seen = 0;
		if ((rc = db_int(ctx, &seen, "SELECT max(coalesce((SELECT fence FROM lock_fences"
				 " WHERE name=:a), 0), coalesce((SELECT max(fence) FROM lock_history"
				 " WHERE name=:a), 0))", a->name)))
			goto done;
		if (seen > fence)
			fence = seen;
		if (fence >= 9007199254740991LL) {   /* 2^53 - 1: JSON's last exact integer */
			rc = cs_err(ctx, CS_EREFUSED, "cannot lock '%s': its fence %lld is at the limit",
				    a->name, fence);
			goto done;
		}
		fence++;
	}
	if (!exists) {
		cJSON *o = cJSON_CreateObject();
		char *text;
		if (!o)
			return cs_err_oom(ctx);
		cJSON_AddStringToObject(o, "locked_by", ctx->server);
		cJSON_AddNumberToObject(o, "locked_at", now);
		cJSON_AddNumberToObject(o, "expires_at", now + a->ttl);
		cJSON_AddNumberToObject(o, "fence", (double)fence);
		text = ops_render(o, 4);
		cJSON_Delete(o);
		if (!text)
			return cs_err_oom(ctx);
		rc = model_add(ctx, "locks", a->name, text);
		free(text);
	} else {
		rc = DB_RUN(ctx, "UPDATE locks SET locked_by=:s, locked_at=CASE WHEN :m THEN"
				 " coalesce(locked_at, :t) ELSE :t END, expires_at=:e, fence=:f,"
				 " dirty=1 WHERE name=:n",
				DB_TEXT(":n", a->name), DB_TEXT(":s", ctx->server),
				DB_INT(":m", mine), DB_REAL(":t", now),
				DB_REAL(":e", now + a->ttl), DB_INT(":f", fence));
	}
	if (rc >= 0)
		rc = DB_RUN(ctx, "INSERT INTO lock_fences(name, fence) VALUES(:n, :f) ON CONFLICT(name)"
				 " DO UPDATE SET fence=max(fence, excluded.fence)",
				DB_TEXT(":n", a->name), DB_INT(":f", fence));
	if (rc >= 0) {
		rc = CS_OK;
		sb_printf(msg, "Lock %s %s by %s", a->name, mine ? "renewed" : "acquired", ctx->server);
		if (a->info) {
			snprintf(a->info->holder, sizeof a->info->holder, "%s", ctx->server);
			a->info->expires_at = now + a->ttl;
			a->info->fence = fence;
		}
	}
done:
	sqlite3_finalize(st);
	return rc < 0 ? rc : CS_OK;
}

int cs_lock_acquire(cs_ctx *ctx, const char *name, int ttl, int wait, cs_lock_info *info)
{
	lock_arg a = {name, ttl, 'a', info, 0};
	double deadline = cs_mono() + (wait > 0 ? wait : 0);
	int rc;
	if ((rc = ops_check_name(ctx, "lock name", name)))
		return rc;
	if (ttl <= 0)
		return cs_err(ctx, CS_EINVAL, "--ttl must be positive");
	for (;;) {
		rc = cs_decide(ctx, lock_fn, &a);
		if (rc != CS_EREFUSED || cs_mono() >= deadline)
			return rc;
		/* Poll: at most once a second, as the seed's min(5, ttl/10). */
		double left = deadline - cs_mono();
		double step = left < 1 ? left : 1;
		struct timespec ts = {(time_t)step, (long)((step - floor(step)) * 1e9)};
		nanosleep(&ts, NULL);
	}
}

int cs_lock_renew(cs_ctx *ctx, const char *name, int ttl, cs_lock_info *info)
{
	lock_arg a = {name, ttl, 'r', info, 0};
	int rc;
	if ((rc = ops_check_name(ctx, "lock name", name)))
		return rc;
	return cs_decide(ctx, lock_fn, &a);
}

int cs_lock_release(cs_ctx *ctx, const char *name)
{
	lock_arg a = {name, 0, 'x', NULL, 0};
	int rc;
	if ((rc = ops_check_name(ctx, "lock name", name)))
		return rc;
	return cs_decide(ctx, lock_fn, &a);
}

int cs_lock_cleanup(cs_ctx *ctx, int *released)
{
	lock_arg a = {NULL, 0, 'c', NULL, 0};
	int rc = cs_decide(ctx, lock_fn, &a);
	*released = a.released;
	return rc;
}
