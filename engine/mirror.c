/* The mirror: its file (swapped in by a rebuild), the import transaction
 * that brings it to a remote head, and a malformed mirror set aside with
 * what git cannot give back salvaged. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include "ctx.h"
#include "util.h"
#include "fault.h"
#include "db.h"
#include "clock.h"
#include "transport.h"
#include "sign.h"
#include "import.h"
#include "history.h"
#include "identity.h"
#include "handle.h"
#include "mirror.h"

/* ---- the mirror's file ------------------------------------------------------ */

int cs_mirror_malformed(const cs_ctx *ctx)
{
	return ctx && ctx->malformed;
}

/* Put the finished mirror fresh (a file at tmp) in the place of the open one
 * (ctx->db).  When no other process has the mirror open
 * (handle_mirror_lock), the file is swapped in, with no -wal or -shm of the
 * old one left (a process that crashed leaves them); the handle then opens
 * it.  Otherwise fresh is
 * copied into the open mirror in one transaction (SQLite's backup API), which
 * the other connections see as any other write.  Closes fresh. */
int mirror_replace(cs_ctx *ctx, sqlite3 *fresh, const char *tmp)
{
	static const char *const stale[] = {"-wal", "-shm"};
	sqlite3_backup *b;
	int rc;

	if ((rc = handle_mirror_lock(ctx, LOCK_EX, 1000)) == CS_OK) {
		sqlite3_close(fresh);
		sqlite3_close(ctx->db);
		ctx->db = NULL;
		for (size_t i = 0; i < sizeof stale / sizeof *stale; i++) {
			char *p = handle_join(ctx->dbpath, stale[i]);
			if (p)
				unlink(p);
			free(p);
		}
		if (util_replace_file(tmp, ctx->dbpath))
			rc = ctx_err(ctx, CS_ERROR, "cannot replace '%s': %s", ctx->dbpath,
				    strerror(errno));
		if (!rc && !(rc = db_open(ctx, ctx->dbpath, 0)))
			rc = handle_mirror_lock(ctx, LOCK_SH, 0);
		return rc;
	}
	if (rc != CS_EBUSY || (rc = handle_mirror_lock(ctx, LOCK_SH, 60000))) {
		sqlite3_close(fresh);
		unlink(tmp);
		return rc == CS_EBUSY ? ctx_err(ctx, CS_EBUSY, "a rebuild is replacing the mirror") : rc;
	}
	if (!(b = sqlite3_backup_init(ctx->db, "main", fresh, "main"))) {
		rc = ctx_err_db(ctx, ctx->db);
	} else {
		rc = sqlite3_backup_step(b, -1);
		sqlite3_backup_finish(b);
		rc = rc == SQLITE_DONE ? CS_OK : ctx_err_db(ctx, ctx->db);
	}
	sqlite3_close(fresh);
	unlink(tmp);
	return rc;
}

/* ---- import ---------------------------------------------------------------- */

/* Fetch and import the remote head.  Commits the import even when some
 * files failed; *tree is the remote tree (NULL when the remote is empty). */
/* Walk the history up to head when the last walk stopped short of it. */
static int history_catch_up(cs_ctx *ctx, const git_oid *head, const char *hex, cs_sync_stats *st)
{
	char *walked = NULL;
	int rc = db_text(ctx, &walked, "SELECT value FROM meta WHERE key='history_head'", NULL);
	if (!rc && (!walked || strcmp(walked, hex)) && !(rc = db_begin(ctx))) {
		if ((rc = history_update(ctx, head, &st->history_rows)))
			db_rollback(ctx);
		else
			rc = db_commit(ctx);
	}
	free(walked);
	return rc;
}

/* The remote head must descend from the head this mirror last imported or
 * pushed (meta last_head, else remote_head; in a new mirror, the clone's
 * local branch), unless accept-history is running: a remote rewound or
 * replaced by another history, or a branch deleted, would otherwise be
 * imported as if nothing had happened, and done jobs claimed again.  head
 * is NULL when the remote branch is gone.  The refusal is kept in meta
 * history_rewrite for health, until the remote is back or accepted. */
