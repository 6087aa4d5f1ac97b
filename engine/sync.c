/* Opening a clone, sync, rebuild, and the decision loop: decide in one
 * transaction, commit once on the remote head we decided on, push as a
 * compare-and-swap, and on refusal fetch and decide again. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cs_int.h"
#include "embedded.h"

static void edits_clear(cs_ctx *ctx);

/* ---- handles ------------------------------------------------------------- */

const char *cs_errmsg(const cs_ctx *ctx)
{
	return ctx ? ctx->err : "out of memory";
}

const char *cs_server(const cs_ctx *ctx) { return ctx->server; }
const char *cs_workdir(const cs_ctx *ctx) { return ctx->workdir; }
const char *cs_dbpath(const cs_ctx *ctx) { return ctx->dbpath; }
const char *cs_gitdir(const cs_ctx *ctx) { return ctx->gitdir; }

void cs_hold(void)
{
	gx_init();
	gx_keep(1);
}

void cs_release(void)
{
	gx_keep(0);
	git_libgit2_shutdown();
}

void cs_set_abort(cs_ctx *ctx, cs_abort_fn fn, void *arg)
{
	ctx->abort_fn = fn;
	ctx->abort_arg = arg;
}

/* The caller of a served command went away: decide nothing for it. */
static int aborted(cs_ctx *ctx)
{
	if (!ctx->abort_fn || !ctx->abort_fn(ctx->abort_arg))
		return CS_OK;
	return cs_err(ctx, CS_ERROR, "the caller went away before the decision was pushed;"
		      " nothing was decided");
}

void cs_set_retries(cs_ctx *ctx, int n)
{
	ctx->max_attempts = n > 0 ? n : 1;
}

int cs_last_retries(const cs_ctx *ctx)
{
	return ctx->retries;
}

void cs_close(cs_ctx *ctx)
{
	if (!ctx)
		return;
	db_rollback(ctx);
	sqlite3_close(ctx->db);
	edits_clear(ctx);
	gx_texts_free(ctx);
	git_remote_free(ctx->origin);
	git_repository_free(ctx->local);
	git_repository_free(ctx->repo);
	if (ctx->lockfd >= 0)
		close(ctx->lockfd);
	if (ctx->mirrorfd >= 0)
		close(ctx->mirrorfd);
	free(ctx->workdir);
	free(ctx->gitdir);
	free(ctx->dbpath);
	free(ctx->server);
	free(ctx->branch);
	free(ctx);
	git_libgit2_shutdown();
}

static cs_ctx *ctx_new(void)
{
	cs_ctx *ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		return NULL;
	ctx->lockfd = -1;
	ctx->mirrorfd = -1;
	ctx->max_attempts = 60;
	ctx->lock_delay = 5;
	cs_fault_init();
	ctx->max_file = CS_MAX_BLOB;
	ctx->query_seconds = 30;
	gx_init();
	/* Objects come from our own clone; re-hashing every 30 MB blob on each
	 * read doubles the cost of an import for no gain in safety here. */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	/* A decision reads the same blob several times (export, history, the
	 * local push, the checkout): keep blobs of up to 8 MiB in libgit2's
	 * object cache.  Larger files are read when needed, to bound memory. */
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_BLOB, (size_t)8 << 20);
	return ctx;
}

static int config_set(cs_ctx *ctx, const char *key, const char *value)
{
	git_config *cfg = NULL;
	int rc = CS_OK;
	if (git_repository_config(&cfg, ctx->repo) || git_config_set_string(cfg, key, value))
		rc = cs_err_git(ctx, "cannot write git config");
	git_config_free(cfg);
	return rc;
}

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s%s", a, b);
	return p;
}

/* flock fd with op (LOCK_SH or LOCK_EX), trying every 10 ms for up to
 * wait_ms.  0, or -1 with errno (EWOULDBLOCK: held elsewhere all along).
 * Linux converts a lock by dropping it first: a conversion that fails
 * leaves fd with no lock at all. */
static int flock_wait(int fd, int op, int wait_ms)
{
	for (int waited = 0;; waited += 10) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		if (!flock(fd, op | LOCK_NB))
			return 0;
		if (errno != EWOULDBLOCK || waited >= wait_ms)
			return -1;
		nanosleep(&ts, NULL);
	}
}

/* ---- the mirror's file ------------------------------------------------------ */
/* SQLite pairs a database with its -wal and -shm files by name.  A rebuild
 * puts a new mirror file in the place of the old one; a connection still
 * open on the old file (a query running meanwhile) keeps the old
 * database's frames in the -wal, and the next connection to the new file
 * would read them and checkpoint them into it: a corrupt mirror (SQLite's
 * "How To Corrupt", a database paired with another's WAL).  So a handle
 * holds a shared flock on DBPATH.lock from before it opens the mirror until
 * it closes, and a rebuild swaps the file only under an exclusive one. */
static int mirror_lock(cs_ctx *ctx, int op, int wait_ms)
{
	char *path;
	if (ctx->mirrorfd < 0) {
		if (!(path = join(ctx->dbpath, ".lock")))
			return cs_err_oom(ctx);
		ctx->mirrorfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		free(path);
		if (ctx->mirrorfd < 0)
			return cs_err(ctx, CS_ERROR, "cannot open '%s.lock': %s", ctx->dbpath,
				      strerror(errno));
	}
	if (!flock_wait(ctx->mirrorfd, op, wait_ms))
		return CS_OK;
	if (errno == EWOULDBLOCK)
		return CS_EBUSY;
	return cs_err(ctx, CS_ERROR, "cannot lock '%s.lock': %s", ctx->dbpath, strerror(errno));
}

