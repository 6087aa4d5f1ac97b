/* The decision loop: decide in one transaction, commit once on the remote
 * head we decided on, push as a compare-and-swap, and on refusal fetch and
 * decide again. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ctx.h"
#include "util.h"
#include "fault.h"
#include "db.h"
#include "tree.h"
#include "texts.h"
#include "transport.h"
#include "worktree.h"
#include "export.h"
#include "handle.h"
#include "mirror.h"
#include "decide.h"

/* ---- the decision loop -------------------------------------------------------- */

/* Bring the mirror to a commit this process has just pushed: import its
 * tree (only the files the decision changed differ from the mirror's, and
 * their texts are kept from the export), walk the history up to it, note
 * the watches, in one transaction taken after the push.  No fault steps:
 * those of the decision's own refresh come first. */
static int import_pushed(cs_ctx *ctx, const git_oid *commit, const git_oid *tree_id)
{
	cs_sync_stats st = {0};
	git_tree *tree = NULL;
	int rc;

	if (git_tree_lookup(&tree, ctx->repo, tree_id))
		return ctx_err_git(ctx, "cannot read the pushed tree");
	rc = mirror_import_commit(ctx, tree, commit, &st, 0, 1, 0);
	git_tree_free(tree);
	return rc;
}

int decide_edit_put(cs_ctx *ctx, const char *path, const char *data, size_t len)
{
	git_oid blob;
	int rc = texts_blob_write(ctx, path, data, len, &blob);
	return rc ? rc : tree_edit_add(ctx, &ctx->edits, &ctx->nedits, path, &blob);
}

int decide_base_read(cs_ctx *ctx, const char *path, char **out, size_t *len)
{
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	int rc = CS_OK;

	*out = NULL;
	*len = 0;
	if (!ctx->base)
		return ctx_err(ctx, CS_ERROR, "internal: no decision in progress");
	if (git_tree_entry_bypath(&e, ctx->base, path)) {
		git_error_clear();
		return CS_OK;
	}
	if ((rc = tree_blob_lookup(ctx, &b, git_tree_entry_id(e), path)))
		rc = rc == CTX_ETOOBIG ? CS_ERROR : rc;
	else if (!(*out = malloc((size_t)git_blob_rawsize(b) + 1)))
		rc = ctx_err_oom(ctx);
	else {
		*len = (size_t)git_blob_rawsize(b);
		memcpy(*out, git_blob_rawcontent(b), *len);
		(*out)[*len] = 0;
	}
	git_blob_free(b);
	git_tree_entry_free(e);
	return rc;
}

int decide_edit_remove(cs_ctx *ctx, const char *path)
{
	return tree_edit_add(ctx, &ctx->edits, &ctx->nedits, path, NULL);
}

/* The decision's tree, the one place its changes are applied: the files
 * whose records it changed (export_edits's edits) and then the files it
 * queued (decide_edit_put, decide_edit_remove), in one tree_apply on top of base.
 * *tree is the result; *changed is 1 when it differs from base. */
