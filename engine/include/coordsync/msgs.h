/*
 * coordsync/msgs.h: what a server publishes (its status, its heartbeat),
 * messages between servers, and the auto-reply to them.  The conventions
 * of coordsync/common.h hold here.
 *
 * Each call here is a decision: one SQLite transaction, one commit and one
 * push (a compare-and-swap on the remote branch), retried on a refused push
 * (cs_set_retries).  It takes the clone's lock (waiting up to a minute;
 * CS_EBUSY) and asks the handle's abort function (coordsync/handle.h)
 * when it begins and before it pushes.
 * With CS_DEFER, a status, heartbeat or message is instead queued in the
 * outbox (coordsync/outbox.h) for the next sync: nothing is pushed.
 *
 * Threads: a handle is one thread's at a time, and two calls that transfer
 * with a remote (these do) must not run at once on two threads of a
 * process (coordsync/common.h).
 */
#ifndef COORDSYNC_MSGS_H
#define COORDSYNC_MSGS_H

#include "coordsync/common.h"

/* defer is a set of flags: CS_DEFER queues the intent (1, for status and
 * heartbeat too), CS_FORCE sends a message to a recipient the remote does
 * not know.  Without CS_FORCE, `to` must be "all", this server, or a
 * server with a directory or a heartbeat on the remote (CS_EINVAL
 * otherwise). */
#define CS_DEFER 1
#define CS_FORCE 2

/* Set this server's status; kv is an array of n "KEY=VALUE" strings that
 * become its fields (read during the call only). */
int cs_status_set(cs_ctx *ctx, const char *status, const char *const *kv,
		  int n, int defer);
/* The same, and: remove the members named in unset[0, nunset) (not status
 * or timestamp; CS_EINVAL), or with replace write STATUS, the timestamp
 * and kv as the whole file, as the seed's update_status does.  e may be
 * NULL (cs_status_set). */
typedef struct cs_status_edit {
	const char *const *unset;
	int nunset;
	int replace;
} cs_status_edit;
int cs_status_update(cs_ctx *ctx, const char *status, const char *const *kv, int n,
		     const cs_status_edit *e, int defer);
int cs_heartbeat(cs_ctx *ctx, int defer);

/* Send a message.  *id_out: its id, malloc'd (free() it), also when it was
 * only queued; NULL on failure.  Sent now, CS_EREFUSED while another
 * server still holds the seed's message_queue lock after the wait of
 * cs_set_seed_wait. */
int cs_msg_send(cs_ctx *ctx, char **id_out, const char *to, const char *type,
		const char *subject, const char *body, int defer);
/* The same with typed fields: kv is an array of n "KEY=VALUE" strings that
 * become members of the message record (read during the call only), as
 * cs_job_add's do: VALUE is its JSON value when it is exactly one, else a
 * string.  A field coordsync writes itself (id, from, to, type, subject,
 * body, timestamp, read, read_by, in_reply_to) is CS_EINVAL. */
int cs_msg_send_set(cs_ctx *ctx, char **id_out, const char *to, const char *type,
		    const char *subject, const char *body, const char *const *kv, int n,
		    int defer);
/* Mark message id read. */
int cs_msg_read(cs_ctx *ctx, const char *id);
/* Mark read, in one decision, every message this server has not read yet
 * (direct ones, and broadcasts as cs_msg_read marks them); *count says how
 * many (0: nothing to commit). */
int cs_msg_read_all(cs_ctx *ctx, int *count);

/* Apply docs/auto_reply_rules.json to this server's unread messages in one
 * commit: each matching message is replied to and marked read, or marked
 * read, exactly once; unmatched ones stay unread; this server's own
 * messages are never processed.  *log: a line per action, malloc'd (free()
 * it), NULL when there is none or on failure. */
int cs_autoreply(cs_ctx *ctx, int *replied, int *marked, char **log);

#endif