/* CS_OK when the repository open on ctx is a coordsync clone: its own git
 * config names the branch coordinated on (init writes coordsync.branch and
 * coordsync.server), or it has a mirror already.  Else CS_ERROR, and
 * nothing was written. */
static int is_clone(cs_ctx *ctx)
{
	git_config *cfg = NULL, *local = NULL;
	git_buf buf = {0};
	struct stat sb;
	char *mirror = join(ctx->gitdir, "coordsync/mirror.db");
	int yes = mirror && !stat(mirror, &sb);

	free(mirror);
	if (!yes && !git_repository_config_snapshot(&cfg, ctx->repo) &&
	    !git_config_open_level(&local, cfg, GIT_CONFIG_LEVEL_LOCAL))
		yes = !git_config_get_string_buf(&buf, local, "coordsync.branch") ||
		      (git_buf_dispose(&buf), !git_config_get_string_buf(&buf, local, "coordsync.server"));
	git_buf_dispose(&buf);
	git_config_free(local);
	git_config_free(cfg);
	git_error_clear();
	if (yes)
		return CS_OK;
	return cs_err(ctx, CS_ERROR, "'%s' is not a coordsync clone (its git config has no"
		      " coordsync.branch); make one with 'coordsync init URL DIR --server ID'",
		      ctx->workdir);
}

static int open_clone(cs_ctx **out, const cs_opts *opts, int unchecked)
{
	cs_ctx *ctx = *out = ctx_new();
	const char *dir = opts && opts->dir ? opts->dir : ".";
	char *dbdir = NULL;
	int rc;

	if (!ctx)
		return CS_ERROR;
	if (git_repository_open_ext(&ctx->repo, dir, 0, NULL))
		return cs_err_git(ctx, "not a coordsync clone");
	if (git_repository_is_bare(ctx->repo))
		return cs_err(ctx, CS_EINVAL, "'%s' is a bare repository, not a clone", dir);
	if ((rc = gx_fast_writes(ctx, ctx->repo)))
		return rc;
	ctx->workdir = cs_strdup(git_repository_workdir(ctx->repo));
	ctx->gitdir = cs_strdup(git_repository_path(ctx->repo));
	if (!ctx->workdir || !ctx->gitdir)
		return cs_err_oom(ctx);
	/* Only a clone made by init (or set up as one) is used: any other git
	 * repository is left as it was, without a mirror created in it. */
	if ((rc = is_clone(ctx)))
		return rc;
	ctx->server = opts && opts->server ? cs_strdup(opts->server) : cs_config_get(ctx, "server");
	ctx->branch = cs_config_get(ctx, "branch");
	if (!unchecked && (rc = cs_config_check(ctx)))
		return rc;
	ctx->lock_delay = (int)cs_config_num(ctx, "lockdelay", 5);
	cs_set_retries(ctx, (int)cs_config_num(ctx, "retries", 60));
	ctx->max_file = cs_config_num(ctx, "maxfilesize", CS_MAX_BLOB);
	ctx->query_seconds = (int)cs_config_num(ctx, "query.timeout", 30);
	if (!ctx->branch)
		return cs_err_oom(ctx);
	if (ctx->server && !cs_valid_id(ctx->server))
		return cs_err(ctx, CS_EINVAL, "invalid server id '%s'", ctx->server);
	if (ctx->server && cs_reserved_id(ctx->server) && !unchecked)
		return cs_err(ctx, CS_EINVAL, "server id '%s' is reserved: it names a directory of the"
			      " repository's shared layout or a recipient (see docs/RELIABILITY.md)",
			      ctx->server);
	if (opts && opts->db) {
		ctx->dbpath = strdup(opts->db);
	} else {
		if (!(dbdir = join(ctx->gitdir, "coordsync")))
			return cs_err_oom(ctx);
		if (mkdir(dbdir, 0755) && errno != EEXIST) {
			rc = cs_err(ctx, CS_ERROR, "cannot create '%s': %s", dbdir, strerror(errno));
			free(dbdir);
			return rc;
		}
		free(dbdir);
		ctx->dbpath = join(ctx->gitdir, "coordsync/mirror.db");
	}
	if (!ctx->dbpath)
		return cs_err_oom(ctx);
	if ((rc = mirror_lock(ctx, LOCK_SH, 60000)) == CS_EBUSY)
		return cs_err(ctx, CS_EBUSY, "a rebuild is replacing the mirror; waited 60 s");
	if (!rc && (rc = db_open(ctx, ctx->dbpath, DB_CREATE)) && ctx->malformed) {
		/* Left for cs_mirror_repair, cs_sync or cs_rebuild to set aside. */
		sqlite3_close(ctx->db);
		ctx->db = NULL;
	}
	return rc;
}

int cs_mirror_malformed(const cs_ctx *ctx)
{
	return ctx && ctx->malformed;
}

int cs_open(cs_ctx **out, const cs_opts *opts)
{
	return open_clone(out, opts, 0);
}

int cs_open_unchecked(cs_ctx **out, const cs_opts *opts)
{
	return open_clone(out, opts, 1);
}

int cs_lock_clone(cs_ctx *ctx)
{
	return cs_lock(ctx, 60);
}

