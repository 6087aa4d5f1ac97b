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
#include "import.h"
#include "export.h"

/* ---- ops (ops.c) ---------------------------------------------------- */
/* For the fuzzers, the value path without a repository: the payload text of
 * `status set STATUS --set kv...` (*out malloc'd; CS_EINVAL as the command),
 * and the text of status.json/heartbeat.json after a status or heartbeat
 * intent's payload is applied to cur (NULL: no file yet). */
int ops_status_payload(cs_ctx *ctx, const char *status, const char *const *kv, int n, char **out);
int ops_intent_text(cs_ctx *ctx, const char *payload, const char *cur, char **out);

/* ---- git (git.c) ------------------------------------------------------ */

void gx_init(void);   /* git_libgit2_init, the CA bundle left for gx_tls_ready */
/* The clone's remote 'origin' (owned by ctx). */
int gx_origin(cs_ctx *ctx, git_remote **out);
/* Clone url into dir, answering credential requests with auth (NULL, or a
 * NULL member: the coordsync.remote.* setting, from the environment).  A
 * URL that holds a password is refused. */
int gx_clone(cs_ctx *ctx, const char *url, const char *dir, const cs_remote_auth *auth);
/* "scheme://host[:port]" of a remote URL, without user or password, into
 * out: the only part of it put in a message.  Returns 1 when url is plain
 * http to a host that is not a loopback address. */
int gx_url_origin(const char *url, char *out, size_t len);
/* Fetch origin; *head is the remote branch's commit, or *empty is set. */
int gx_fetch(cs_ctx *ctx, git_oid *head, int *empty);
/* The tree of base (NULL: empty tree) with path set to blob; *out is its id. */
int gx_tree_put(cs_ctx *ctx, git_tree *base, const char *path, const git_oid *blob,
		git_oid *out);
/* The tree of base without path (and without directories left empty). */
int gx_tree_remove(cs_ctx *ctx, git_tree *base, const char *path, git_oid *out);
/* Commit tree on parent (NULL: a root commit), authored by the server, and
 * push it as a compare-and-swap: the remote branch must still be parent.
 * Returns CS_ERETRY when another server moved it first. */
int gx_commit_push(cs_ctx *ctx, const git_oid *tree, const git_oid *parent,
		   const char *msg, git_oid *commit);
/* Look up blob id, the file at path, refusing it from the object's header,
 * before anything is read or inflated, when it is over ctx->max_file:
 * CS_ETOOBIG with a message naming path, its size and the limit.  *out
 * belongs to the caller (git_blob_free). */
int gx_blob_lookup(cs_ctx *ctx, git_blob **out, const git_oid *id, const char *path);
/* Point the local branch and working tree at head (a safe checkout).  A
 * journal (gitdir/coordsync/checkout) names every file it is about to
 * write, with its old and new blob, until the branch is moved; an update
 * that finds one first brings coordsync's own interrupted writes back to
 * the local branch (HEAD), keeping hand edits.  A damaged index is set
 * aside and rebuilt from HEAD, with a notice. */
int gx_update_local(cs_ctx *ctx, const git_oid *head);
/* 1 when an earlier working-tree update was interrupted (its journal is
 * there): the next sync repairs it even when the branch is at the head. */
int gx_checkout_pending(cs_ctx *ctx);
/* Write repo's new loose objects at zlib's fastest level. */
int gx_fast_writes(cs_ctx *ctx, git_repository *repo);
/* Remove the lock files in the clone's git directory (HEAD, FETCH_HEAD,
 * packed-refs, config, any ref under refs/) that a coordsync or git killed
 * while it wrote them left behind; to be called with the clone's lock held.
 * A lock some process on this machine has open is left alone; one younger
 * than coordsync.stalelock only once it stayed unchanged for two seconds;
 * none with coordsync.stalelock 0.  Each removal or refusal is a notice. */
void gx_clone_locks_clear(cs_ctx *ctx);
int gx_turn_begin(cs_ctx *ctx);   /* -1: no turn taken */
void gx_turn_end(int fd);
/* One version of a coordination file, read once per process and shared by
 * the import, the export, the history walk and the working tree update,
 * with what they learnt about it.  Held versions are counted (refs). */
#define TEXT_LISTED 1   /* sc and top list its records (history's scan) */
#define TEXT_STRICT 2   /* ... and the import's scan (scan_file) accepted it */
typedef struct cs_text {
	git_oid id;
	char *path;          /* the file it was read or written as */
	const char *p;       /* its bytes */
	size_t n;
	git_blob *obj;       /* holds p, for a version read from git */
	char *copy;          /* holds p, for a blob this process wrote */
	int refs;
	int written;         /* written by the current decision: kept until gx_texts_clear */
	unsigned long used;  /* when it was last handed out */
	int checked;         /* passed the import's text check, whole */
	int scan;            /* 0, TEXT_LISTED or TEXT_STRICT */
	jscan sc;            /* a shared file's records */
	jspan top;           /* ... and their container, bracket to bracket */
} cs_text;
/* The version id of the shared file path, read through gx_blob_lookup
 * (CS_ETOOBIG over the limit) unless at hand.  Held by the caller until
 * gx_text_release; per path, at most two unheld versions read from git
 * stay.  Entries are per blob and path: a listing is of one kind of file. */
int gx_text_get(cs_ctx *ctx, cs_text **out, const git_oid *id, const char *path);
/* Blob id, held, when it is at hand (written, or read by gx_text_get); else
 * NULL, and nothing is read. */
cs_text *gx_text_hold(cs_ctx *ctx, const git_oid *id);
void gx_text_release(cs_ctx *ctx, cs_text *t);   /* NULL-safe */
/* Write a blob and keep its bytes until gx_texts_clear: the history walk
 * and the working tree update read them back without inflating. */
int gx_blob_write(cs_ctx *ctx, const char *path, const char *data, size_t len, git_oid *out);
/* The bytes of blob id when at hand (written, or read by gx_text_get), or
 * NULL; valid until the next gx_text_* or gx_texts_* call. */
const char *gx_blob_text(cs_ctx *ctx, const git_oid *id, size_t *len);
void gx_texts_clear(cs_ctx *ctx);   /* drops the blobs the decision wrote */
/* Drops everything: at the end of a sync, a decision or a rebuild, so that a
 * long-running process does not keep big files between them; with gx_keep
 * on, versions of up to 8 MiB go to a process-wide keeper instead, where the
 * next handle finds them. */
void gx_texts_free(cs_ctx *ctx);
void gx_keep(int on);   /* off frees what is kept */
/* Path of origin when it is a local repository, else NULL; caller frees. */
char *gx_local_path(const char *url);

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
