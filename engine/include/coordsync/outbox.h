/*
 * coordsync/outbox.h: intents deferred with --defer (CS_DEFER) wait in
 * .git/coordsync/outbox.db until a sync pushes them.  One that failed to
 * apply is set aside (error set) and skipped until retried.  The
 * conventions of coordsync/common.h hold here; these calls touch only the
 * outbox, never the remote.
 *
 * Threads: a handle is one thread's at a time (coordsync/common.h).
 */
#ifndef COORDSYNC_OUTBOX_H
#define COORDSYNC_OUTBOX_H

#include "coordsync/common.h"

/* One intent as cs_outbox_list shows it.  The struct and its strings are
 * the engine's, valid during the call of the cs_intent_fn only: copy what
 * is kept. */
typedef struct cs_intent {
	long long id;
	const char *kind;       /* status, heartbeat, msg */
	const char *payload;    /* its JSON arguments */
	double created_at;
	const char *error;      /* NULL: pending; else why it was set aside */
	double failed_at;
} cs_intent;

/* fn returns CS_OK to go on, or a code that stops the listing.  It is
 * called while the listing reads the outbox: it makes no call on the
 * handle (as a callback of coordsync/common.h). */
typedef int (*cs_intent_fn)(const cs_intent *in, void *arg);
/* Every intent, in the order queued, to fn; the code fn stopped with, or CS_OK. */
int cs_outbox_list(cs_ctx *ctx, cs_intent_fn fn, void *arg);
/* Put intent id (0: every set-aside one) back in line; *n counts them.
 * CS_ENOTFOUND for no such intent, CS_EREFUSED for one not set aside. */
int cs_outbox_retry(cs_ctx *ctx, long long id, int *n);
/* Delete intent id: it is never pushed.  CS_ENOTFOUND for none. */
int cs_outbox_drop(cs_ctx *ctx, long long id);
/* How many intents wait, and how many are set aside. */
int cs_outbox_count(cs_ctx *ctx, long long *pending, long long *held);

#endif
