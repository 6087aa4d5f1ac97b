/* The engine's handle (struct cs_ctx) and its error slot: the lowest layer,
 * included by every engine module. */
#ifndef CS_CTX_H
#define CS_CTX_H

#include <stdarg.h>
#include <stdio.h>
#include <sqlite3.h>
#include <git2.h>
#include "coordsync/coordsync.h"

/* The largest coordination file read, by default (coordsync.maxfilesize):
 * 100k jobs are about 28 MB. */
#define CTX_MAX_BLOB ((long long)64 << 20)
#define CTX_MAX_KV 32                /* --set pairs per command */

/* A change to a file that is not a mirrored record (logs, archives). */
typedef struct tree_edit {
	char *path;
	git_oid blob;
	int remove;
} tree_edit;

struct cs_ctx {
	char err[1024];
	git_repository *repo;
	git_remote *origin;  /* looked up once: each lookup leaks in libgit2 1.5 */
	git_repository *local;  /* origin, when it is a path on this machine */
	int local_checked;      /* ... and whether that was looked at yet */
	int local_shared;       /* its core.sharedRepository (shared_mode) */
	char local_hooks[4096]; /* its hooks directory (shared_hooks_dir) */
	long import_rows;       /* rows written by imports so far */
	struct texts_version **texts; /* versions of files at hand (texts_get) */
	size_t ntexts;
	unsigned long text_tick;  /* ... and a clock of their use */
	struct texts_keeper *keeper;  /* its holder's kept versions (cs_hold), or NULL */
	sqlite3 *db;
	char *workdir;      /* the clone's working tree, with a trailing '/' */
	char *gitdir;       /* its .git directory, with a trailing '/' */
	char *dbpath;
	char *server;
	char *branch;       /* remote branch we coordinate on, e.g. "main" */
	int max_attempts;   /* decision retries */
	int retries;        /* refused pushes in the last decision */
	int retry_base_ms;  /* back-off step after a refused push (coordsync.retry.base) */
	int retry_cap_ms;   /* ... and the window's bound (coordsync.retry.cap) */
	char pushed[GIT_OID_HEXSZ + 1];  /* the commit the last decision pushed, or "" */
	int lock_delay;     /* seconds an expired lock of another server stays taken */
	double seed_wait;   /* seconds a claim or a send waits for a seed lock (cs_set_seed_wait) */
	long long max_file; /* largest file read, in bytes (coordsync.maxfilesize) */
	int query_seconds;  /* bound on an ad-hoc query or report (coordsync.query.timeout) */
	int lockfd;         /* flock on gitdir/coordsync/lock, or -1 */
	int mirrorfd;       /* shared flock on DBPATH.lock while the mirror is open, or -1 */
	int in_txn;
	tree_edit *edits;  /* queued by a decision, applied after its export */
	size_t nedits;
	git_tree *base;       /* during a decision: the remote tree it decides on */
	cs_notice_fn notice;  /* cs_set_notice */
	void *notice_arg;
	int cred_refused;     /* the remote refused our credentials: do not try again */
	cs_abort_fn abort_fn; /* cs_set_abort: asked before a decision pushes */
	void *abort_arg;
	cs_dry_fn dry_fn;     /* cs_set_dry_run: decide, report, push nothing */
	void *dry_arg;
	int malformed;        /* SQLite said the mirror is malformed (ctx_err_db) */
	char malformed_why[128];  /* ... and what it said */
	int accept_history;   /* cs_accept_history: import a head that is no descendant */
	int net_down;         /* a remote operation timed out: do not try again (net.c) */
	char net_down_msg[512];   /* ... and how */
	unsigned long long rand_state;  /* this handle's own random numbers (handle_random) */
};

/* Internal return codes, never seen outside the engine. */
#define CTX_ERETRY -100   /* internal: the push was refused, decide again */
#define CTX_ETOOBIG -101  /* internal: a file is over ctx->max_file */

/* ---- errors (ctx.c) -------------------------------------------------- */
int ctx_err(cs_ctx *ctx, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int ctx_err_git(cs_ctx *ctx, const char *what);   /* CS_ERROR, libgit2's text */
int ctx_err_db(cs_ctx *ctx, sqlite3 *db);         /* CS_ERROR, sqlite's text */
int ctx_err_oom(cs_ctx *ctx);
/* Tell the operator through the notice callback, if any. */
void ctx_notice(cs_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
