/* The outbox: the file of deferred intents and the flush that pushes them,
 * each applied by intent.h (outbox.c). */
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

/* ---- the flush -------------------------------------------------------------- */
/* Push the outbox's intents in one commit; *delivered counts them.  One
 * that fails to apply is set aside with its error (a notice says so) and
 * the others still go out. */
int outbox_flush(cs_ctx *ctx, int *delivered);

#endif