static int history_check(cs_ctx *ctx, const git_oid *head)
{
	sqlite3_stmt *st = NULL;
	char name[256], msg[600] = "", bhex[GIT_OID_HEXSZ + 1], hhex[GIT_OID_HEXSZ + 1];
	const char *b, *flag;
	git_oid base;
	int rc, known = 0;

	if ((rc = db_prepare(ctx, &st, "SELECT coalesce((SELECT value FROM meta WHERE key='last_head'),"
				       " (SELECT value FROM meta WHERE key='remote_head')),"
				       " (SELECT value FROM meta WHERE key='history_rewrite')")) ||
	    (rc = db_step(ctx, st)) != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? CS_OK : rc;   /* one row, always */
		goto done;
	}
	rc = CS_OK;
	b = (const char *)sqlite3_column_text(st, 0);
	flag = (const char *)sqlite3_column_text(st, 1);
	snprintf(name, sizeof name, "refs/heads/%s", ctx->branch);
	if (b && !git_oid_fromstr(&base, b))
		known = 1;
	else if (!git_reference_name_to_id(&base, ctx->repo, name))
		known = 1;
	git_error_clear();
	if (!known)
		goto ok;
	git_oid_tostr(bhex, sizeof bhex, &base);
	if (!head) {
		snprintf(msg, sizeof msg, "the remote branch '%s' is gone (branch deleted); the last"
			 " imported head was %.12s: nothing was imported or decided; push the branch"
			 " back (this clone's '%s' has it) rather than running init", ctx->branch, bhex,
			 ctx->branch);
	} else if (git_oid_cmp(head, &base) && git_graph_descendant_of(ctx->repo, head, &base) != 1) {
		git_error_clear();
		git_oid_tostr(hhex, sizeof hhex, head);
		snprintf(msg, sizeof msg, "the remote branch '%s' was rewritten: its head %.12s is not"
			 " a descendant of %.12s, the last imported head (a force-push rewound it or"
			 " replaced its history): nothing was imported or decided; check the remote,"
			 " then run 'coordsync accept-history' to accept it", ctx->branch, hhex, bhex);
	}
	if (!msg[0])
		goto ok;
	/* Outside any transaction: the refusal stays for health to report. */
	if ((!flag || strcmp(flag, msg)) && !ctx->in_txn) {
		sqlite3_finalize(st);
		st = NULL;
		db_meta_set(ctx, "history_rewrite", msg);
	}
	rc = ctx_err(ctx, CS_ERROR, "%s", msg);
	goto done;
ok:
	if (flag && !ctx->in_txn) {
		sqlite3_finalize(st);
		st = NULL;
		rc = db_exec(ctx, "DELETE FROM meta WHERE key='history_rewrite'");
	}
done:
	sqlite3_finalize(st);
	return rc;
}

/* Record (msg) or clear (NULL) a refusal for health (meta
 * signature_refused), outside any transaction, as history_check does. */
static void signature_note(cs_ctx *ctx, const char *msg)
{
	char *had = NULL;
	if (ctx->in_txn || db_text(ctx, &had, "SELECT value FROM meta WHERE key='signature_refused'",
				   NULL))
		return;
	if (msg && (!had || strcmp(had, msg)))
		db_meta_set(ctx, "signature_refused", msg);
	else if (!msg && had)
		db_exec(ctx, "DELETE FROM meta WHERE key='signature_refused'");
	free(had);
}

/* coordsync.verify: check the signature of each new first-parent commit,
 * from head back to the head this mirror last imported or pushed (a new
 * mirror: the head alone), at most coordsync.verify.max of them.  Under
 * `require` a commit not signed by a trusted key (sign_verify) refuses the
 * whole import, CS_ERROR naming the commit and its signer, kept for health
 * until a sync passes; so does a run of more new commits than the bound,
 * which cannot all be checked.  Under `warn` each such commit is a notice
 * (the first five, then their count), and beyond the bound only the newest
 * are checked.  `off`: nothing is checked. */
