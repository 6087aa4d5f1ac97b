/*
 * coordsync/health.h: checks of the fleet as the mirror shows it, and their
 * alerts.  The conventions of coordsync/common.h (return codes, messages on
 * the handle, who frees what, threads) hold here.
 *
 * Lifetimes: a cs_health and everything it points to (problems, their
 * strings, alert_error) is the caller's, valid until cs_health_free, which
 * frees it all; it holds no pointer into the handle, so it may outlive
 * cs_close.  opts and its strings are read during the call only.
 *
 * Threads: a handle is one thread's at a time; cs_health_check with sync
 * transfers with a remote (coordsync/common.h).  A cs_health may be read and
 * freed on any thread.
 */
#ifndef COORDSYNC_HEALTH_H
#define COORDSYNC_HEALTH_H

#include "coordsync/common.h"

/* Checks of the fleet as the mirror shows it (docs/HEALTH.md), graded as a
 * monitoring plugin grades them, and alerts posted over HTTP(S) once per
 * problem, with their state kept in the mirror's `alerts` table. */

#define CS_HEALTH_OK       0
#define CS_HEALTH_WARNING  1
#define CS_HEALTH_CRITICAL 2
#define CS_HEALTH_UNKNOWN  3

/* Zero members take the defaults in brackets. */
typedef struct cs_health_opts {
	int max_age;            /* heartbeat older than this is stale [300 s] */
	int stuck;              /* a job running longer is stuck [3600 s] */
	int backlog_age;        /* an unread message older than this is backlog [1800 s] */
	int backlog_count;      /* more unread messages than this for a server [50] */
	int max_skew;           /* heartbeat time vs. its commit time [120 s] */
	const char *const *ignore;  /* servers left out of per-server checks */
	int nignore;
	int sync;               /* fetch and import first; a failure is a problem */
	const char *alert_url;  /* http:// or https://; NULL: no alerts, nothing written */
	const char *token_file; /* bearer token for the alert, mode 0600; or NULL */
	int alert_timeout;      /* total seconds per post [10]; connecting: at most 5 */
	/* Thresholds on each server's heartbeat age in seconds, in the
	 * monitoring plugins' range syntax ("300", "10:", "~:10", "@10:20": a
	 * value outside the range, or inside it after '@', is a problem):
	 * NULL takes max_age for warning and twice max_age for critical.
	 * CS_EINVAL for one that does not parse. */
	const char *warning, *critical;
} cs_health_opts;

/* How the alert of a problem (or the recovery notice of a cleared one)
 * stands after this run. */
#define CS_ALERT_NONE    0  /* no --alert */
#define CS_ALERT_SENT    1  /* posted by this run */
#define CS_ALERT_EARLIER 2  /* posted by an earlier run; not sent again */
#define CS_ALERT_PENDING 3  /* not posted (failed); the next run retries */

typedef struct cs_problem {
	char *key;          /* "CHECK:SUBJECT", e.g. "stale:build2"; stable across runs */
	char *check;        /* stale, stuck, lock, backlog, skew, file, sync, duplicate */
	int severity;       /* CS_HEALTH_WARNING or CS_HEALTH_CRITICAL */
	char *server;       /* the server concerned, or NULL */
	char *message;      /* one line of printable text */
	char *values;       /* a JSON object: the numbers behind the message */
	double first_seen;  /* first run that saw it (alert state), or 0 */
	int alert;          /* CS_ALERT_* */
} cs_problem;

/* A heartbeat's age as the stale check measured it (performance data). */
typedef struct cs_health_beat {
	char *server;
	double age;             /* seconds; < 0 when the server has no heartbeat */
} cs_health_beat;

typedef struct cs_health {
	int status;             /* worst severity, CS_HEALTH_OK when none */
	int servers;            /* servers checked */
	cs_problem *problems;   /* worst first */
	int nproblems;
	cs_problem *cleared;    /* alerted problems gone since the last run */
	int ncleared;
	int sent, pending;      /* posts delivered / left for the next run */
	char *alert_error;      /* why a post failed, or NULL; never holds the token */
	/* The numbers behind the checks (a plugin's performance data): jobs
	 * queued and running, servers stale (or without a heartbeat), unread
	 * messages of the fleet's servers, locks held past expiry and grace;
	 * each server's heartbeat age, in fleet order; and the thresholds the
	 * ages were graded by, as range text. */
	long long queued, running, stale, unread, expired_locks;
	cs_health_beat *beats;
	int nbeats;
	char warning[64], critical[64];
} cs_health;

/* Run every check; with opts->alert_url, post new problems and recoveries.
 * CS_EINVAL for a bad option, URL or token file (checked before anything
 * else runs); CS_ERROR when the mirror cannot be read.  A failed post is
 * not an error: see (*out)->pending.  *out: the caller's, freed with
 * cs_health_free; NULL on failure.  With opts->sync it fetches first and
 * takes the clone's lock, as cs_sync does (coordsync/sync.h). */
int cs_health_check(cs_ctx *ctx, cs_health **out, const cs_health_opts *opts);
void cs_health_free(cs_health *h);   /* NULL-safe */

/* The name of a severity (CS_HEALTH_*), in lower case as the alerts and
 * --json say it ("ok", "warning", "critical", "unknown"), or in upper case
 * as a monitoring plugin's status line does ("OK", ...).  Any other value
 * is unknown.  Static strings; any thread. */
const char *cs_health_severity_name(int severity);
const char *cs_health_status_name(int severity);

#endif
