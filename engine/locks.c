/* The lock decisions: acquire, renew, release and cleanup.  Each is a
 * decide_fn: SQL over the freshly imported mirror that marks the records
 * it changes dirty; decide_run turns that into one commit and one push. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ctx.h"
#include "util.h"
#include "json_int.h"
#include "db.h"
#include "clock.h"
#include "values.h"
#include "export.h"
#include "decide.h"
#include "lockstate.h"

typedef struct lock_arg {
	const char *name;
	int ttl;
	cs_lock_info *info;
	int released;
} lock_arg;

/* A new grant of lock a->name, whose state is s: above every fence this
 * clone has seen for the lock, in the file, in its memory (lock_fences,
 * kept across rebuilds and accept-history) and in the lock's history, so
 * that a dropped entry or a rewound remote cannot make a fence repeat. */
static int lock_fence_next(cs_ctx *ctx, lock_arg *a, lockstate *s)
{
	long long seen = 0;
	int rc;
	if ((rc = db_int(ctx, &seen, "SELECT max(coalesce((SELECT fence FROM lock_fences"
			 " WHERE name=:a), 0), coalesce((SELECT max(fence) FROM lock_history"
			 " WHERE name=:a), 0))", a->name)))
		return rc;
	if (seen > s->fence)
		s->fence = seen;
	if (s->fence >= 9007199254740991LL)   /* 2^53 - 1: JSON's last exact integer */
		return ctx_err(ctx, CS_EREFUSED, "cannot lock '%s': its fence %lld is at the limit",
			      a->name, s->fence);
	s->fence++;
	return CS_OK;
}

/* Write lock a->name as held by this server for a->ttl seconds with fence
 * s->fence: a grant (acquire) or its extension (renew, s->mine). */
static int lock_grant(cs_ctx *ctx, lock_arg *a, const lockstate *s, sbuf *msg)
{
	double now = s->now;
	int rc;

	if (!s->exists) {
		cJSON *o = cJSON_CreateObject();
		char *text;
		if (!o)
			return ctx_err_oom(ctx);
		cJSON_AddStringToObject(o, "locked_by", ctx->server);
		cJSON_AddNumberToObject(o, "locked_at", now);
		cJSON_AddNumberToObject(o, "expires_at", now + a->ttl);
		cJSON_AddNumberToObject(o, "fence", (double)s->fence);
		text = values_render(o, 4);
		cJSON_Delete(o);
		if (!text)
			return ctx_err_oom(ctx);
		rc = export_add(ctx, "locks", a->name, text);
		free(text);
	} else {
		rc = DB_RUN(ctx, "UPDATE locks SET locked_by=:s, locked_at=CASE WHEN :m THEN"
				 " coalesce(locked_at, :t) ELSE :t END, expires_at=:e, fence=:f,"
				 " dirty=1 WHERE name=:n",
				DB_TEXT(":n", a->name), DB_TEXT(":s", ctx->server),
				DB_INT(":m", s->mine), DB_REAL(":t", now),
				DB_REAL(":e", now + a->ttl), DB_INT(":f", s->fence));
	}
	if (rc >= 0)
		rc = DB_RUN(ctx, "INSERT INTO lock_fences(name, fence) VALUES(:n, :f) ON CONFLICT(name)"
				 " DO UPDATE SET fence=max(fence, excluded.fence)",
				DB_TEXT(":n", a->name), DB_INT(":f", s->fence));
	if (rc >= 0) {
		rc = CS_OK;
		sb_printf(msg, "Lock %s %s by %s", a->name, s->mine ? "renewed" : "acquired",
			  ctx->server);
		if (a->info) {
			snprintf(a->info->holder, sizeof a->info->holder, "%s", ctx->server);
			a->info->expires_at = now + a->ttl;
			a->info->fence = s->fence;
		}
	}
	return rc < 0 ? rc : CS_OK;
}

/* One decision on lock a->name: read it (lockstate_read), let check refuse it
 * or prepare it, then write it. */
typedef int (*lock_check_fn)(cs_ctx *ctx, lock_arg *a, lockstate *s);
typedef int (*lock_write_fn)(cs_ctx *ctx, lock_arg *a, const lockstate *s, sbuf *msg);
static int lock_decide(cs_ctx *ctx, lock_arg *a, sbuf *msg, lock_check_fn check,
		       lock_write_fn write)
{
	lockstate s;
	int rc;
	if (!(rc = lockstate_read(ctx, a->name, a->info, &s)) && !(rc = check(ctx, a, &s)))
		rc = write(ctx, a, &s, msg);
	free(s.holder);
	return rc;
}