static int decide_apply(cs_ctx *ctx, git_tree *base, git_oid *tree, int *changed)
{
	tree_edit *ex = NULL, *all = NULL;
	size_t nex = 0;
	int rc;

	*changed = 0;
	if ((rc = export_edits(ctx, base, &ex, &nex)))
		goto done;
	if (!(all = malloc((nex + ctx->nedits + 1) * sizeof *all))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	/* Shallow copies: the paths stay with ex and ctx->edits. */
	if (nex)
		memcpy(all, ex, nex * sizeof *all);
	if (ctx->nedits)
		memcpy(all + nex, ctx->edits, ctx->nedits * sizeof *all);
	if (!(rc = tree_apply(ctx, base, all, nex + ctx->nedits, tree)))
		*changed = git_oid_cmp(tree, git_tree_id(base)) != 0;
done:
	free(all);
	tree_edits_free(ex, nex);
	return rc;
}

/* The wait after the attempt-th refused push (0 first): half the base,
 * then a random part of a window that grows by the base with each attempt
 * up to the cap (coordsync.retry.base, .cap; 10 ms and 500 ms by default,
 * so 5 ms plus up to 10, 20, ... 500 ms). */
static void backoff(cs_ctx *ctx, int attempt)
{
	long base = ctx->retry_base_ms > 0 ? ctx->retry_base_ms : 10;
	long cap = ctx->retry_cap_ms > 0 ? ctx->retry_cap_ms : 500;
	long steps = attempt < 0 ? 1 : attempt >= cap / base ? cap / base + 1 : attempt + 1;
	long window = base * steps < cap ? base * steps : cap;
	long ms = base / 2 + (long)(handle_random(ctx) % (unsigned long)window);
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The caller of a served command went away: decide nothing for it. */
static int aborted(cs_ctx *ctx)
{
	if (!ctx->abort_fn || !ctx->abort_fn(ctx->abort_arg))
		return CS_OK;
	return ctx_err(ctx, CS_ERROR, "the caller went away before the decision was pushed;"
		      " nothing was decided");
}

/* For a dry run (cs_set_dry_run): each record the decision marked. */
static int dry_report(cs_ctx *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(ctx, &st, "SELECT 'job', id, dirty FROM jobs WHERE dirty"
				  " UNION ALL SELECT 'message', id, dirty FROM messages WHERE dirty"
				  " UNION ALL SELECT 'lock', name, dirty FROM locks WHERE dirty"
				  " ORDER BY 1, 2");
	while (!rc && (rc = db_step(ctx, st)) == SQLITE_ROW) {
		ctx->dry_fn((const char *)sqlite3_column_text(st, 0),
			    (const char *)sqlite3_column_text(st, 1), sqlite3_column_int(st, 2),
			    ctx->dry_arg);
		rc = CS_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CS_OK : rc;
}

static int decide(cs_ctx *ctx, decide_fn fn, void *arg)
{
	int rc = CS_OK;

	if (!ctx->server)
		return ctx_err(ctx, CS_EINVAL, "no server id: pass --server or set coordsync.server");
	if ((rc = aborted(ctx)) || (rc = handle_lock_clone(ctx)))
		return rc;
	ctx->retries = 0;
	ctx->pushed[0] = 0;
	for (int attempt = 0; attempt < ctx->max_attempts; attempt++) {
		cs_sync_stats st = {0};
		git_oid head, tree_id, commit;
		git_tree *tree = NULL;
		sbuf msg = {0};
		int empty, changed = 0, turn = transport_turn_begin(ctx);

		if ((rc = mirror_refresh(ctx, &head, &empty, &tree, &st, 0, 0)) ||
		    (empty && (rc = ctx_err(ctx, CS_ERROR,
					  "the remote is empty; run 'coordsync init' first")))) {
			transport_turn_end(turn);
			return rc;
		}
		handle_edits_clear(ctx);
		ctx->base = tree;
		if ((rc = db_begin(ctx)))
			goto next;
		if ((rc = fn(ctx, arg, &msg)))
			goto next;
		if (ctx->dry_fn) {
			/* A dry run: say what changed, keep nothing. */
			if (!(rc = dry_report(ctx)))
				db_rollback(ctx);
			goto next;
		}
		FAULT_AT("after-decide");
		if ((rc = decide_apply(ctx, tree, &tree_id, &changed)))
			goto next;
		/* Nothing to write, or the same tree again (a status rewritten
		 * within the same second): no commit. */
		if (!changed || !git_oid_cmp(&tree_id, git_tree_id(tree))) {
			rc = db_commit(ctx);
			goto next;
		}
		if (msg.oom || !msg.n) {
			rc = ctx_err_oom(ctx);
			goto next;
		}
		if ((rc = aborted(ctx)))
			goto next;
		/* The decision is made and its commit built from the edits in
		 * memory: give the mirror's write lock back before the network.
		 * A writer that does not take the clone's flock (sqlite3, a
		 * reader turned writer) is never held up by a slow push; the
		 * flock keeps every other coordsync writer off the mirror, and
		 * the output (the job claimed, the fence) is in arg already. */
		db_rollback(ctx);
		if (!sqlite3_get_autocommit(ctx->db)) {
			rc = ctx_err(ctx, CS_ERROR, "cannot end the mirror's transaction before the push");
			goto next;
		}
		rc = transport_commit_push(ctx, &tree_id, &head, msg.p, &commit);
		transport_turn_end(turn);
		turn = -1;
		if (!rc) {
			char hex[GIT_OID_HEXSZ + 1];
			git_oid_tostr(hex, sizeof hex, &commit);
			FAULT_AT("after-push");
			/* The mirror catches up with the pushed commit the way it takes
			 * in any head: the import of the files the decision wrote (their
			 * bytes are at hand) and the history walk.  Its lock_fences
			 * come from the pushed file, so a grant's fence is remembered
			 * only when pushed, and by the next import if killed here. */
			if (!(rc = import_pushed(ctx, &commit, &tree_id))) {
				memcpy(ctx->pushed, hex, sizeof ctx->pushed);
				FAULT_AT("after-mirror");
				rc = worktree_move(ctx, &commit);
			}
			if (rc) {
				/* The decision is on the remote, and that is what counts:
				 * the clone catches up at its next import (a deferred
				 * intent, still in the outbox, is applied again as a
				 * no-op).  So it succeeded, with a word to the operator. */
				db_rollback(ctx);
				ctx_notice(ctx, "the decision is on the remote (commit %.12s) but this clone"
					  " could not record it: %s; the next sync catches up", hex, ctx->err);
				memcpy(ctx->pushed, hex, sizeof ctx->pushed);
				rc = CS_OK;
			}
		}
next:
		transport_turn_end(turn);
		ctx->base = NULL;
		if (rc)
			db_rollback(ctx);
		sb_free(&msg);
		git_tree_free(tree);
		if (rc != CTX_ERETRY) {
			handle_edits_clear(ctx);
			return rc;
		}
		ctx->retries++;
		backoff(ctx, attempt);
	}
	handle_edits_clear(ctx);
	{
		char last[sizeof ctx->err];
		memcpy(last, ctx->err, sizeof last);
		return ctx_err(ctx, CS_ERROR, "gave up after %d attempts; the last refusal: %s",
			      ctx->max_attempts, last);
	}
}

/* The versions of files a decision, a sync or a rebuild read are dropped at
 * its end: a daemon does not keep 30 MB files between its cycles (with
 * cs_hold it keeps those of up to 8 MiB for the next handle, texts_keeper). */
int decide_run(cs_ctx *ctx, decide_fn fn, void *arg)
{
	int rc = decide(ctx, fn, arg);
	texts_free(ctx);
	return rc;
}
