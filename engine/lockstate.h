/* Whether another server holds a lock, by coordsync's rules; the seed's
 * locks, which coordsync respects but never takes (lockstate.c). */
#ifndef CS_LOCKSTATE_H
#define CS_LOCKSTATE_H

#include "ctx.h"
#include "util.h"
#include "decide.h"

/* What the mirror knows of one lock (lockstate_read). */
typedef struct lockstate {
	char *holder;         /* malloc'd; NULL: not held */
	int exists;           /* a locks.json member */
	int mine;             /* held by this server */
	int free_now;         /* free, or free to take from its holder */
	double now, expires, lease, watched, wait_watch;
	long long fence;
} lockstate;

/* Read lock name into *s (the caller frees s->holder), and fill info (may
 * be NULL) with what it found.  Another server's lock is free_now only
 * lock_delay seconds after its expires_at, and once this host has watched
 * it for its lease plus the lock-delay (lock_free_after, its boot clock). */
int lockstate_read(cs_ctx *ctx, const char *name, cs_lock_info *info, lockstate *s);
/* CS_EREFUSED for a lock s that another server holds: "HEAD held by HOLDER
 * until TIME", and why when its expiry has passed here. */
int lockstate_refuse(cs_ctx *ctx, const char *head, const lockstate *s);

/* The seed's scripts take job_assignment around a claim and message_queue
 * around a send, each with commits of their own.  coordsync decides in one
 * commit and takes neither, but it does not claim or send while another
 * server holds them: the seed's push that follows would be refused, and
 * its claim_next_job runs the job anyway. */
#define LOCKSTATE_SEED_JOBS "job_assignment"
#define LOCKSTATE_SEED_MSGS "message_queue"

/* From inside a decision: CS_OK when lock name is free by coordsync's own
 * rules or held by this server.  Else CS_EREFUSED, the message saying
 * "cannot WHAT" and who holds the lock until when, and *held set to 1. */
int lockstate_respect(cs_ctx *ctx, const char *name, const char *what, int *held);

/* decide_run(fn, arg), run again on fresh fetches while it is refused with
 * *held set (lockstate_respect), until ctx->seed_wait seconds have passed;
 * the last refusal then says how long it waited. */
int lockstate_wait_run(cs_ctx *ctx, decide_fn fn, void *arg, int *held);

#endif
