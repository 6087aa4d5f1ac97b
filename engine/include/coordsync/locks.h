/*
 * coordsync/locks.h: named locks of the fleet, each with a holder, an
 * expiry and a fence that rises with every new holder.  The conventions of
 * coordsync/common.h hold here.
 *
 * Each call here is a decision: one SQLite transaction, one commit and one
 * push (a compare-and-swap on the remote branch), retried on a refused push
 * (cs_set_retries).  It takes the clone's lock (waiting up to a minute;
 * CS_EBUSY) and asks the handle's abort function (coordsync/handle.h)
 * when it begins and before it pushes.
 *
 * Threads: a handle is one thread's at a time, and two calls that transfer
 * with a remote (these do) must not run at once on two threads of a
 * process (coordsync/common.h).
 */
#ifndef COORDSYNC_LOCKS_H
#define COORDSYNC_LOCKS_H

#include "coordsync/common.h"

/* A lock as it stands, filled into the caller's struct (no pointers). */
typedef struct cs_lock_info {
	long long fence;
	double expires_at;
	char holder[65];
} cs_lock_info;

/* Take lock name for ttl seconds, trying again for up to wait seconds while
 * another server holds it (CS_EREFUSED when it still does).  info (may be
 * NULL) gets the lock as it stands: this server's, or its holder's when
 * refused. */
int cs_lock_acquire(cs_ctx *ctx, const char *name, int ttl, int wait,
		    cs_lock_info *info);
/* Extend this server's hold of name to ttl seconds from now; info as above. */
int cs_lock_renew(cs_ctx *ctx, const char *name, int ttl, cs_lock_info *info);
int cs_lock_release(cs_ctx *ctx, const char *name);
/* Release every expired lock; *released counts them. */
int cs_lock_cleanup(cs_ctx *ctx, int *released);

#endif
