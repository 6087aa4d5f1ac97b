/* The handle (cs_open/cs_close and its settings), the locks it holds (the
 * mirror file's shared flock from open to close, and the clone's process
 * lock for a writer), and libgit2's process-wide hold. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "ctx.h"
#include "util.h"
#include "fault.h"
#include "db.h"
#include "config.h"
#include "tree.h"
#include "texts.h"
#include "transport.h"
#include "worktree.h"
#include "handle.h"

/* ---- handles ------------------------------------------------------------- */

static void random_seed(cs_ctx *ctx);

const char *cs_errmsg(const cs_ctx *ctx)
{
	return ctx ? ctx->err : "out of memory";
}

const char *cs_server(const cs_ctx *ctx) { return ctx->server; }
const char *cs_workdir(const cs_ctx *ctx) { return ctx->workdir; }
const char *cs_dbpath(const cs_ctx *ctx) { return ctx->dbpath; }
const char *cs_gitdir(const cs_ctx *ctx) { return ctx->gitdir; }

static _Thread_local texts_keeper *held;   /* this thread's cs_hold's, for its handles */
static _Thread_local int holds;

void cs_hold(void)
{
	transport_init();
	if (!holds++)
		held = texts_keeper_new();
}

/* A release without a hold of this thread's does nothing: it must not drop
 * a libgit2 reference some other holder took. */
void cs_release(void)
{
	if (!holds)
		return;
	if (!--holds) {
		texts_keeper_unref(held);
		held = NULL;
	}
	git_libgit2_shutdown();
}

void cs_set_abort(cs_ctx *ctx, cs_abort_fn fn, void *arg)
{
	ctx->abort_fn = fn;
	ctx->abort_arg = arg;
}

void cs_set_dry_run(cs_ctx *ctx, cs_dry_fn fn, void *arg)
{
	ctx->dry_fn = fn;
	ctx->dry_arg = arg;
}

void cs_set_retries(cs_ctx *ctx, int n)
{
	ctx->max_attempts = n > 0 ? n : 1;
}

void cs_set_seed_wait(cs_ctx *ctx, double seconds)
{
	ctx->seed_wait = seconds > 0 ? seconds : 0;
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
	handle_edits_clear(ctx);
	texts_free(ctx);
	texts_keeper_unref(ctx->keeper);
	git_remote_free(ctx->origin);
	git_repository_free(ctx->local);
	git_repository_free(ctx->repo);
	cs_clone_unlock(ctx);
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

cs_ctx *handle_new(void)
{
	cs_ctx *ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		return NULL;
	ctx->lockfd = -1;
	ctx->mirrorfd = -1;
	ctx->max_attempts = 60;
	ctx->lock_delay = 5;
	ctx->seed_wait = CS_SEED_WAIT;
	fault_init();
	ctx->max_file = CTX_MAX_BLOB;
	ctx->query_seconds = 30;
	ctx->keeper = texts_keeper_ref(held);
	transport_init();
	/* Objects come from our own clone; re-hashing every 30 MB blob on each
	 * read doubles the cost of an import for no gain in safety here. */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	/* A decision reads the same blob several times (export, history, the
	 * local push, the checkout): keep blobs of up to 8 MiB in libgit2's
	 * object cache.  Larger files are read when needed, to bound memory. */
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_BLOB, (size_t)8 << 20);
	random_seed(ctx);
	return ctx;
}

/* ---- random numbers ---------------------------------------------------------- */
/* Each handle has its own generator: rand() is one sequence for the whole
 * process, which two handles (a daemon's, a served command's) would share,
 * and which each would seed again.  Not for secrets: for jitter. */

/* Seed from the kernel's random pool; without it (an old kernel, a
 * seccomp filter), from the time, the process and the handle's address,
 * which differ between handles open at once. */
static void random_seed(cs_ctx *ctx)
{
	unsigned long long s = 0;
	if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s)
		s = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32) ^
		    (unsigned long long)(uintptr_t)ctx;
	ctx->rand_state = s ? s : 0x9e3779b97f4a7c15ULL;   /* xorshift stays at 0 */
}