int cs_lock(cs_ctx *ctx, int wait)
{
	char *path;
	if (ctx->lockfd >= 0)
		return CS_OK;
	if (!(path = join(ctx->gitdir, "coordsync/lock")))
		return cs_err_oom(ctx);
	ctx->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(path);
	if (ctx->lockfd < 0)
		return cs_err(ctx, CS_ERROR, "cannot open the clone's lock file: %s", strerror(errno));
	/* Another coordsync on this clone finishes its decision in well under a
	 * minute; decisions wait that long at most. */
	if (!flock_wait(ctx->lockfd, LOCK_EX, wait * 1000)) {
		gx_clone_locks_clear(ctx);   /* no coordsync writes the clone now */
		return CS_OK;
	}
	close(ctx->lockfd);
	ctx->lockfd = -1;
	return cs_err(ctx, CS_EBUSY, "another coordsync holds this clone's lock");
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
	rc = cs_err(ctx, CS_ERROR, "%s", msg);
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

/* Bring the mirror to head (its tree) in one transaction: import the files
 * whose blob changed (force: all), walk the history to it (history), note
 * the watches and instances, and record the head.  remote_head only while
 * every file imports: the next sync reads and reports a failing one again.
 * fault: the test hook's "import" step, just before the COMMIT. */
static int import_commit(cs_ctx *ctx, git_tree *tree, const git_oid *head, cs_sync_stats *st,
			 int force, int history, int fault)
{
	char hex[GIT_OID_HEXSZ + 1], now[32];
	int rc;

	git_oid_tostr(hex, sizeof hex, head);
	snprintf(now, sizeof now, "%.3f", cs_now());
	if ((rc = db_begin(ctx)))
		return rc;
	if ((rc = model_import_tree(ctx, tree, st, force)) ||
	    (history && (rc = history_update(ctx, head, &st->history_rows))) ||
	    (rc = cs_clock_note(ctx)) || (rc = cs_note_instances(ctx)) ||
	    (!st->files_failed && (rc = db_meta_set(ctx, "remote_head", hex))) ||
	    (rc = db_meta_set(ctx, "last_import", now)) || (rc = db_meta_set(ctx, "last_head", hex))) {
		db_rollback(ctx);
		return rc;
	}
	if (fault)
		CS_FAULT("import");
	return db_commit(ctx);
}

/* Fetch and import the remote head; with `history`, also walk the history
 * up to it.  A decision leaves the walk to after its push, outside its
 * turn on a local remote: the walk covers the commits it imported too. */
static int refresh(cs_ctx *ctx, git_oid *head, int *empty, git_tree **tree, cs_sync_stats *st,
		   int force, int history)
{
	git_commit *c = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	char *seen = NULL;
	int rc;

	*tree = NULL;
	if ((rc = gx_fetch(ctx, head, empty)))
		return rc;
	if (*empty && ctx->accept_history)
		return cs_err(ctx, CS_ERROR, "nothing to accept: the remote branch '%s' does not exist;"
			      " push it back (this clone's '%s' has it)", ctx->branch, ctx->branch);
	if (!ctx->accept_history && (rc = history_check(ctx, *empty ? NULL : head)))
		return rc;
	if (*empty) {
		st->head[0] = 0;
		CS_FAULT("after-import");
		return CS_OK;
	}
	git_oid_tostr(hex, sizeof hex, head);
	snprintf(st->head, sizeof st->head, "%s", hex);
	if (git_commit_lookup(&c, ctx->repo, head) || git_commit_tree(tree, c)) {
		git_commit_free(c);
		return cs_err_git(ctx, "cannot read remote head");
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
		if ((rc = cs_clock_renote(ctx)))     /* watches of an earlier boot */
			return rc;
		CS_FAULT("after-import");
		return CS_OK;
	}
	free(seen);
	if (!(rc = import_commit(ctx, *tree, head, st, force, history, 1)))
		CS_FAULT("after-import");
	return rc;
}

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
		return cs_err_git(ctx, "cannot read the pushed tree");
	rc = import_commit(ctx, tree, commit, &st, 0, 1, 0);
	git_tree_free(tree);
	return rc;
}

static void edits_clear(cs_ctx *ctx)
{
	gx_texts_clear(ctx);
	for (size_t i = 0; i < ctx->nedits; i++)
		free(ctx->edits[i].path);
	free(ctx->edits);
	ctx->edits = NULL;
	ctx->nedits = 0;
}

static int edit_add(cs_ctx *ctx, const char *path, const git_oid *blob)
{
	cs_tree_edit *e = realloc(ctx->edits, (ctx->nedits + 1) * sizeof *e);
	if (!e)
		return cs_err_oom(ctx);
	ctx->edits = e;
	e += ctx->nedits;
	memset(e, 0, sizeof *e);
	if (!(e->path = strdup(path)))
		return cs_err_oom(ctx);
	if (blob)
		git_oid_cpy(&e->blob, blob);
	e->remove = !blob;
	ctx->nedits++;
	return CS_OK;
}

int cs_edit_put(cs_ctx *ctx, const char *path, const char *data, size_t len)
{
	git_oid blob;
	int rc = gx_blob_write(ctx, path, data, len, &blob);
	return rc ? rc : edit_add(ctx, path, &blob);
}

