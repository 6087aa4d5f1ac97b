/*
 * coordsync/cycle.h: the unattended cycle (`run`, each turn of `daemon`) as
 * one call, and the interval the daemon waits between two.  The
 * conventions of coordsync/common.h hold here.  Like the rest of the API,
 * nothing here prints: the cycle's log lines go to the caller's function,
 * in order, on the calling thread, during cs_cycle (a callback as
 * coordsync/common.h says: it makes no call on the handle).
 *
 * Lifetimes: a cs_cycle_result is the caller's struct, filled in; its
 * `failed` points to a static string, and `error` is a copy.
 *
 * Threads: a handle is one thread's at a time, and a cycle transfers with
 * the remote (coordsync/common.h).
 */
#ifndef COORDSYNC_CYCLE_H
#define COORDSYNC_CYCLE_H

#include "coordsync/common.h"
#include "coordsync/sync.h"

/* The levels of a cycle's log line, most severe first (as syslog's). */
enum { CS_LOG_ERR, CS_LOG_WARNING, CS_LOG_NOTICE, CS_LOG_INFO };

/* One line of the cycle's log: a step that failed, an auto-reply, a health
 * problem.  line is valid during the call only and holds text from the
 * remote as it is: the caller escapes it for where it goes. */
typedef void (*cs_cycle_log_fn)(int level, const char *line, void *arg);

typedef struct cs_cycle_opts {
	int health;             /* run the health checks (they run anyway when
				 * coordsync.health.alert is set) */
	cs_cycle_log_fn log;    /* may be NULL */
	void *log_arg;
	/* Called (with log_arg) as each step begins, by its name: a daemon's
	 * watchdog is fed between steps, never from a step that hangs.  May be
	 * NULL. */
	void (*step)(const char *name, void *arg);
} cs_cycle_opts;

/* What one cycle did. */
typedef struct cs_cycle_result {
	cs_sync_stats st;       /* the first sync's; head is the last one's */
	int intents;            /* deferred intents pushed by both syncs */
	int replied, marked;    /* auto-reply */
	int released;           /* expired locks cleaned up */
	int rescued;            /* jobs requeued (coordsync.rescue.olderthan) */
	int jobs_archived, msgs_archived;   /* coordsync.compact.olderthan */
	int health;             /* a CS_HEALTH_* status; -1 when not run */
	int alerts;             /* alerts sent */
	const char *failed;     /* the first step that failed ("sync", "heartbeat",
				 * "auto-reply", "lock cleanup", "rescue",
				 * "compact", "push deferred", "health"), or NULL */
	char error[512];        /* that step's message */
} cs_cycle_result;

/* One complete cycle on an open clone whose lock the caller holds
 * (cs_clone_lock): sync; heartbeat (with the cycle's deferred intents, or on its
 * own when the sync failed); auto-reply (coordsync.autoreply); lock
 * cleanup; rescue; compact; a second sync that pushes what was deferred;
 * health and alerts.  Steps after a failed one still run where they can:
 * a broken file must not stop the heartbeat.  Returns the first failure's
 * code (its step in res->failed). */
int cs_cycle(cs_ctx *ctx, const cs_cycle_opts *opts, cs_cycle_result *res);

/* The seconds the daemon waits before the next cycle, the seed's adaptive
 * interval: coordsync.interval.building while this server's status is
 * building, coordsync.interval.pending while jobs are queued, else
 * coordsync.interval.idle; between 1 and 86400.  300 when the mirror cannot
 * tell. */
int cs_cycle_interval(cs_ctx *ctx);

#endif
