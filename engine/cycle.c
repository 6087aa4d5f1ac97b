/* The unattended cycle: what a run does, in what order, and how long the
 * daemon waits for the next.  Only the public API below the cycle, and the
 * mirror for the interval. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "coordsync/coordsync.h"
#include "db.h"

/* One line of the cycle's log to the caller's function, if any. */
static void cycle_log(const cs_cycle_opts *o, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cycle_log(const cs_cycle_opts *o, int level, const char *fmt, ...)
{
	va_list ap;
	char *line = NULL;
	int n;
	if (!o->log)
		return;
	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	o->log(level, n < 0 ? "coordsync: out of memory formatting a log line" : line, o->log_arg);
	if (n >= 0)
		free(line);
}

static int step_failed(const cs_cycle_opts *o, cs_cycle_result *cy, cs_ctx *ctx,
		       const char *step, int rc)
{
	if (!cy->failed) {
		cy->failed = step;
		snprintf(cy->error, sizeof cy->error, "%s", cs_errmsg(ctx));
	}
	cycle_log(o, CS_LOG_ERR, "coordsync: %s: %s", step, cs_errmsg(ctx));
	return rc;
}

/* A step begins: the caller hears of it (cs_cycle_opts.step). */
#define STEP(name) ((void)(o->step ? o->step((name), o->log_arg) : (void)0))

int cs_cycle(cs_ctx *ctx, const cs_cycle_opts *o, cs_cycle_result *cy)
{
	long long rescue = cs_config_num(ctx, "rescue.olderthan", 0);
	long long compact = 0;
	long long autoreply = cs_config_num(ctx, "autoreply", 1);
	char *alert = cs_config_get(ctx, "health.alert");
	char *token = cs_config_get(ctx, "health.tokenfile");
	char *log = NULL;
	int rc, first = CS_OK;

	memset(cy, 0, sizeof *cy);
	cy->health = -1;
	STEP("sync");
	if ((rc = cs_sync(ctx, &cy->st)))
		first = step_failed(o, cy, ctx, "sync", rc);
	cy->intents = cy->st.intents_pushed;
	/* The heartbeat goes out with the cycle's other deferred intents; when
	 * the sync failed (a broken file, say) it goes out on its own now. */
	STEP("heartbeat");
	if ((rc = cs_heartbeat(ctx, first ? 0 : 1)) && !first)
		first = step_failed(o, cy, ctx, "heartbeat", rc);
	if (autoreply) {
		STEP("auto-reply");
		if ((rc = cs_autoreply(ctx, &cy->replied, &cy->marked, &log)) && !first)
			first = step_failed(o, cy, ctx, "auto-reply", rc);
		for (char *line = log, *nl; line && *line; line = nl + 1) {
			if (!(nl = strchr(line, '\n')))
				break;
			*nl = 0;
			cycle_log(o, CS_LOG_INFO, "%s", line);
		}
	}
	STEP("lock cleanup");
	if ((rc = cs_lock_cleanup(ctx, &cy->released)) && !first)
		first = step_failed(o, cy, ctx, "lock cleanup", rc);
	if (rescue > 0)
		STEP("rescue");
	if (rescue > 0 && (rc = cs_job_rescue(ctx, (int)rescue, &cy->rescued)) && !first)
		first = step_failed(o, cy, ctx, "rescue", rc);
	/* An invalid compact.olderthan (a bare number of days from before it
	 * took units) fails this step alone, naming the setting. */
	if ((rc = cs_config_int(ctx, "compact.olderthan", &compact))) {
		STEP("compact");
		first = first ? first : step_failed(o, cy, ctx, "compact", rc);
		compact = 0;
	}
	if (compact > 0)
		STEP("compact");
	if (compact > 0 &&
	    (rc = cs_compact(ctx, compact, &cy->jobs_archived, &cy->msgs_archived)) && !first)
		first = step_failed(o, cy, ctx, "compact", rc);
	{
		cs_sync_stats st;
		STEP("push deferred");
		if ((rc = cs_sync(ctx, &st)) && !first)
			first = step_failed(o, cy, ctx, "push deferred", rc);
		cy->intents += st.intents_pushed;
		if (st.head[0])
			memcpy(cy->st.head, st.head, sizeof st.head);
	}
	if (o->health || alert) {
		cs_health_opts ho;
		STEP("health");
		cs_health *h = NULL;
		memset(&ho, 0, sizeof ho);
		ho.max_age = (int)cs_config_num(ctx, "health.maxage", 300);
		ho.stuck = (int)cs_config_num(ctx, "health.stuck", 3600);
		ho.alert_url = alert;
		ho.token_file = token;
		ho.alert_timeout = 10;
		if ((rc = cs_health_check(ctx, &h, &ho))) {
			if (!first)
				first = step_failed(o, cy, ctx, "health", rc);
		} else {
			cy->health = h->status;
			cy->alerts = h->sent;
			for (int i = 0; i < h->nproblems; i++)
				cycle_log(o, CS_LOG_WARNING, "health: %s", h->problems[i].message);
			if (h->pending)
				cycle_log(o, CS_LOG_WARNING,
					  "health: %d alert(s) not sent; the next run retries", h->pending);
		}
		cs_health_free(h);
	}
	free(log);
	free(alert);
	free(token);
	return first;
}

int cs_cycle_interval(cs_ctx *ctx)
{
	sqlite3_stmt *st = NULL;
	long long n = 300;
	if (!db_prepare(ctx, &st, "SELECT CASE WHEN (SELECT status FROM servers WHERE id=:s)"
				  " = 'building' THEN 1 WHEN EXISTS(SELECT 1 FROM jobs WHERE"
				  " status='queued') THEN 2 ELSE 3 END") &&
	    !db_bind_text(ctx, st, ":s", cs_server(ctx)) && db_step(ctx, st) == SQLITE_ROW) {
		int k = sqlite3_column_int(st, 0);
		n = k == 1 ? cs_config_num(ctx, "interval.building", 30)
		    : k == 2 ? cs_config_num(ctx, "interval.pending", 60)
			     : cs_config_num(ctx, "interval.idle", 300);
	}
	sqlite3_finalize(st);
	return n < 1 ? 1 : n > 86400 ? 86400 : (int)n;
}
