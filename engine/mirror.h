/* The mirror: its file, the import transaction that brings it to a remote
 * head, and a malformed mirror set aside (mirror.c). */
#ifndef CS_MIRROR_H
#define CS_MIRROR_H

#include "ctx.h"

/* ---- the mirror's file (mirror.c) --------------------------------------- */
/* Put the finished mirror fresh (a file at tmp) in the place of the open
 * one (ctx->db): swapped in under an exclusive handle_mirror_lock, or else
 * copied into the open mirror in one transaction.  Closes fresh; tmp is gone
 * afterwards. */
int mirror_replace(cs_ctx *ctx, sqlite3 *fresh, const char *tmp);

/* ---- import (mirror.c) -------------------------------------------------- */
/* Bring the mirror to head (its commit) and tree in one transaction: import
 * the files whose blob changed (force: all), walk the history to it
 * (history), note the watches and instances, record the head.  fault: run
 * the test hook's "import" step before the COMMIT. */
int mirror_import_commit(cs_ctx *ctx, git_tree *tree, const git_oid *head, cs_sync_stats *st,
			 int force, int history, int fault);
/* Fetch and import the remote head (force: every file); with history, also
 * walk the history up to it.  The import is committed even when some files
 * failed (st counts them).  *empty is set when the remote branch does not
 * exist; else *head is its commit and *tree its tree, which the caller
 * frees.  A head that is no descendant of the last imported one is refused
 * (CS_ERROR), unless ctx->accept_history. */
int mirror_refresh(cs_ctx *ctx, git_oid *head, int *empty, git_tree **tree, cs_sync_stats *st,
		   int force, int history);

/* ---- a malformed mirror (mirror.c) -------------------------------------- */
/* Set the malformed mirror aside (renamed, kept for inspection), open a new
 * one in its place with what can be read of the tables git cannot give
 * back; the caller then imports everything.  Takes the clone's lock, and
 * waits up to 10 s for other processes to close the mirror (CS_EBUSY). */
int mirror_set_aside(cs_ctx *ctx);
/* Copy the tables git cannot give back (deferred intents, fences, watches,
 * alerts) from the mirror file at old into ctx->db. */
int mirror_copy_kept(cs_ctx *ctx, const char *old);

#endif
