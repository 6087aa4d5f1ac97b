/* Declarations still shared across the engine while it is cut into modules:
 * each section moves to its module's own header. */
#ifndef CS_INT_H
#define CS_INT_H

#include "ctx.h"
#include "util.h"
#include "fault.h"
#include "clock.h"
#include "db.h"
#include "json.h"
#include "history.h"
#include "net.h"
#include "shared.h"
#include "identity.h"
#include "cred.h"
#include "transport.h"
#include "tree.h"
#include "texts.h"
#include "worktree.h"

/* ---- model (model.c) -------------------------------------------------- */
struct git_tree;
int model_import_tree(cs_ctx *ctx, git_tree *tree, cs_sync_stats *st, int force);
/* Import s[0, len) as the file at path (coordination/jobs.json, ..., or
 * SERVER/status.json), without git: the checks and the import a sync runs,
 * in a savepoint, so a file that fails leaves the rows as they were.  For
 * the fuzzers; CS_EINVAL for a path that is not a coordination file. */
int model_import_buffer(cs_ctx *ctx, const char *path, const char *s, size_t len);
/* Write every dirty record into new blobs on top of tree, giving *out. */
int model_export(cs_ctx *ctx, git_tree *base, git_oid *out_tree, int *changed);

/* orig (a JSON object's text) with members keys[i] set to the JSON texts
 * vals[i]: existing members are replaced in place, others appended in the
 * object's own layout; all other bytes are kept.  *out is malloc'd. */
int model_patch(cs_ctx *ctx, const char *orig, const char *const *keys, char *const *vals,
		int n, char **out);

/* The export's invariant for one record text of the file at path (its
 * kind: jobs.json, ..., status.json): 0, or CS_EREFUSED saying what the
 * importer would refuse.  key: a lock's name or a server's id. */
int model_check_record(cs_ctx *ctx, const char *path, const char *key, const char *text);
/* For the fuzzers, the value path without a repository: the payload text of
 * `status set STATUS --set kv...` (*out malloc'd; CS_EINVAL as the command),
 * and the text of status.json/heartbeat.json after a status or heartbeat
 * intent's payload is applied to cur (NULL: no file yet). */
int ops_status_payload(cs_ctx *ctx, const char *status, const char *const *kv, int n, char **out);
int ops_intent_text(cs_ctx *ctx, const char *payload, const char *cur, char **out);

/* A new record of table (jobs, locks, messages) from its text, typed as an
 * import types it, to be appended by the next export.  name is the lock's
 * name (the key of a locks.json member); NULL for the others. */
int model_add(cs_ctx *ctx, const char *table, const char *name, const char *text);
/* The text of a jobs.json- or messages.json-shaped file at path (s NULL:
 * the template) with n records appended in its layout.  *out is malloc'd. */
int model_append(cs_ctx *ctx, const char *path, const char *s, size_t len,
		 char *const *texts, size_t n, char **out);

/* ---- secret files (health.c) ------------------------------------------- */
/* The one token in path, a regular file of this user with mode 0600 or
 * stricter; errors name the file, never its content.  The caller wipes
 * (explicit_bzero) and frees *out. */
int cs_token_read(cs_ctx *ctx, const char *path, char **out);
/* 1 when the n bytes of host name a loopback address (localhost, 127.x.y.z,
 * [::1]), where a secret may go over plain http. */
int cs_host_loopback(const char *host, size_t n);
/* CS_OK when path is a regular file of this user with mode 0600 or
 * stricter; else CS_EINVAL with a message naming it as what ("ssh key"). */
int cs_secret_check(cs_ctx *ctx, const char *what, const char *path);

/* ---- decisions (sync.c) ------------------------------------------------ */
/* A decision: SQL changes made inside the decision transaction, over a
 * freshly imported mirror.  It marks records dirty and writes the commit
 * message into msg.  Returns CS_OK, or a code that aborts the decision. */
typedef int (*cs_decide_fn)(cs_ctx *ctx, void *arg, sbuf *msg);
int cs_decide(cs_ctx *ctx, cs_decide_fn fn, void *arg);
/* From inside a decision: the text of path in the tree being decided on
 * (*out malloc'd and NUL-terminated, NULL when the file is absent). */
int cs_base_read(cs_ctx *ctx, const char *path, char **out, size_t *len);
/* From inside a decision: write data at path, or remove path, in the
 * decision's commit.  Cleared before every attempt. */
int cs_edit_put(cs_ctx *ctx, const char *path, const char *data, size_t len);
int cs_edit_remove(cs_ctx *ctx, const char *path);
/* Push the outbox's intents in one commit; *delivered counts them.  One
 * that fails to apply is set aside with its error (a notice says so) and
 * the others still go out. */
int cs_outbox_flush(cs_ctx *ctx, int *delivered);

/* ---- the outbox file (outbox.c) ------------------------------------------ */
/* One pending intent, as the flush handles it. */
typedef struct ob_intent {
	long long seq;
	char *kind, *payload;
	int state;          /* 0 not applied, 1 applied (delete it), -1 set it aside */
	char *error;        /* state -1: why */
} ob_intent;
/* Queue an intent; never waits for a decision or a rebuild. */
int ob_add(cs_ctx *ctx, const char *kind, const char *payload);
/* The intents to flush, oldest first: those not set aside (intents left in
 * the mirror by a previous version moved in first), counted as taken by a
 * flush; after process deaths, fewer (outbox.c).  Free with ob_free. */
int ob_pending(cs_ctx *ctx, ob_intent **out, int *n);
/* After the flush's decision: delete the applied ones (state 1), set aside
 * the failed ones (-1), and note that the flush came back from all. */
int ob_settle(cs_ctx *ctx, ob_intent *it, int n);
void ob_free(ob_intent *it, int n);
/* Take the clone's process lock (flock), waiting a bounded time. */
int cs_lock_clone(cs_ctx *ctx);

#endif
