/* Whether another server holds a lock, by coordsync's rules (the
 * lock-delay and the watched lease): what lock acquire judges, and what
 * a claim or a message judges of the seed's locks, which coordsync
 * respects but never takes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ctx.h"
#include "util.h"
#include "db.h"
#include "clock.h"
#include "values.h"
#include "decide.h"
#include "lockstate.h"

int lockstate_read(cs_ctx *ctx, const char *name, cs_lock_info *info, lockstate *s)
{
	sqlite3_stmt *st = NULL;
	const char *holder = NULL;
	clock_reading boot;
	int rc;

	memset(s, 0, sizeof *s);
	s->now = values_now();
	s->watched = -1;
	if ((rc = clock_boot(ctx, &boot)))
		return rc;
	if ((rc = db_prepare(ctx, &st, "SELECT locked_by, expires_at, max(coalesce(fence, 0),"
				       " coalesce((SELECT fence FROM lock_fences f WHERE f.name=l.name), 0)),"
				       " (SELECT coalesce(lease, 0) FROM lock_free_after a WHERE a.name=l.name),"
				       " (SELECT :boot - seen_boot FROM lock_free_after a WHERE a.name=l.name"
				       "  AND a.boot_id = :bid)"
				       " FROM locks l WHERE name=:n")) ||
	    (rc = db_bind_text(ctx, st, ":n", name)) ||
	    (rc = db_bind_real(ctx, st, ":boot", boot.now)) ||
	    (rc = db_bind_text(ctx, st, ":bid", boot.id)))
		goto done;
	if ((rc = db_step(ctx, st)) == SQLITE_ROW) {
		s->exists = 1;
		holder = (const char *)sqlite3_column_text(st, 0);
		s->expires = sqlite3_column_double(st, 1);
		s->fence = sqlite3_column_int64(st, 2);
		s->lease = sqlite3_column_double(st, 3);
		if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			s->watched = sqlite3_column_double(st, 4);
	} else if (rc != SQLITE_DONE) {
		goto done;
	}
	rc = CS_OK;
	if (holder && !(s->holder = strdup(holder))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if (info) {
		snprintf(info->holder, sizeof info->holder, "%s", holder ? holder : "");
		info->expires_at = s->expires;
		info->fence = s->fence;
	}
	s->mine = holder && !strcmp(holder, ctx->server);
	/* Another server's lock stays taken for lock_delay seconds after it
	 * expires: clocks differ between servers.  And not before this host
	 * has watched it for its lease plus the lock-delay (lock_free_after),
	 * by its boot clock: a clock minutes ahead, here or at the holder, or
	 * a step of this host's wall clock, would otherwise take a live lock.
	 * No watch in this boot (watched < 0) is no time watched. */
	s->wait_watch = s->lease + ctx->lock_delay - s->watched;
	s->free_now = !holder || (s->expires + ctx->lock_delay < s->now && s->watched >= 0 &&
				  s->wait_watch <= 0);
done:
	sqlite3_finalize(st);
	return rc;
}

int lockstate_refuse(cs_ctx *ctx, const char *head, const lockstate *s)
{
	char iso[32];
	util_time_iso(s->expires, iso);
	if (s->expires + ctx->lock_delay < s->now)
		return ctx_err(ctx, CS_EREFUSED, "%s held by %s until %s by its clock, but this server"
			      " has watched that grant for less than its lease (free here in %.0fs):"
			      " clocks may differ", head, s->holder, iso,
			      ceil(s->watched < 0 ? s->lease + ctx->lock_delay : s->wait_watch));
	return ctx_err(ctx, CS_EREFUSED, "%s held by %s until %s", head, s->holder, iso);
}

int lockstate_respect(cs_ctx *ctx, const char *name, const char *what, int *held)
{
	lockstate s;
	int rc;
	*held = 0;
	if ((rc = lockstate_read(ctx, name, NULL, &s)))
		return rc;
	if (!s.mine && !s.free_now) {
		char head[128];
		*held = 1;
		snprintf(head, sizeof head, "cannot %s: '%s'", what, name);
		rc = lockstate_refuse(ctx, head, &s);
	}
	free(s.holder);
	return rc;
}

int lockstate_wait_run(cs_ctx *ctx, decide_fn fn, void *arg, int *held)
{
	double start = util_mono(), deadline = start + (ctx->seed_wait > 0 ? ctx->seed_wait : 0);
	int rc;
	for (;;) {
		*held = 0;
		rc = decide_run(ctx, fn, arg);
		if (rc != CS_EREFUSED || !*held)
			return rc;
		if (util_mono() >= deadline)
			break;
		/* The seed holds these locks for a few pushes: look again soon,
		 * each time on a fresh fetch. */
		double left = deadline - util_mono();
		double step = left < 0.5 ? left : 0.5;
		if (step > 0) {
			struct timespec ts = {(time_t)step, (long)((step - floor(step)) * 1e9)};
			nanosleep(&ts, NULL);
		}
	}
	if (ctx->seed_wait > 0) {
		char last[sizeof ctx->err];
		memcpy(last, ctx->err, sizeof last);
		rc = ctx_err(ctx, CS_EREFUSED, "%s (waited %.0fs)", last, util_mono() - start);
	}
	return rc;
}
