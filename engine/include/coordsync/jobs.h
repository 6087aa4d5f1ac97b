/*
 * coordsync/jobs.h: the job queue: add, claim, finish, cancel, requeue and
 * rescue.  The conventions of coordsync/common.h hold here.
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
#ifndef COORDSYNC_JOBS_H
#define COORDSYNC_JOBS_H

#include "coordsync/common.h"

/* Queue a job with id (NULL: a new UUID) and priority; kv is an array of n
 * "KEY=VALUE" strings that become job fields (read during the call only).
 * *id_out: the job's id, malloc'd (free() it), or NULL on failure. */
int cs_job_add(cs_ctx *ctx, char **id_out, const char *id, int priority,
	       const char *const *kv, int n);
/* Queue many jobs in one decision (one commit).  text (len bytes) is a
 * JSON array of job objects: each member is a job field as job add's
 * --set takes it ("id" as --id, "priority" as --priority, default 5), with
 * coordsync's own fields refused.  Every entry is checked before anything
 * is decided: CS_EINVAL naming the first bad one ("job 3 of 10"), nothing
 * pushed.  *ids_out: the n_out ids in order (cs_job_ids_free). */
int cs_job_add_batch(cs_ctx *ctx, char ***ids_out, int *n_out, const char *text, size_t len);
void cs_job_ids_free(char **ids, int n);   /* NULL-safe */
/* The record of job id as the mirror holds it (the file's record, as
 * imported: every field, --set ones too), as one line of JSON with "id"
 * first; malloc'd into *out (free() it).  id may be a unique prefix
 * (cs_id_resolve).  CS_ENOTFOUND when there is no such job. */
int cs_job_record(cs_ctx *ctx, char **out, const char *id);
/* Claim the next queued job for this server.  *id_out as for cs_job_add;
 * CS_EREFUSED when nothing is queued, or while another server still holds
 * the seed's job_assignment lock after the wait of cs_set_seed_wait. */
int cs_job_claim(cs_ctx *ctx, char **id_out);
int cs_job_done(cs_ctx *ctx, const char *id, const char *result);
int cs_job_fail(cs_ctx *ctx, const char *id, const char *error);
int cs_job_cancel(cs_ctx *ctx, const char *id);
/* Give back a claim of this server's that its caller never received: the
 * job is queued again with why as its error, the attempt stays counted and
 * the fence rises.  CS_EREFUSED when the job is not running here. */
int cs_job_requeue(cs_ctx *ctx, const char *id, const char *why);
/* Queue again the running jobs whose claim (and holder's heartbeat, if it
 * has one) stayed unchanged for older_than seconds, as this host watched
 * them; the fence rises.  *rescued counts them. */
int cs_job_rescue(cs_ctx *ctx, int older_than, int *rescued);

#endif