unsigned handle_random(cs_ctx *ctx)
{
	/* xorshift64* (Vigna): the high half of the product is well mixed. */
	unsigned long long x = ctx->rand_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	ctx->rand_state = x;
	return (unsigned)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

char *handle_join(const char *a, const char *b)
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

/* ---- the mirror's lock, and opening a clone ---------------------------------- */
/* SQLite pairs a database with its -wal and -shm files by name.  A rebuild
 * puts a new mirror file in the place of the old one; a connection still
 * open on the old file (a query running meanwhile) keeps the old
 * database's frames in the -wal, and the next connection to the new file
 * would read them and checkpoint them into it: a corrupt mirror (SQLite's
 * "How To Corrupt", a database paired with another's WAL).  So a handle
 * holds a shared flock on DBPATH.lock from before it opens the mirror until
 * it closes, and a rebuild swaps the file only under an exclusive one. */
int handle_mirror_lock(cs_ctx *ctx, int op, int wait_ms)
{
	char *path;
	if (ctx->mirrorfd < 0) {
		if (!(path = handle_join(ctx->dbpath, ".lock")))
			return ctx_err_oom(ctx);
		ctx->mirrorfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		free(path);
		if (ctx->mirrorfd < 0)
			return ctx_err(ctx, CS_ERROR, "cannot open '%s.lock': %s", ctx->dbpath,
				      strerror(errno));
	}
	if (!flock_wait(ctx->mirrorfd, op, wait_ms))
		return CS_OK;
	if (errno == EWOULDBLOCK)
		return CS_EBUSY;
	return ctx_err(ctx, CS_ERROR, "cannot lock '%s.lock': %s", ctx->dbpath, strerror(errno));
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
	char *mirror = handle_join(ctx->gitdir, "coordsync/mirror.db");
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
	return ctx_err(ctx, CS_ERROR, "'%s' is not a coordsync clone (its git config has no"
		      " coordsync.branch); make one with 'coordsync init URL DIR --server ID'",
		      ctx->workdir);
}

static int open_clone(cs_ctx **out, const cs_opts *opts, int unchecked)
{
	cs_ctx *ctx = *out = handle_new();
	const char *dir = opts && opts->dir ? opts->dir : ".";
	char *dbdir = NULL;
	int rc;

	if (!ctx)
		return CS_ERROR;
	if (git_repository_open_ext(&ctx->repo, dir, 0, NULL))
		return ctx_err_git(ctx, "not a coordsync clone");
	if (git_repository_is_bare(ctx->repo))
		return ctx_err(ctx, CS_EINVAL, "'%s' is a bare repository, not a clone", dir);
	if ((rc = tree_fast_writes(ctx, ctx->repo)))
		return rc;
	ctx->workdir = util_strdup(git_repository_workdir(ctx->repo));
	ctx->gitdir = util_strdup(git_repository_path(ctx->repo));
	if (!ctx->workdir || !ctx->gitdir)
		return ctx_err_oom(ctx);
	/* Only a clone made by init (or set up as one) is used: any other git
	 * repository is left as it was, without a mirror created in it. */
	if ((rc = is_clone(ctx)))
		return rc;
	ctx->server = opts && opts->server ? util_strdup(opts->server) : cs_config_get(ctx, "server");
	ctx->branch = cs_config_get(ctx, "branch");
	if (!unchecked && (rc = config_check_open(ctx)))
		return rc;
	ctx->lock_delay = (int)cs_config_num(ctx, "lockdelay", 5);
	cs_set_retries(ctx, (int)cs_config_num(ctx, "retries", 60));
	ctx->retry_base_ms = (int)cs_config_num(ctx, "retry.base", 10);
	ctx->retry_cap_ms = (int)cs_config_num(ctx, "retry.cap", 500);
	ctx->max_file = cs_config_num(ctx, "maxfilesize", CTX_MAX_BLOB);
	ctx->query_seconds = (int)cs_config_num(ctx, "query.timeout", 30);
	if (!ctx->branch)
		return ctx_err_oom(ctx);
	if (ctx->server && !cs_valid_id(ctx->server))
		return ctx_err(ctx, CS_EINVAL, "invalid server id '%s'", ctx->server);
	if (ctx->server && cs_reserved_id(ctx->server) && !unchecked)
		return ctx_err(ctx, CS_EINVAL, "server id '%s' is reserved: it names a directory of the"
			      " repository's shared layout or a recipient (see docs/RELIABILITY.md)",
			      ctx->server);
	if (opts && opts->db) {
		ctx->dbpath = strdup(opts->db);
	} else {
		if (!(dbdir = handle_join(ctx->gitdir, "coordsync")))
			return ctx_err_oom(ctx);
		if (mkdir(dbdir, 0755) && errno != EEXIST) {
			rc = ctx_err(ctx, CS_ERROR, "cannot create '%s': %s", dbdir, strerror(errno));
			free(dbdir);
			return rc;
		}
		free(dbdir);
		ctx->dbpath = handle_join(ctx->gitdir, "coordsync/mirror.db");
	}
	if (!ctx->dbpath)
		return ctx_err_oom(ctx);
	if ((rc = handle_mirror_lock(ctx, LOCK_SH, 60000)) == CS_EBUSY)
		return ctx_err(ctx, CS_EBUSY, "a rebuild is replacing the mirror; waited 60 s");
	if (!rc && (rc = db_open(ctx, ctx->dbpath, DB_CREATE)) && ctx->malformed) {
		/* Left for cs_mirror_repair, cs_sync or cs_rebuild to set aside. */
		sqlite3_close(ctx->db);
		ctx->db = NULL;
	}
	return rc;
}

int cs_open(cs_ctx **out, const cs_opts *opts)
{
	return open_clone(out, opts, 0);
}

int cs_open_unchecked(cs_ctx **out, const cs_opts *opts)
{
	return open_clone(out, opts, 1);
}

/* ---- the clone's lock ----------------------------------------------------- */

int handle_lock_clone(cs_ctx *ctx)
{
	return cs_clone_lock(ctx, 60);
}

int cs_clone_lock(cs_ctx *ctx, int wait)
{
	char *path;
	if (ctx->lockfd >= 0)
		return CS_OK;
	if (!(path = handle_join(ctx->gitdir, "coordsync/lock")))
		return ctx_err_oom(ctx);
	ctx->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(path);
	if (ctx->lockfd < 0)
		return ctx_err(ctx, CS_ERROR, "cannot open the clone's lock file: %s", strerror(errno));
	/* Another coordsync on this clone finishes its decision in well under a
	 * minute; decisions wait that long at most. */
	if (!flock_wait(ctx->lockfd, LOCK_EX, wait * 1000)) {
		worktree_locks_clear(ctx);   /* no coordsync writes the clone now */
		return CS_OK;
	}
	close(ctx->lockfd);
	ctx->lockfd = -1;
	return ctx_err(ctx, CS_EBUSY, "another coordsync holds this clone's lock");
}

void cs_clone_unlock(cs_ctx *ctx)
{
	if (ctx && ctx->lockfd >= 0) {
		close(ctx->lockfd);
		ctx->lockfd = -1;
	}
}

/* ---- a decision's edits ----------------------------------------------------- */

void handle_edits_clear(cs_ctx *ctx)
{
	texts_clear(ctx);
	tree_edits_free(ctx->edits, ctx->nedits);
	ctx->edits = NULL;
	ctx->nedits = 0;
}