static int signature_check(cs_ctx *ctx, const git_oid *head)
{
	char *mode = cs_config_get(ctx, "verify"), *b = NULL;
	char hex[GIT_OID_HEXSZ + 1], signer[600], msg[1000] = "", name[256];
	git_oid base, cur = *head;
	git_commit *c = NULL;
	int rc = CS_OK, require, known = 0, warned = 0;
	long long count = 0, max;

	if (!mode || !strcmp(mode, "off")) {
		signature_note(ctx, NULL);
		goto done;
	}
	if (strcmp(mode, "warn") && strcmp(mode, "require")) {
		rc = ctx_err(ctx, CS_EINVAL, "coordsync.verify is '%s': off, warn or require", mode);
		goto done;
	}
	require = !strcmp(mode, "require");
	if ((rc = cs_config_int(ctx, "verify.max", &max)))
		goto done;
	if ((rc = db_text(ctx, &b, "SELECT coalesce((SELECT value FROM meta WHERE key='last_head'),"
			      " (SELECT value FROM meta WHERE key='remote_head'))", NULL)))
		goto done;
	snprintf(name, sizeof name, "refs/heads/%s", ctx->branch);
	if (b && !git_oid_fromstr(&base, b))
		known = 1;
	else if (!git_reference_name_to_id(&base, ctx->repo, name) && git_oid_cmp(&base, head))
		known = 1;   /* a new mirror: the clone's branch, when the head is new to it */
	git_error_clear();
	for (;;) {
		int state;
		if (known && !git_oid_cmp(&cur, &base))
			break;
		if (count == max) {
			if (require)
				snprintf(msg, sizeof msg, "more than %lld new commits up to %.12s"
					 " (coordsync.verify.max): their signatures were not all checked"
					 " (coordsync.verify=require): nothing was imported or decided;"
					 " check them (git verify-commit), then raise coordsync.verify.max"
					 " or sync once with coordsync.verify=warn", max,
					 git_oid_tostr_s(head));
			else
				ctx_notice(ctx, "only the newest %lld new commits' signatures were checked"
					   " (coordsync.verify.max; coordsync.verify=warn)", max);
			break;
		}
		count++;
		if ((rc = sign_verify(ctx, &cur, &state, signer, sizeof signer)))
			goto done;
		if (git_commit_lookup(&c, ctx->repo, &cur)) {
			rc = ctx_err_git(ctx, "cannot read commit");
			goto done;
		}
		git_oid_tostr(hex, sizeof hex, &cur);
		if (state != SIGN_GOOD) {
			const git_signature *a = git_commit_author(c);
			char what[700];
			if (state == SIGN_NONE)
				snprintf(what, sizeof what, "is not signed");
			else
				snprintf(what, sizeof what, "%s: %s", state == SIGN_UNKNOWN ?
					 "is signed by an unknown key" : "has a bad signature", signer);
			if (require) {
				snprintf(msg, sizeof msg, "commit %.12s (author %s <%s>) %s"
					 " (coordsync.verify=require): nothing was imported or decided;"
					 " the mirror stays at its last good head", hex,
					 a ? a->name : "?", a ? a->email : "?", what);
				break;
			}
			if (warned++ < 5)
				ctx_notice(ctx, "commit %.12s (author %s <%s>) %s; imported"
					   " (coordsync.verify=warn)", hex, a ? a->name : "?",
					   a ? a->email : "?", what);
		}
		if (!known || !git_commit_parentcount(c))
			break;
		git_oid_cpy(&cur, git_commit_parent_id(c, 0));
		git_commit_free(c);
		c = NULL;
	}
	if (warned > 5)
		ctx_notice(ctx, "%d new commits in all were not signed by a trusted key"
			   " (coordsync.verify=warn)", warned);
	signature_note(ctx, msg[0] ? msg : NULL);
	if (msg[0])
		rc = ctx_err(ctx, CS_ERROR, "%s", msg);
done:
	git_commit_free(c);
	free(mode);
	free(b);
	return rc;
}

/* Bring the mirror to head (its tree) in one transaction: import the files
 * whose blob changed (force: all), walk the history to it (history), note
 * the watches and instances, and record the head.  remote_head only while
 * every file imports: the next sync reads and reports a failing one again.
 * fault: the test hook's "import" step, just before the COMMIT. */
int mirror_import_commit(cs_ctx *ctx, git_tree *tree, const git_oid *head, cs_sync_stats *st,
			 int force, int history, int fault)
{
	char hex[GIT_OID_HEXSZ + 1], now[32];
	int rc;

	git_oid_tostr(hex, sizeof hex, head);
	snprintf(now, sizeof now, "%.3f", util_now());
	if ((rc = db_begin(ctx)))
		return rc;
	if ((rc = import_tree(ctx, tree, st, force)) ||
	    (history && (rc = history_update(ctx, head, &st->history_rows))) ||
	    (rc = clock_note(ctx)) || (rc = identity_note_instances(ctx)) ||
	    (!st->files_failed && (rc = db_meta_set(ctx, "remote_head", hex))) ||
	    (rc = db_meta_set(ctx, "last_import", now)) || (rc = db_meta_set(ctx, "last_head", hex))) {
		db_rollback(ctx);
		return rc;
	}
	if (fault)
		FAULT_AT("import");
	return db_commit(ctx);
}