int cs_base_read(cs_ctx *ctx, const char *path, char **out, size_t *len)
{
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	int rc = CS_OK;

	*out = NULL;
	*len = 0;
	if (!ctx->base)
		return cs_err(ctx, CS_ERROR, "internal: no decision in progress");
	if (git_tree_entry_bypath(&e, ctx->base, path)) {
		git_error_clear();
		return CS_OK;
	}
	if ((rc = gx_blob_lookup(ctx, &b, git_tree_entry_id(e), path)))
		rc = rc == CS_ETOOBIG ? CS_ERROR : rc;
	else if (!(*out = malloc((size_t)git_blob_rawsize(b) + 1)))
		rc = cs_err_oom(ctx);
	else {
		*len = (size_t)git_blob_rawsize(b);
		memcpy(*out, git_blob_rawcontent(b), *len);
		(*out)[*len] = 0;
	}
	git_blob_free(b);
	git_tree_entry_free(e);
	return rc;
}

int cs_edit_remove(cs_ctx *ctx, const char *path)
{
	return edit_add(ctx, path, NULL);
}

/* Apply the n edits ed (the export's, or the queued ctx->edits) on top of
 * *tree. */
static int edits_apply(cs_ctx *ctx, const cs_tree_edit *ed, size_t n, git_oid *tree, int *changed)
{
	int rc = CS_OK;
	for (size_t i = 0; i < n && !rc; i++) {
		git_tree *t = NULL;
		git_oid before;
		git_oid_cpy(&before, tree);
		if (git_tree_lookup(&t, ctx->repo, tree))
			return cs_err_git(ctx, "cannot read tree");
		rc = ed[i].remove ? gx_tree_remove(ctx, t, ed[i].path, tree)
				  : gx_tree_put(ctx, t, ed[i].path, &ed[i].blob, tree);
		git_tree_free(t);
		if (!rc && git_oid_cmp(&before, tree))
			*changed += 1;
	}
	return rc;
}