/* Acquire: refused while another server holds it; a new grant gets a new
 * fence. */
static int lock_may_acquire(cs_ctx *ctx, lock_arg *a, lockstate *s)
{
	if (!s->mine && !s->free_now) {
		char head[128];
		snprintf(head, sizeof head, "cannot lock '%s':", a->name);
		return lockstate_refuse(ctx, head, s);
	}
	return s->mine ? CS_OK : lock_fence_next(ctx, a, s);
}

/* Renew, release: only this server's own lock. */
static int lock_may_renew(cs_ctx *ctx, lock_arg *a, lockstate *s)
{
	if (!s->mine)
		return ctx_err(ctx, CS_EREFUSED, "cannot renew '%s': %s%s", a->name,
			      s->holder ? "held by " : "not held by ", s->holder ? s->holder : ctx->server);
	return CS_OK;
}

static int lock_may_release(cs_ctx *ctx, lock_arg *a, lockstate *s)
{
	int rc = CS_OK;
	if (!s->mine) {
		rc = ctx_err(ctx, CS_EREFUSED, "cannot release '%s': %s", a->name,
			    s->holder ? "held by another server" : "not held");
		if (s->holder)
			ctx_err(ctx, CS_EREFUSED, "cannot release '%s': held by %s", a->name, s->holder);
	}
	return rc;
}

static int lock_unset(cs_ctx *ctx, lock_arg *a, const lockstate *s, sbuf *msg)
{
	int rc;
	(void)s;
	rc = DB_RUN(ctx, "UPDATE locks SET locked_by=NULL, locked_at=NULL, expires_at=NULL,"
			 " dirty=1 WHERE name=:n", DB_TEXT(":n", a->name));
	sb_printf(msg, "Lock %s released by %s", a->name, ctx->server);
	return rc < 0 ? rc : CS_OK;
}

static int lock_acquire_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	return lock_decide(ctx, p, msg, lock_may_acquire, lock_grant);
}

static int lock_renew_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	return lock_decide(ctx, p, msg, lock_may_renew, lock_grant);
}

static int lock_release_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	return lock_decide(ctx, p, msg, lock_may_release, lock_unset);
}

static int lock_cleanup_fn(cs_ctx *ctx, void *p, sbuf *msg)
{
	lock_arg *a = p;
	double now = values_now();
	clock_reading boot;
	int rc;

	if ((rc = clock_boot(ctx, &boot)))
		return rc;
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

int cs_lock_acquire(cs_ctx *ctx, const char *name, int ttl, int wait, cs_lock_info *info)
{
	lock_arg a = {name, ttl, info, 0};
	double deadline = util_mono() + (wait > 0 ? wait : 0);
	int rc;
	if ((rc = values_check_name(ctx, "lock name", name)))
		return rc;
	if (ttl <= 0)
		return ctx_err(ctx, CS_EINVAL, "--ttl must be positive");
	for (;;) {
		rc = decide_run(ctx, lock_acquire_fn, &a);
		if (rc != CS_EREFUSED || util_mono() >= deadline)
			return rc;
		/* Poll: at most once a second, as the seed's min(5, ttl/10). */
		double left = deadline - util_mono();
		double step = left < 1 ? left : 1;
		struct timespec ts = {(time_t)step, (long)((step - floor(step)) * 1e9)};
		nanosleep(&ts, NULL);
	}
}

int cs_lock_renew(cs_ctx *ctx, const char *name, int ttl, cs_lock_info *info)
{
	lock_arg a = {name, ttl, info, 0};
	int rc;
	if ((rc = values_check_name(ctx, "lock name", name)))
		return rc;
	return decide_run(ctx, lock_renew_fn, &a);
}

int cs_lock_release(cs_ctx *ctx, const char *name)
{
	lock_arg a = {name, 0, NULL, 0};
	int rc;
	if ((rc = values_check_name(ctx, "lock name", name)))
		return rc;
	return decide_run(ctx, lock_release_fn, &a);
}

int cs_lock_cleanup(cs_ctx *ctx, int *released)
{
	lock_arg a = {NULL, 0, NULL, 0};
	int rc = decide_run(ctx, lock_cleanup_fn, &a);
	*released = a.released;
	return rc;
}