/* Fetch and import the remote head; with `history`, also walk the history
 * up to it.  A decision leaves the walk to after its push, outside its
 * turn on a local remote: the walk covers the commits it imported too. */
int mirror_refresh(cs_ctx *ctx, git_oid *head, int *empty, git_tree **tree, cs_sync_stats *st,
		   int force, int history)
{
	git_commit *c = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	char *seen = NULL;
	int rc;

	*tree = NULL;
	if ((rc = transport_fetch(ctx, head, empty)))
		return rc;
	if (*empty && ctx->accept_history)
		return ctx_err(ctx, CS_ERROR, "nothing to accept: the remote branch '%s' does not exist;"
			      " push it back (this clone's '%s' has it)", ctx->branch, ctx->branch);
	if (!ctx->accept_history && (rc = history_check(ctx, *empty ? NULL : head)))
		return rc;
	if (!*empty && (rc = signature_check(ctx, head)))
		return rc;
	if (*empty) {
		st->head[0] = 0;
		FAULT_AT("after-import");
		return CS_OK;
	}
	git_oid_tostr(hex, sizeof hex, head);
	snprintf(st->head, sizeof st->head, "%s", hex);
	if (git_commit_lookup(&c, ctx->repo, head) || git_commit_tree(tree, c)) {
		git_commit_free(c);
		return ctx_err_git(ctx, "cannot read remote head");
	}
	git_commit_free(c);
	if ((rc = db_text(ctx, &seen, "SELECT value FROM meta WHERE key='remote_head'", NULL)))
		return rc;
	if (!force && seen && !strcmp(seen, hex)) {
		free(seen);
		/* Nothing new (read nothing, write nothing), unless a decision
		 * imported this head and left its history to walk. */
		if (history && (rc = history_catch_up(ctx, head, hex, st)))
			return rc;
		if ((rc = clock_renote(ctx)))     /* watches of an earlier boot */
			return rc;
		FAULT_AT("after-import");
		return CS_OK;
	}
	free(seen);
	if (!(rc = mirror_import_commit(ctx, *tree, head, st, force, history, 1)))
		FAULT_AT("after-import");
	return rc;
}

/* ---- a malformed mirror ---------------------------------------------------------- */

/* What git cannot give back: copied into a rebuilt mirror
 * (mirror_copy_kept), and salvaged from a malformed one table by table,
 * where a table SQLite cannot read is named in the notice. */
static const struct { const char *name, *sql; } kept_tables[] = {
	{"outbox", "INSERT OR IGNORE INTO main.outbox SELECT * FROM old.outbox"},
	{"lock_fences", "INSERT OR IGNORE INTO main.lock_fences SELECT * FROM old.lock_fences"},
	{"lock_seen", "INSERT OR IGNORE INTO main.lock_seen SELECT * FROM old.lock_seen"},
	{"watch", "INSERT OR IGNORE INTO main.watch SELECT * FROM old.watch"},
	{"heartbeat_instances", "INSERT OR IGNORE INTO main.heartbeat_instances"
				" SELECT * FROM old.heartbeat_instances"},
	{"alerts", "INSERT OR IGNORE INTO main.alerts SELECT * FROM old.alerts"},
	{"jira_issues", "INSERT OR IGNORE INTO main.jira_issues SELECT * FROM old.jira_issues"},
	{"jira_history", "INSERT OR IGNORE INTO main.jira_history SELECT * FROM old.jira_history"},
	{"jira_sync", "INSERT OR IGNORE INTO main.jira_sync SELECT * FROM old.jira_sync"},
};

/* Set the malformed mirror aside (renamed to DBPATH.malformed-TIME, with its
 * -wal, kept for inspection), open a new one in its place and copy into it
 * what can be read of the local-only tables; the caller then imports
 * everything from git.  Takes the clone's lock, and waits up to 10 s for
 * other processes to close the mirror. */
