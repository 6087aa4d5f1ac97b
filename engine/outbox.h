/* The outbox: the file of deferred intents, how an intent (msg, status,
 * heartbeat) is applied, and the flush that pushes them (outbox.c). */
#ifndef CS_OUTBOX_H
#define CS_OUTBOX_H

#include "ctx.h"
#include "util.h"

struct cJSON;

/* ---- the outbox file -------------------------------------------------------- */
/* One pending intent, as the flush handles it. */
typedef struct outbox_intent {
	long long seq;
	char *kind, *payload;
	int state;          /* 0 not applied, 1 applied (delete it), -1 set it aside */
	char *error;        /* state -1: why */
} outbox_intent;
/* Queue an intent; never waits for a decision or a rebuild. */
int outbox_add(cs_ctx *ctx, const char *kind, const char *payload);
/* The intents to flush, oldest first: those not set aside (intents left in
 * the mirror by a previous version moved in first), counted as taken by a
 * flush; after process deaths, fewer (outbox.c).  Free with outbox_intents_free. */
int outbox_pending(cs_ctx *ctx, outbox_intent **out, int *n);
/* After the flush's decision: delete the applied ones (state 1), set aside
 * the failed ones (-1), and note that the flush came back from all. */
int outbox_settle(cs_ctx *ctx, outbox_intent *it, int n);
void outbox_intents_free(outbox_intent *it, int n);

/* ---- applying an intent ----------------------------------------------------- */
/* From inside a decision: apply intent kind ("status", "heartbeat" or
 * "msg") with payload p (changed: its "set" may be taken), writing the
 * commit message into msg.  A payload marked "direct" is the command's own
 * (msgs.c); any other comes from the outbox, and is applied as the server
 * that recorded it.  Idempotent; CS_ERROR for a malformed intent. */
int outbox_apply(cs_ctx *ctx, const char *kind, struct cJSON *p, sbuf *msg);
/* From inside a decision: add the message in (id, to, type, subject, and
 * optional body, in_reply_to and set_json, the typed fields of
 * cs_msg_send_set) from this server at time at, unless a message with its
 * id is there already. */
int outbox_apply_msg(cs_ctx *ctx, const struct cJSON *in, double at);
/* The payload of a status intent (*out, the caller's): STATUS and the --set
 * list kv[0, n), each value as its JSON text, e's --unset names and
 * --replace (e may be NULL), and "at", now.  CS_EINVAL as the command. */
int outbox_status_payload(cs_ctx *ctx, const char *status, const char *const *kv, int n,
		      const cs_status_edit *e, struct cJSON **out);
/* For the fuzzers, the value path without a repository: the payload text of
 * `status set STATUS --set kv...` (*out malloc'd; CS_EINVAL as the command),
 * and the text of status.json/heartbeat.json after a status or heartbeat
 * intent's payload is applied to cur (NULL: no file yet). */
int outbox_status_text(cs_ctx *ctx, const char *status, const char *const *kv, int n, char **out);
int outbox_intent_text(cs_ctx *ctx, const char *payload, const char *cur, char **out);

/* ---- the flush -------------------------------------------------------------- */
/* Push the outbox's intents in one commit; *delivered counts them.  One
 * that fails to apply is set aside with its error (a notice says so) and
 * the others still go out. */
int outbox_flush(cs_ctx *ctx, int *delivered);

#endif