static void backoff(int attempt)
{
	/* Jittered, growing with the attempt, capped at about half a second. */
	long ms = 5 + rand() % (10 * (attempt < 50 ? attempt + 1 : 50));
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int decide(cs_ctx *ctx, cs_decide_fn fn, void *arg)
{
	static int seeded;
	int rc = CS_OK;

	if (!ctx->server)
		return cs_err(ctx, CS_EINVAL, "no server id: pass --server or set coordsync.server");
	if ((rc = aborted(ctx)) || (rc = cs_lock_clone(ctx)))
		return rc;
	if (!seeded) {
		srand((unsigned)(time(NULL) ^ getpid()));
		seeded = 1;
	}
	ctx->retries = 0;
	ctx->pushed[0] = 0;
	for (int attempt = 0; attempt < ctx->max_attempts; attempt++) {
		cs_sync_stats st = {0};
		git_oid head, tree_id, commit;
		git_tree *tree = NULL;
		cs_tree_edit *ex = NULL;
		size_t nex = 0;
		sbuf msg = {0};
		int empty, changed = 0, turn = gx_turn_begin(ctx);

		if ((rc = refresh(ctx, &head, &empty, &tree, &st, 0, 0)) ||
		    (empty && (rc = cs_err(ctx, CS_ERROR,
					  "the remote is empty; run 'coordsync init' first")))) {
			gx_turn_end(turn);
			return rc;
		}
		edits_clear(ctx);
		ctx->base = tree;
		if ((rc = db_begin(ctx)))
			goto next;
		if ((rc = fn(ctx, arg, &msg)))
			goto next;
		CS_FAULT("after-decide");
		git_oid_cpy(&tree_id, git_tree_id(tree));
		if (!(rc = model_export(ctx, tree, &ex, &nex)))
			rc = edits_apply(ctx, ex, nex, &tree_id, &changed);
		export_edits_free(ex, nex);
		if (rc || (rc = edits_apply(ctx, ctx->edits, ctx->nedits, &tree_id, &changed)))
			goto next;
		/* Nothing to write, or the same tree again (a status rewritten
		 * within the same second): no commit. */
		if (!changed || !git_oid_cmp(&tree_id, git_tree_id(tree))) {
			rc = db_commit(ctx);
			goto next;
		}
		if (msg.oom || !msg.n) {
			rc = cs_err_oom(ctx);
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
			rc = cs_err(ctx, CS_ERROR, "cannot end the mirror's transaction before the push");
			goto next;
		}
		rc = gx_commit_push(ctx, &tree_id, &head, msg.p, &commit);
		gx_turn_end(turn);
		turn = -1;
		if (!rc) {
			char hex[GIT_OID_HEXSZ + 1];
			git_oid_tostr(hex, sizeof hex, &commit);
			CS_FAULT("after-push");
			/* The mirror catches up with the pushed commit the way it takes
			 * in any head: the import of the files the decision wrote (their
			 * bytes are at hand) and the history walk.  Its lock_fences
			 * come from the pushed file, so a grant's fence is remembered
			 * only when pushed, and by the next import if killed here. */
			if (!(rc = import_pushed(ctx, &commit, &tree_id))) {
				memcpy(ctx->pushed, hex, sizeof ctx->pushed);
				CS_FAULT("after-mirror");
				rc = gx_update_local(ctx, &commit);
			}
			if (rc) {
				/* The decision is on the remote, and that is what counts:
				 * the clone catches up at its next import (a deferred
				 * intent, still in the outbox, is applied again as a
				 * no-op).  So it succeeded, with a word to the operator. */
				db_rollback(ctx);
				cs_notice(ctx, "the decision is on the remote (commit %.12s) but this clone"
					  " could not record it: %s; the next sync catches up", hex, ctx->err);
				memcpy(ctx->pushed, hex, sizeof ctx->pushed);
				rc = CS_OK;
			}
		}
next:
		gx_turn_end(turn);
		ctx->base = NULL;
		if (rc)
			db_rollback(ctx);
		sb_free(&msg);
		git_tree_free(tree);
		if (rc != CS_ERETRY) {
			edits_clear(ctx);
			return rc;
		}
		ctx->retries++;
		backoff(attempt);
	}
	edits_clear(ctx);
	{
		char last[sizeof ctx->err];
		memcpy(last, ctx->err, sizeof last);
		return cs_err(ctx, CS_ERROR, "gave up after %d attempts; the last refusal: %s",
			      ctx->max_attempts, last);
	}
}

/* The versions of files a decision, a sync or a rebuild read are dropped at
 * its end: a daemon does not keep 30 MB files between its cycles (with
 * cs_hold it keeps those of up to 8 MiB for the next handle, gx_keep). */
int cs_decide(cs_ctx *ctx, cs_decide_fn fn, void *arg)
{
	int rc = decide(ctx, fn, arg);
	gx_texts_free(ctx);
	return rc;
}

/* ---- sync and rebuild ---------------------------------------------------------- */

/* 1 when the clone's local branch is not at head: the remote moved, or a
 * process was killed between recording a push and moving the branch. */
static int local_behind(cs_ctx *ctx, const git_oid *head)
{
	char name[256];
	git_oid id;
	snprintf(name, sizeof name, "refs/heads/%s", ctx->branch);
	if (git_reference_name_to_id(&id, ctx->repo, name)) {
		git_error_clear();
		return 1;
	}
	return git_oid_cmp(&id, head) != 0;
}

static int sync_once(cs_ctx *ctx, cs_sync_stats *st)
{
	git_oid head;
	git_tree *tree = NULL;
	int empty, rc;

	memset(st, 0, sizeof *st);
	if ((rc = cs_lock_clone(ctx)))
		return rc;
	rc = refresh(ctx, &head, &empty, &tree, st, 0, 1);
	if (!rc && !empty && (local_behind(ctx, &head) || gx_checkout_pending(ctx)))
		rc = gx_update_local(ctx, &head);
	if (!rc && !empty) {
		/* Deferred intents go out even while some file is broken (they
		 * touch their own files); the broken file stays the error. */
		char saved[sizeof ctx->err];
		int failed = st->files_failed;
		memcpy(saved, ctx->err, sizeof saved);
		ctx->pushed[0] = 0;
		rc = cs_outbox_flush(ctx, &st->intents_pushed);
		st->retries = st->intents_pushed ? ctx->retries : 0;
		if (failed) {
			memcpy(ctx->err, saved, sizeof saved);
			rc = CS_OK;
		}
		if (!rc && st->intents_pushed && ctx->pushed[0]) {
			st->pushed = 1;
			memcpy(st->head, ctx->pushed, sizeof st->head);
		}
	}
	git_tree_free(tree);
	if (!rc && st->files_failed)
		rc = CS_ERROR;    /* the message names the file */
	return rc;
}

/* ---- a malformed mirror ---------------------------------------------------------- */

/* What git cannot give back: copied into a rebuilt mirror (copy_kept), and
 * salvaged from a malformed one table by table, where a table SQLite cannot
 * read is named in the notice. */
static const struct { const char *name, *sql; } kept_tables[] = {
	{"outbox", "INSERT OR IGNORE INTO main.outbox SELECT * FROM old.outbox"},
	{"lock_fences", "INSERT OR IGNORE INTO main.lock_fences SELECT * FROM old.lock_fences"},
	{"lock_seen", "INSERT OR IGNORE INTO main.lock_seen SELECT * FROM old.lock_seen"},
	{"watch", "INSERT OR IGNORE INTO main.watch SELECT * FROM old.watch"},
	{"heartbeat_instances", "INSERT OR IGNORE INTO main.heartbeat_instances"
				" SELECT * FROM old.heartbeat_instances"},
	{"alerts", "INSERT OR IGNORE INTO main.alerts SELECT * FROM old.alerts"},
};

/* Set the malformed mirror aside (renamed to DBPATH.malformed-TIME, with its
 * -wal, kept for inspection), open a new one in its place and copy into it
 * what can be read of the local-only tables; the caller then imports
 * everything from git.  Takes the clone's lock, and waits up to 10 s for
 * other processes to close the mirror. */
static int mirror_set_aside(cs_ctx *ctx)
{
	char why[sizeof ctx->err], stamp[32];
	sbuf aside = {0}, lost = {0}, p = {0}, q = {0};
	sqlite3_stmt *st = NULL;
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	snprintf(why, sizeof why, "%s", ctx->malformed_why[0] ? ctx->malformed_why : ctx->err);
	if ((rc = cs_lock_clone(ctx)))
		return rc;
	db_rollback(ctx);
	sqlite3_close(ctx->db);
	ctx->db = NULL;
	if ((rc = mirror_lock(ctx, LOCK_EX, 10000)) == CS_EBUSY) {
		rc = cs_err(ctx, CS_EBUSY, "cannot set aside the malformed mirror '%s': another"
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
		rc = cs_err_oom(ctx);
		goto done;
	}
	if (rename(ctx->dbpath, aside.p) || (rename(p.p, q.p) && errno != ENOENT)) {
		rc = cs_err(ctx, CS_ERROR, "cannot set aside the malformed mirror '%s': %s",
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
	cs_notice(ctx, "the mirror '%s' is malformed (%s): set aside as '%s'; a new mirror is"
		  " built from git%s%s", ctx->dbpath, why, aside.p,
		  lost.n ? "; could not save: " : ", with the deferred intents, fences, lock"
		  " watches and alerts of the old one", lost.n ? lost.p : "");
done:
	sqlite3_finalize(st);
	if (ctx->mirrorfd >= 0 && mirror_lock(ctx, LOCK_SH, 60000) && !rc)
		rc = cs_err(ctx, CS_ERROR, "cannot lock '%s.lock'", ctx->dbpath);
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

int cs_sync(cs_ctx *ctx, cs_sync_stats *st)
{
	int rc;

	memset(st, 0, sizeof *st);
	if (!ctx->db && ctx->malformed && (rc = mirror_set_aside(ctx)))
		return rc;
	ctx->malformed = 0;
	/* A mirror found malformed on the way is set aside, and the new one
	 * imports everything, as a rebuild does. */
	if ((rc = sync_once(ctx, st)) && ctx->malformed && !(rc = mirror_set_aside(ctx)))
		rc = sync_once(ctx, st);
	gx_texts_free(ctx);
	return rc;
}

/* Carry over what git cannot give back: deferred intents, the highest
 * fence seen per lock, the watches (lock_seen, watch) and the state of
 * open alerts. */
static int copy_kept(cs_ctx *ctx, const char *old)
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

/* Put the finished mirror fresh (a file at tmp) in the place of the open one
 * (ctx->db).  When no other process has the mirror open (mirror_lock), the
 * file is swapped in, with no -wal or -shm of the old one left (a process
 * that crashed leaves them); the handle then opens it.  Otherwise fresh is
 * copied into the open mirror in one transaction (SQLite's backup API), which
 * the other connections see as any other write.  Closes fresh. */
static int mirror_replace(cs_ctx *ctx, sqlite3 *fresh, const char *tmp)
{
	static const char *const stale[] = {"-wal", "-shm"};
	sqlite3_backup *b;
	int rc;

	if ((rc = mirror_lock(ctx, LOCK_EX, 1000)) == CS_OK) {
		sqlite3_close(fresh);
		sqlite3_close(ctx->db);
		ctx->db = NULL;
		for (size_t i = 0; i < sizeof stale / sizeof *stale; i++) {
			char *p = join(ctx->dbpath, stale[i]);
			if (p)
				unlink(p);
			free(p);
		}
		if (cs_replace_file(tmp, ctx->dbpath))
			rc = cs_err(ctx, CS_ERROR, "cannot replace '%s': %s", ctx->dbpath,
				    strerror(errno));
		if (!rc && !(rc = db_open(ctx, ctx->dbpath, 0)))
			rc = mirror_lock(ctx, LOCK_SH, 0);
		return rc;
	}
	if (rc != CS_EBUSY || (rc = mirror_lock(ctx, LOCK_SH, 60000))) {
		sqlite3_close(fresh);
		unlink(tmp);
		return rc == CS_EBUSY ? cs_err(ctx, CS_EBUSY, "a rebuild is replacing the mirror") : rc;
	}
	if (!(b = sqlite3_backup_init(ctx->db, "main", fresh, "main"))) {
		rc = cs_err_db(ctx, ctx->db);
	} else {
		rc = sqlite3_backup_step(b, -1);
		sqlite3_backup_finish(b);
		rc = rc == SQLITE_DONE ? CS_OK : cs_err_db(ctx, ctx->db);
	}
	sqlite3_close(fresh);
	unlink(tmp);
	return rc;
}

static int rebuild(cs_ctx *ctx, cs_sync_stats *st)
{
	git_oid head;
	git_tree *tree = NULL;
	sqlite3 *old = ctx->db, *fresh;
	char *tmp = NULL;
	int empty, rc;

	memset(st, 0, sizeof *st);
	if ((rc = cs_lock_clone(ctx)))
		return rc;
	if (!(tmp = join(ctx->dbpath, ".rebuild")))
		return cs_err_oom(ctx);
	unlink(tmp);
	ctx->db = NULL;
	if ((rc = db_open(ctx, tmp, DB_CREATE | DB_BULK)) || (rc = copy_kept(ctx, ctx->dbpath)) ||
	    (rc = refresh(ctx, &head, &empty, &tree, st, 1, 1)) ||
	    (rc = db_exec(ctx, "PRAGMA journal_mode=WAL")))
		goto fail;
	fresh = ctx->db;
	ctx->db = old;
	rc = mirror_replace(ctx, fresh, tmp);
	free(tmp);
	git_tree_free(tree);
	if (!rc && !empty)
		rc = gx_update_local(ctx, &head);
	return rc ? rc : st->files_failed ? CS_ERROR : CS_OK;
fail:
	sqlite3_close(ctx->db);
	ctx->db = old;
	unlink(tmp);
	free(tmp);
	git_tree_free(tree);
	return rc;
}

int cs_rebuild(cs_ctx *ctx, cs_sync_stats *st)
{
	int rc;

	memset(st, 0, sizeof *st);
	if (!ctx->db && ctx->malformed && (rc = mirror_set_aside(ctx)))
		return rc;
	ctx->malformed = 0;
	if ((rc = rebuild(ctx, st)) && ctx->malformed && !(rc = mirror_set_aside(ctx)))
		rc = rebuild(ctx, st);
	gx_texts_free(ctx);
	return rc;
}

int cs_accept_history(cs_ctx *ctx, cs_sync_stats *st)
{
	int rc;

	memset(st, 0, sizeof *st);
	if (!ctx->db && ctx->malformed && (rc = mirror_set_aside(ctx)))
		return rc;
	ctx->accept_history = 1;
	rc = rebuild(ctx, st);
	ctx->accept_history = 0;
	gx_texts_free(ctx);
	return rc;
}

/* ---- init ----------------------------------------------------------------------- */

/* The first commit of an empty remote (parent NULL): the embedded
 * coordination/ files; or, adopting a remote that has other files, those
 * files added on top of parent's tree. */
static int seed_remote(cs_ctx *ctx, const git_oid *parent)
{
	git_oid tree, blob, commit;
	git_tree *t = NULL;
	git_commit *pc = NULL;
	char path[128];
	int rc = CS_OK;

	memset(&tree, 0, sizeof tree);
	if (parent && (git_commit_lookup(&pc, ctx->repo, parent) || git_commit_tree(&t, pc))) {
		git_commit_free(pc);
		return cs_err_git(ctx, "cannot read the remote head");
	}
	git_commit_free(pc);
	for (const cs_embedded *e = cs_embedded_templates; e->name && !rc; e++) {
		snprintf(path, sizeof path, "coordination/%s", e->name);
		if (git_blob_create_from_buffer(&blob, ctx->repo, e->text, e->len))
			return cs_err_git(ctx, "cannot write blob");
		rc = gx_tree_put(ctx, t, path, &blob, &tree);
		git_tree_free(t);
		t = NULL;
		if (!rc && git_tree_lookup(&t, ctx->repo, &tree))
			rc = cs_err_git(ctx, "cannot read tree");
	}
	git_tree_free(t);
	if (rc)
		return rc;
	rc = gx_commit_push(ctx, &tree, parent, parent ? "Add coordination/ (adopted by coordsync)"
			   : "Initialize coordination repository", &commit);
	if (rc == CS_ERETRY && parent)
		return cs_err(ctx, CS_ERROR, "the remote moved while init adopted it; run init again");
	return rc == CS_ERETRY ? CS_OK : rc;   /* someone else seeded it first */
}

/* The branch to coordinate on: the remote's default branch. */
static char *remote_branch(cs_ctx *ctx, const char *url)
{
	git_reference *head = NULL;
	git_repository *r = NULL;
	char *local = gx_local_path(url), *b = NULL;
	if (!git_repository_head(&head, ctx->repo)) {
		const char *n = git_reference_shorthand(head);
		b = strdup(n);
	} else if (local && !git_repository_open_bare(&r, local)) {
		git_reference *sym = NULL;
		if (!git_reference_lookup(&sym, r, "HEAD") &&
		    git_reference_type(sym) == GIT_REFERENCE_SYMBOLIC &&
		    !strncmp(git_reference_symbolic_target(sym), "refs/heads/", 11))
			b = strdup(git_reference_symbolic_target(sym) + 11);
		git_reference_free(sym);
	}
	git_error_clear();
	git_reference_free(head);
	git_repository_free(r);
	free(local);
	return b ? b : strdup("main");
}

/* CS_EREFUSED when the clone of url has branches although the one its HEAD
 * names (branch) has none: seeding that branch would start a second fleet
 * beside the commits on the others, so init says which they are. */
static int check_no_branches(cs_ctx *ctx, const char *url, const char *branch)
{
	git_branch_iterator *it = NULL;
	git_reference *ref = NULL;
	git_branch_t type;
	sbuf names = {0};
	int rc = CS_OK;

	if (git_branch_iterator_new(&it, ctx->repo, GIT_BRANCH_REMOTE))
		return cs_err_git(ctx, "cannot list the remote's branches");
	while (!git_branch_next(&ref, &type, it)) {
		const char *n = git_reference_shorthand(ref);
		if (!strncmp(n, "origin/", 7) && strcmp(n + 7, "HEAD"))
			sb_printf(&names, "%s'%s'", names.n ? ", " : "", n + 7);
		git_reference_free(ref);
	}
	git_error_clear();
	git_branch_iterator_free(it);
	if (names.oom)
		rc = cs_err_oom(ctx);
	else if (names.n)
		rc = cs_err(ctx, CS_EREFUSED, "the remote '%s' names '%s' as its default branch, which"
			    " has no commits, but it has other branches (%s): point its HEAD at the"
			    " fleet's branch (git symbolic-ref HEAD refs/heads/NAME in the remote)"
			    " and run init again", url, branch, names.p);
	sb_free(&names);
	return rc;
}

/* The absolute path of a secret file given to init (what: "token file" or
 * "ssh key"), once it is known to be safe (cs_secret_check) and, for a
 * token, readable (cs_token_read); *out is malloc'd. */
static int init_secret(cs_ctx *ctx, const char *what, const char *path, char **out)
{
	char *token = NULL;
	int rc;

	if (!(*out = realpath(path, NULL)))
		return cs_err(ctx, CS_EINVAL, "cannot read %s '%s': %s", what, path, strerror(errno));
	if (strcmp(what, "token file"))
		rc = cs_secret_check(ctx, what, *out);
	else if (!(rc = cs_token_read(ctx, *out, &token))) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* Whether the remote's head (id) has the shared layout: CS_OK when it has
 * coordination/, or when it has not and allowed (--adopt) says to add it
 * (*adopt set); else CS_EREFUSED: init does not write into a repository
 * that is something else. */
static int check_layout(cs_ctx *ctx, const git_oid *id, const char *url, int allowed, int *adopt)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	const git_tree_entry *e;
	int rc = CS_OK;

	*adopt = 0;
	if (git_commit_lookup(&c, ctx->repo, id) || git_commit_tree(&t, c)) {
		rc = cs_err_git(ctx, "cannot read the remote head");
	} else if ((e = git_tree_entry_byname(t, "coordination")) &&
		   git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		rc = CS_OK;
	} else if (allowed) {
		*adopt = 1;
	} else {
		/* url holds no password: gx_clone refused such a URL. */
		rc = cs_err(ctx, CS_EREFUSED, "'%s' is not empty and has no coordination/ directory:"
			    " not a coordination repository; pass --adopt to add coordination/ to it",
			    url);
	}
	git_tree_free(t);
	git_commit_free(c);
	return rc;
}

/* Remove the directory tree at path (a clone init made and gave up). */
static int remove_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	remove(p);
	return 0;
}

static void remove_tree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int cs_init(cs_ctx **out, const char *url, const char *dir, const cs_opts *opts)
{
	return cs_init_auth(out, url, dir, opts, NULL);
}

static int init_clone(cs_ctx **out, const char *url, const char *dir, const cs_opts *opts,
		      const cs_remote_auth *auth, int allow_adopt)
{
	cs_opts o = {dir, opts ? opts->server : NULL, opts ? opts->db : NULL};
	cs_remote_auth a = {auth ? auth->user : NULL, NULL, NULL};
	char *token_file = NULL, *ssh_key = NULL, *branch;
	cs_ctx *ctx;
	char ref[256];
	git_oid id;
	int rc = CS_OK, created = 0, empty = 0, adopt = 0;

	if (!(*out = ctx = ctx_new()))
		return CS_ERROR;
	if (!o.server || !cs_valid_id(o.server))
		return cs_err(ctx, CS_EINVAL, "invalid server id '%s'", o.server ? o.server : "");
	if (cs_reserved_id(o.server))
		return cs_err(ctx, CS_EINVAL, "server id '%s' is reserved: it names a directory of the"
			      " repository's shared layout or a recipient (see docs/RELIABILITY.md)",
			      o.server);
	if (!dir || !*dir)
		return cs_err(ctx, CS_EINVAL, "missing directory");
	if (auth && auth->token_file &&
	    (rc = init_secret(ctx, "token file", auth->token_file, &token_file)))
		goto done;
	if (auth && auth->ssh_key && (rc = init_secret(ctx, "ssh key", auth->ssh_key, &ssh_key)))
		goto done;
	a.token_file = token_file;
	a.ssh_key = ssh_key;
	{
		/* A local remote that is not there: say so, not libgit2's
		 * "unsupported URL protocol". */
		char *local = gx_local_path(url);
		struct stat sb;
		if (local && stat(local, &sb))
			rc = cs_err(ctx, CS_ERROR, "cannot clone '%s': no such repository (%s)", local,
				    strerror(errno));
		free(local);
		if (rc)
			goto done;
		created = stat(dir, &sb) != 0;
	}
	if ((rc = gx_clone(ctx, url, dir, &a)))
		goto done;
	if (git_repository_open(&ctx->repo, dir)) {
		rc = cs_err_git(ctx, "cannot open the new clone");
		goto done;
	}
	if (!(branch = remote_branch(ctx, url))) {
		rc = cs_err_oom(ctx);
		goto done;
	}
	snprintf(ref, sizeof ref, "refs/remotes/origin/%s", branch);
	if (git_reference_name_to_id(&id, ctx->repo, ref)) {
		git_error_clear();
		if ((rc = check_no_branches(ctx, url, branch))) {
			free(branch);
			goto done;
		}
		empty = 1;
	} else if ((rc = check_layout(ctx, &id, url, allow_adopt, &adopt))) {
		free(branch);
		goto done;
	}
	/* Written before cs_open, which takes only a clone that has them. */
	rc = config_set(ctx, "coordsync.server", o.server);
	if (!rc)
		rc = config_set(ctx, "coordsync.branch", branch);
	free(branch);
	if (rc || (a.user && (rc = config_set(ctx, "coordsync.remote.user", a.user))) ||
	    (token_file && (rc = config_set(ctx, "coordsync.remote.tokenfile", token_file))) ||
	    (ssh_key && (rc = config_set(ctx, "coordsync.remote.sshkey", ssh_key))))
		goto done;
	cs_close(ctx);
	if ((rc = cs_open(out, &o)))
		goto done;
	ctx = *out;
	if (empty)
		rc = seed_remote(ctx, NULL);
	else if (adopt)
		rc = seed_remote(ctx, &id);
done:
	if (rc == CS_EREFUSED && created)
		remove_tree(dir);   /* the clone init made, of a remote it refuses */
	free(token_file);
	free(ssh_key);
	return rc;
}

int cs_init_auth(cs_ctx **out, const char *url, const char *dir, const cs_opts *opts,
		 const cs_remote_auth *auth)
{
	return init_clone(out, url, dir, opts, auth, 0);
}

int cs_init_adopt(cs_ctx **out, const char *url, const char *dir, const cs_opts *opts,
		  const cs_remote_auth *auth)
{
	return init_clone(out, url, dir, opts, auth, 1);
}