int mirror_set_aside(cs_ctx *ctx)
{
	char why[sizeof ctx->err], stamp[32];
	sbuf aside = {0}, lost = {0}, p = {0}, q = {0};
	sqlite3_stmt *st = NULL;
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	snprintf(why, sizeof why, "%s", ctx->malformed_why[0] ? ctx->malformed_why : ctx->err);
	if ((rc = handle_lock_clone(ctx)))
		return rc;
	db_rollback(ctx);
	sqlite3_close(ctx->db);
	ctx->db = NULL;
	if ((rc = handle_mirror_lock(ctx, LOCK_EX, 10000)) == CS_EBUSY) {
		rc = ctx_err(ctx, CS_EBUSY, "cannot set aside the malformed mirror '%s': another"
			    " process has it open", ctx->dbpath);
		goto done;
	}
	if (rc)
		goto done;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	sb_printf(&aside, "%s.malformed-%s-%ld", ctx->dbpath, stamp, (long)getpid());
	sb_printf(&p, "%s-wal", ctx->dbpath);
	sb_printf(&q, "%s-wal", aside.p ? aside.p : "");
	if (aside.oom || p.oom || q.oom) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	if (rename(ctx->dbpath, aside.p) || (rename(p.p, q.p) && errno != ENOENT)) {
		rc = ctx_err(ctx, CS_ERROR, "cannot set aside the malformed mirror '%s': %s",
			    ctx->dbpath, strerror(errno));
		goto done;
	}
	p.n = 0;
	sb_printf(&p, "%s-shm", ctx->dbpath);
	if (!p.oom)
		unlink(p.p);
	ctx->malformed = 0;
	if ((rc = db_open(ctx, ctx->dbpath, DB_CREATE)))
		goto done;
	if (sqlite3_prepare_v2(ctx->db, "ATTACH :a AS old", -1, &st, NULL) ||
	    sqlite3_bind_text(st, 1, aside.p, -1, SQLITE_STATIC) || sqlite3_step(st) != SQLITE_DONE) {
		sb_printf(&lost, "any of its tables (%s)", sqlite3_errmsg(ctx->db));
	} else {
		/* A table the new mirror does not have (moved elsewhere by a
		 * later schema) is not the mirror's to save. */
		for (size_t i = 0; i < sizeof kept_tables / sizeof *kept_tables; i++)
			if (!sqlite3_table_column_metadata(ctx->db, "main", kept_tables[i].name, NULL,
							   NULL, NULL, NULL, NULL, NULL) &&
			    sqlite3_exec(ctx->db, kept_tables[i].sql, NULL, NULL, NULL))
				sb_printf(&lost, "%s%s (%s)", lost.n ? ", " : "", kept_tables[i].name,
					  sqlite3_errmsg(ctx->db));
		sqlite3_exec(ctx->db, "DETACH old", NULL, NULL, NULL);
	}
	ctx->malformed = 0;
	ctx_notice(ctx, "the mirror '%s' is malformed (%s): set aside as '%s'; a new mirror is"
		  " built from git%s%s", ctx->dbpath, why, aside.p,
		  lost.n ? "; could not save: " : ", with the deferred intents, fences, lock"
		  " watches and alerts of the old one", lost.n ? lost.p : "");
done:
	sqlite3_finalize(st);
	if (ctx->mirrorfd >= 0 && handle_mirror_lock(ctx, LOCK_SH, 60000) && !rc)
		rc = ctx_err(ctx, CS_ERROR, "cannot lock '%s.lock'", ctx->dbpath);
	if (rc && !ctx->db) {
		/* Not set aside: the handle keeps a connection to the file, whose
		 * statements fail (rather than a NULL one). */
		snprintf(why, sizeof why, "%s", ctx->err);
		db_open(ctx, ctx->dbpath, DB_CREATE);
		snprintf(ctx->err, sizeof ctx->err, "%s", why);
	}
	sb_free(&aside);
	sb_free(&lost);
	sb_free(&p);
	sb_free(&q);
	return rc;
}

int cs_mirror_repair(cs_ctx *ctx)
{
	if (!ctx->malformed)
		return CS_OK;
	return mirror_set_aside(ctx);
}

/* Carry over what git cannot give back: deferred intents, the highest
 * fence seen per lock, the watches (lock_seen, watch) and the state of
 * open alerts. */
int mirror_copy_kept(cs_ctx *ctx, const char *old)
{
	sqlite3_stmt *st = NULL;
	int rc;
	if ((rc = db_prepare(ctx, &st, "ATTACH :a AS old")) ||
	    (rc = db_bind_text(ctx, st, ":a", old)) || (rc = db_step(ctx, st)) != SQLITE_DONE) {
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	rc = CS_OK;
	for (size_t i = 0; !rc && i < sizeof kept_tables / sizeof *kept_tables; i++)
		rc = db_exec(ctx, kept_tables[i].sql);
	db_exec(ctx, "DETACH old");
	return rc;
}
