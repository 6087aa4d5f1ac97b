/* Intents: status, heartbeat and messages applied to their files
 * (intent.c), by a command at once or by the outbox's flush. */
#ifndef CS_INTENT_H
#define CS_INTENT_H

#include "ctx.h"
#include "util.h"
#include "coordsync/msgs.h"

struct cJSON;

/* From inside a decision: apply intent kind ("status", "heartbeat" or
 * "msg") with payload p (changed: its "set" may be taken), writing the
 * commit message into msg.  A payload marked "direct" is the command's own
 * (msgs.c); any other comes from the outbox, and is applied as the server
 * that recorded it.  Idempotent; CS_ERROR for a malformed intent. */
int intent_apply(cs_ctx *ctx, const char *kind, struct cJSON *p, sbuf *msg);
/* From inside a decision: add the message in (id, to, type, subject, and
 * optional body, in_reply_to and set_json, the typed fields of
 * cs_msg_send_set) from this server at time at, unless a message with its
 * id is there already. */
int intent_apply_msg(cs_ctx *ctx, const struct cJSON *in, double at);
/* The payload of a status intent (*out, the caller's): STATUS and the --set
 * list kv[0, n), each value as its JSON text, e's --unset names and
 * --replace (e may be NULL), and "at", now.  CS_EINVAL as the command. */
int intent_status_payload(cs_ctx *ctx, const char *status, const char *const *kv, int n,
		      const cs_status_edit *e, struct cJSON **out);
/* For the fuzzers, the value path without a repository: the payload text of
 * `status set STATUS --set kv...` (*out malloc'd; CS_EINVAL as the command),
 * and the text of status.json/heartbeat.json after a status or heartbeat
 * intent's payload is applied to cur (NULL: no file yet). */
int intent_status_text(cs_ctx *ctx, const char *status, const char *const *kv, int n, char **out);
int intent_text(cs_ctx *ctx, const char *payload, const char *cur, char **out);

#endif
