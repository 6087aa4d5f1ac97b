/* The seed's locks, which coordsync respects but never takes (locks.c). */
#ifndef CS_LOCKS_H
#define CS_LOCKS_H

#include "ctx.h"
#include "decide.h"

/* The seed's scripts take job_assignment around a claim and message_queue
 * around a send, each with commits of their own.  coordsync decides in one
 * commit and takes neither, but it does not claim or send while another
 * server holds them: the seed's push that follows would be refused, and
 * its claim_next_job runs the job anyway. */
#define LOCKS_SEED_JOBS "job_assignment"
#define LOCKS_SEED_MSGS "message_queue"

/* From inside a decision: CS_OK when lock name is free by coordsync's own
 * rules (the lock-delay and the watched lease, as lock acquire judges it)
 * or held by this server.  Else CS_EREFUSED, the message saying "cannot
 * WHAT" and who holds the lock until when, and *held set to 1. */
int locks_respect(cs_ctx *ctx, const char *name, const char *what, int *held);

/* decide_run(fn, arg), run again on fresh fetches while it is refused with
 * *held set (locks_respect), until ctx->seed_wait seconds have passed; the
 * last refusal then says how long it waited. */
int locks_wait_run(cs_ctx *ctx, decide_fn fn, void *arg, int *held);

#endif
