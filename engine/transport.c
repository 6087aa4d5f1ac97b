/* The remote: set-up of libgit2 and its CA certificates, clone, fetch, and
 * the push that serves as compare-and-swap on the remote branch (copied
 * and compared under the ref's lock for a remote on this machine), with
 * the turns deciders sharing a local remote take. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "ctx.h"
#include "util.h"
#include "fault.h"
#include "proc.h"
#include "net.h"
#include "shared.h"
#include "cred.h"
#include "secret.h"
#include "tree.h"
#include "sign.h"
#include "transport.h"

/* ---- set-up, and CA certificates loaded when a remote needs them ---------- */

/* A program may keep libgit2's set-up from parsing the system's CA bundle,
 * which costs every command, for the few that speak TLS: coordsync's does
 * (cli/tls.c says how and why) and registers a hook (coordsync/tls.h) that
 * is told when transport_init runs git_libgit2_init and hands back where the
 * bundle is; transport_tls_ready loads it before the first clone, fetch or push
 * over http:// or https://.  Until then libgit2's CA chain is empty, so a
 * TLS connection that got past transport_tls_ready would fail verification, never
 * skip it.  Without a hook, libgit2 loads the CA certificates itself. */
static cs_tls_hook tls_hook;      /* cs_tls_hook_set's; zeroes: none */
static int tls_loaded;            /* transport_tls_ready ran since libgit2's set-up */

void cs_tls_hook_set(const cs_tls_hook *hook)
{
	if (hook)
		tls_hook = *hook;
	else
		memset(&tls_hook, 0, sizeof tls_hook);
}

void transport_init(void)
{
	if (tls_hook.setup)
		tls_hook.setup(1, tls_hook.arg);
	if (git_libgit2_init() == 1) {
		tls_loaded = 0;     /* libgit2's set-up ran (again) */
		net_register();  /* its shutdown dropped the stream */
	}
	if (tls_hook.setup)
		tls_hook.setup(0, tls_hook.arg);
}

/* Before libgit2 connects to url: if it is http:// or https:// (the only
 * transports that speak TLS; http for a redirect to https), load the CA
 * certificates transport_init left out: GIT_SSL_CAINFO's file when set (git's
 * variable, for a server with a private CA), else the system's (where the
 * hook says they are). */
static int transport_tls_ready(cs_ctx *ctx, const char *url)
{
	const char *ca = getenv("GIT_SSL_CAINFO"), *file = NULL, *dir = NULL;
	secret_url u;

	if (tls_loaded || secret_url_parse(&u, url) || u.form != SECRET_URL_SCHEME ||
	    !((u.scheme.n == 4 && !strncasecmp(u.scheme.p, "http", 4)) ||
	      (u.scheme.n == 5 && !strncasecmp(u.scheme.p, "https", 5))))
		return CS_OK;
	if (ca && *ca) {
		if (git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ca, NULL)) {
			char what[PATH_MAX + 64];
			snprintf(what, sizeof what, "cannot load GIT_SSL_CAINFO '%s'", ca);
			return ctx_err_git(ctx, what);
		}
	} else if (tls_hook.ca_locations) {
		tls_hook.ca_locations(&file, &dir, tls_hook.arg);
		if ((file || dir) && git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, dir))
			return ctx_err_git(ctx, "cannot load the system's CA certificates");
	}
	tls_loaded = 1;
	return CS_OK;
}

/* ---- clone ---------------------------------------------------------------- */

static void url_shown(const char *url, char *out, size_t n);

int transport_clone(cs_ctx *ctx, const char *url, const char *dir, const cs_remote_auth *auth)
{
	git_clone_options co;
	git_repository *repo = NULL;
	cred_state cs = {ctx, auth, 0};
	char shown[512];
	int rc = CS_OK, e;

	if (cred_url_has_password(url))
		return ctx_err(ctx, CS_EINVAL, "the remote URL holds a password: give the URL without"
			      " it and the token in a file of mode 0600 (--token-file FILE)");
	if ((rc = transport_tls_ready(ctx, url)))
		return rc;
	git_clone_options_init(&co, GIT_CLONE_OPTIONS_VERSION);
	co.fetch_opts.callbacks.credentials = cred_cb;
	co.fetch_opts.callbacks.payload = &cs;
	if ((rc = net_begin(ctx, "clone")))
		return rc;
	e = git_clone(&repo, url, dir, &co);
	url_shown(url, shown, sizeof shown);
	if (!(rc = net_end(ctx, "clone", shown, e)) && e)
		rc = ctx_err_git(ctx, "clone failed");
	git_repository_free(repo);
	return rc;
}

/* ---- errors naming the remote ---------------------------------------------- */

/* url as shown in messages: without a user or password ("https://u:t@h/r"
 * becomes "https://h/r"; one secret_url_parse refuses is not shown at all),
 * truncated to fit out. */
static void url_shown(const char *url, char *out, size_t n)
{
	secret_url u;
	if (secret_url_parse(&u, url))
		snprintf(out, n, "(an invalid URL)");
	else if (u.form == SECRET_URL_SCHEME)
		snprintf(out, n, "%.*s://%.*s%s%.*s%.*s", (int)u.scheme.n, u.scheme.p, (int)u.host.n,
			 u.host.p, u.port.p ? ":" : "", (int)u.port.n, u.port.p ? u.port.p : "",
			 (int)u.path.n, u.path.p);
	else
		snprintf(out, n, "%s", url);
}

/* what ("fetch", "push") failed on remote: libgit2's reason, or for a local
 * remote that is not there, that (libgit2 only says "unsupported URL
 * protocol" then).  Returns CS_ERROR. */
static int remote_err(cs_ctx *ctx, git_remote *remote, const char *what)
{
	const git_error *e = git_error_last();
	const char *url = git_remote_url(remote);
	char shown[512], *local = transport_local_path(url);
	struct stat sb;
	int rc;

	url_shown(url, shown, sizeof shown);
	if (local && stat(local, &sb))
		rc = ctx_err(ctx, CS_ERROR, "%s failed: remote '%s' is not there: %s", what, shown,
			    strerror(errno));
	else
		rc = ctx_err(ctx, CS_ERROR, "%s failed: remote '%s': %s", what, shown,
			    e && e->message ? e->message : "unknown libgit2 error");
	free(local);
	return rc;
}

/* ---- fetch ------------------------------------------------------------------ */

/* libgit2 1.5.1 leaks a pcre2 match block on every remote lookup (its
 * regexp wrapper; fixed upstream in libgit2 PR #6382), so look it up once. */
int transport_origin(cs_ctx *ctx, git_remote **out)
{
	if (!ctx->origin && git_remote_lookup(&ctx->origin, ctx->repo, "origin"))
		return ctx_err_git(ctx, "no remote 'origin'");
	*out = ctx->origin;
	return CS_OK;
}

static int local_remote(cs_ctx *ctx, const char *what, git_repository **out);
static int fetch_local(cs_ctx *ctx, git_repository *r, git_oid *head, int *empty);

int transport_fetch(cs_ctx *ctx, git_oid *head, int *empty)
{
	git_remote *remote = NULL;
	git_repository *lr = NULL;
	git_fetch_options fo;
	cred_state cs = {ctx, NULL, 0};
	char ref[256], shown[512];
	int rc = CS_OK, e;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	*empty = 0;
	if ((rc = transport_origin(ctx, &remote)) || (rc = local_remote(ctx, "fetch", &lr)))
		return rc;
	if (lr && (rc = fetch_local(ctx, lr, head, empty)) != CTX_ERETRY)
		return rc;
	if ((rc = transport_tls_ready(ctx, git_remote_url(remote))))
		return rc;    /* else too far behind for a copy: libgit2 fetches */
	fo.callbacks.credentials = cred_cb;
	fo.callbacks.payload = &cs;
	fo.update_fetchhead = 0;
	if ((rc = net_begin(ctx, "fetch")))
		return rc;
	e = git_remote_fetch(remote, NULL, &fo, NULL);
	url_shown(git_remote_url(remote), shown, sizeof shown);
	if ((rc = net_end(ctx, "fetch", shown, e)))
		return rc;
	if (e)
		return remote_err(ctx, remote, "fetch");
	snprintf(ref, sizeof ref, "refs/remotes/origin/%s", ctx->branch);
	if (git_reference_name_to_id(head, ctx->repo, ref)) {
		git_error_clear();
		*empty = 1;
		return rc;
	}
	/* A fetch does not prune: a branch deleted on the remote would stay
	 * in refs/remotes/origin/.  What counts is what the remote listed. */
	{
		const git_remote_head **heads = NULL;
		size_t n = 0, i;
		char want[256];
		snprintf(want, sizeof want, "refs/heads/%s", ctx->branch);
		if (!git_remote_ls(&heads, &n, remote)) {
			for (i = 0; i < n && strcmp(heads[i]->name, want); i++)
				;
			if (i == n)
				*empty = 1;
		}
		git_error_clear();
	}
	return rc;
}

/* ---- push ----------------------------------------------------------------------- */

char *transport_local_path(const char *url)
{
	secret_url u;
	if (secret_url_parse(&u, url) || u.form != SECRET_URL_LOCAL)
		return NULL;           /* scp-like host:path, a scheme's, or invalid */
	return strndup(u.path.p, u.path.n);
}

/* Object copies between two repositories on this machine: the clone and a
 * local remote, in either direction (push and fetch). */
typedef struct xfer {
	cs_ctx *ctx;
	git_repository *from, *to;
	git_odb *src, *dst;
	long copied;             /* objects written to dst */
	int shared;              /* dst's core.sharedRepository (shared_mode) */
} xfer;

/* Give object id, just written to x's destination, and its directory the
 * permissions of a shared destination (core.sharedRepository), as git
 * does: another member of the group must be able to add objects to the
 * directory.  CS_OK, or CS_ERROR naming the path. */
static int shared_object(xfer *x, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1], path[4200];
	size_t n;

	if (!x->shared)
		return CS_OK;
	git_oid_tostr(hex, sizeof hex, id);
	n = (size_t)snprintf(path, sizeof path, "%sobjects/%.2s", git_repository_path(x->to), hex);
	if (!shared_fix(x->shared, path)) {
		snprintf(path + n, sizeof path - n, "/%s", hex + 2);
		if (!shared_fix(x->shared, path))
			return CS_OK;
	}
	return ctx_err(x->ctx, CS_ERROR, "cannot set the shared permissions of '%s': %s", path,
		      strerror(errno));
}

/* Copy object id as a loose file: the bytes are already compressed, so
 * nothing is inflated, deflated or hashed again.  1 when done, 0 when the
 * object is not loose in the source (the caller copies it through the
 * object databases), -1 on error. */
static int copy_loose(xfer *x, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1], src[4096], dst[4096], tmp[4200];
	const char *from = git_repository_path(x->from), *to = git_repository_path(x->to);
	FILE *in = NULL, *out = NULL;
	char buf[65536];
	size_t n;
	int rc = 1;

	git_oid_tostr(hex, sizeof hex, id);
	snprintf(src, sizeof src, "%sobjects/%.2s/%s", from, hex, hex + 2);
	if (!(in = fopen(src, "rb")))
		return 0;
	snprintf(dst, sizeof dst, "%sobjects/%.2s", to, hex);
	if (mkdir(dst, 0755) && errno != EEXIST) {
		fclose(in);
		return ctx_err(x->ctx, CS_ERROR, "cannot write object: %s: %s", dst, strerror(errno)), -1;
	}
	snprintf(dst, sizeof dst, "%sobjects/%.2s/%s", to, hex, hex + 2);
	snprintf(tmp, sizeof tmp, "%s.coordsync-%ld", dst, (long)getpid());
	if (!(out = fopen(tmp, "wb")))
		rc = -1;
	while (rc > 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	if (rc > 0 && ferror(in))
		rc = -1;
	if (out && fclose(out))
		rc = -1;
	fclose(in);
	/* Objects are immutable: a concurrent writer of the same id wrote the
	 * same bytes, so the rename may replace it. */
	if (rc > 0 && rename(tmp, dst))
		rc = -1;
	if (rc < 0) {
		unlink(tmp);
		ctx_err(x->ctx, CS_ERROR, "cannot write object: %s: %s", dst, strerror(errno));
	} else {
		x->copied++;
		if (shared_object(x, id))
			rc = -1;
	}
	return rc;
}

/* Copy one object that dst lacks, loose if it can. */
static int copy_object(xfer *x, const git_oid *id, git_object_t type)
{
	git_odb_object *o = NULL;
	git_oid w;
	int done = copy_loose(x, id), rc = CS_OK;
	if (done)
		return done < 0 ? CS_ERROR : CS_OK;
	if (git_odb_read(&o, x->src, id) ||
	    git_odb_write(&w, x->dst, git_odb_object_data(o), git_odb_object_size(o), type))
		rc = ctx_err_git(x->ctx, "cannot copy object");
	else if (!(rc = shared_object(x, id)))
		x->copied++;
	git_odb_object_free(o);
	return rc;
}

/* Copy the objects of tree id that dst lacks.  A tree is written after
 * everything it names, so a tree in dst is always complete. */
static int copy_tree(xfer *x, const git_oid *id)
{
	git_tree *t = NULL;
	int rc = CS_OK;

	if (git_odb_exists(x->dst, id))
		return CS_OK;
	if (git_tree_lookup(&t, x->from, id))
		return ctx_err_git(x->ctx, "cannot read tree");
	for (size_t i = 0, n = git_tree_entrycount(t); i < n && !rc; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		const git_oid *eid = git_tree_entry_id(e);
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
			rc = copy_tree(x, eid);
		else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB && !git_odb_exists(x->dst, eid))
			rc = copy_object(x, eid, GIT_OBJECT_BLOB);
	}
	if (!rc)
		rc = copy_object(x, id, GIT_OBJECT_TREE);
	git_tree_free(t);
	return rc;
}

/* Copy commit id with its tree and every ancestor that dst lacks, oldest
 * first: a commit in dst always has its whole history there.  CTX_ERETRY
 * when more than max commits are missing (the caller fetches instead). */
static int copy_commits(xfer *x, const git_oid *id, size_t max)
{
	git_oid *todo = NULL, *stack = NULL;
	size_t ntodo = 0, nstack = 0, cap = 0;
	int rc = CS_OK;

	if (git_odb_exists(x->dst, id))
		return CS_OK;
	if (!(todo = malloc((max + 1) * sizeof *todo)) || !(stack = malloc((max + 1) * sizeof *stack))) {
		rc = ctx_err_oom(x->ctx);
		goto done;
	}
	cap = max + 1;
	git_oid_cpy(&stack[nstack++], id);
	/* Depth first from the head; each missing commit is listed once. */
	while (nstack && !rc) {
		git_commit *c = NULL;
		git_oid cur = stack[--nstack];
		int seen = 0;
		for (size_t i = 0; i < ntodo && !seen; i++)
			seen = !git_oid_cmp(&todo[i], &cur);
		if (seen || git_odb_exists(x->dst, &cur))
			continue;
		if (ntodo == max) {
			rc = CTX_ERETRY;
			break;
		}
		git_oid_cpy(&todo[ntodo++], &cur);
		if (git_commit_lookup(&c, x->from, &cur)) {
			rc = ctx_err_git(x->ctx, "cannot read commit");
			break;
		}
		for (unsigned p = 0; p < git_commit_parentcount(c) && !rc; p++) {
			if (nstack == cap)
				rc = CTX_ERETRY;
			else
				git_oid_cpy(&stack[nstack++], git_commit_parent_id(c, p));
		}
		git_commit_free(c);
	}
	/* Parents were listed after their children: write from the end. */
	for (size_t i = ntodo; i-- > 0 && !rc;) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, x->from, &todo[i]))
			rc = ctx_err_git(x->ctx, "cannot read commit");
		else if (!(rc = copy_tree(x, git_commit_tree_id(c))))
			rc = copy_object(x, &todo[i], GIT_OBJECT_COMMIT);
		git_commit_free(c);
	}
done:
	free(todo);
	free(stack);
	return rc;
}

/* The remote as a repository when origin is a path on this machine (NULL
 * otherwise), opened once per context. */
static int local_remote(cs_ctx *ctx, const char *what, git_repository **out)
{
	git_remote *remote = NULL;
	char *path;
	int rc;

	*out = NULL;
	if (!ctx->local_checked) {
		if ((rc = transport_origin(ctx, &remote)))
			return rc;
		if ((path = transport_local_path(git_remote_url(remote)))) {
			if (git_repository_open_ext(&ctx->local, path, GIT_REPOSITORY_OPEN_NO_SEARCH,
						    NULL))
				rc = remote_err(ctx, remote, what);
			else if (!(rc = tree_fast_writes(ctx, ctx->local))) {
				ctx->local_shared = shared_mode(ctx->local);
				shared_hooks_dir(ctx->local, ctx->local_hooks, sizeof ctx->local_hooks);
			}
			free(path);
			if (rc) {
				git_repository_free(ctx->local);
				ctx->local = NULL;
				return rc;
			}
		}
		ctx->local_checked = 1;
	}
	*out = ctx->local;
	return CS_OK;
}

static int xfer_open(cs_ctx *ctx, xfer *x, git_repository *from, git_repository *to)
{
	memset(x, 0, sizeof *x);
	x->ctx = ctx;
	x->from = from;
	x->to = to;
	x->shared = to == ctx->local ? ctx->local_shared : 0;
	if (git_repository_odb(&x->src, from) || git_repository_odb(&x->dst, to))
		return ctx_err_git(ctx, "cannot open object databases");
	return CS_OK;
}

static void xfer_close(xfer *x)
{
	git_odb_free(x->src);
	git_odb_free(x->dst);
}

/* Deciders on this machine that share a local remote take turns on an
 * advisory lock in it from fetch to push, rather than all deciding at once
 * and all but one having their push refused: with eight of them on two
 * cores most of the work went into decisions bound to be thrown away.  The
 * push is still the compare-and-swap (other tools do not take this lock),
 * and a turn that does not come within a few seconds is not waited for.
 * Returns the lock's descriptor, or -1 when there is none to take. */
int transport_turn_begin(cs_ctx *ctx)
{
	git_repository *r = NULL;
	struct timespec ts = {0, 1000 * 1000};
	char path[4200];
	int fd;

	if (local_remote(ctx, "fetch", &r) || !r) {
		git_error_clear();
		return -1;
	}
	snprintf(path, sizeof path, "%scoordsync-turn", git_repository_path(r));
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666)) < 0)
		return -1;   /* a read-only remote: nothing to queue on */
	shared_fix(ctx->local_shared, path);   /* the group's deciders take turns too */
	for (int i = 0; i < 3000; i++) {
		if (!flock(fd, LOCK_EX | LOCK_NB))
			return fd;
		if (errno != EWOULDBLOCK)
			break;
		nanosleep(&ts, NULL);
	}
	close(fd);
	return -1;
}

void transport_turn_end(int fd)
{
	if (fd >= 0)
		close(fd);   /* releases the lock */
}

/* A fetch from a local remote: read its branch and copy what the clone
 * lacks as loose files.  libgit2's local transport would build a pack with
 * deltas and index it again, several times the work for the few objects a
 * decision adds.  CTX_ERETRY when too far behind (the caller fetches). */
static int fetch_local(cs_ctx *ctx, git_repository *r, git_oid *head, int *empty)
{
	git_transaction *tx = NULL;
	git_oid have;
	xfer x;
	char name[256];
	int rc;

	snprintf(name, sizeof name, "refs/heads/%s", ctx->branch);
	if (git_reference_name_to_id(head, r, name)) {
		git_error_clear();
		*empty = 1;
		return CS_OK;
	}
	if ((rc = xfer_open(ctx, &x, r, ctx->repo)))
		goto done;
	if ((rc = copy_commits(&x, head, 256)))
		goto done;
	/* Nothing new is the common case: leave the ref alone rather than
	 * rewrite it through a lock file. */
	snprintf(name, sizeof name, "refs/remotes/origin/%s", ctx->branch);
	if (!git_reference_name_to_id(&have, ctx->repo, name) && !git_oid_cmp(&have, head))
		goto done;
	git_error_clear();
	/* As git_reference_create, in a transaction: its lock file is made
	 * first, a step a fault test can stop at (as a kill inside libgit2's
	 * ref write would). */
	if (git_transaction_new(&tx, ctx->repo) || git_transaction_lock_ref(tx, name)) {
		rc = ctx_err_git(ctx, "cannot record the fetched head");
		goto done;
	}
	FAULT_AT("fetch-ref");
	if (git_transaction_set_target(tx, name, head, NULL, "coordsync: fetch") ||
	    git_transaction_commit(tx))
		rc = ctx_err_git(ctx, "cannot record the fetched head");
done:
	xfer_close(&x);
	git_transaction_free(tx);
	return rc;
}

/* ---- a left-over ref lock on a local remote ------------------------------------- */

/* The push to the local remote r found its branch `name` locked.  A git
 * process killed during a ref update leaves NAME.lock behind, and every
 * push fails until it is gone.  The lock is removed only when provably
 * stale: no process on this machine has it open (libgit2 writers, coordsync
 * among them, keep it open while they hold it) and it is older than
 * coordsync.stalelock seconds (git's own writers close it before renaming
 * it into place, but hold it for milliseconds: git waits only
 * core.filesRefLockTimeout, 100 ms, for such a lock).  Returns CTX_ERETRY,
 * with the reason as the message when the lock is left alone, so that the
 * decision loop tries again and reports the reason if it gives up. */
static int ref_lock_check(cs_ctx *ctx, git_repository *r, const char *name)
{
	char lock[PATH_MAX], real[PATH_MAX], aside[PATH_MAX], comm[64];
	long long bound = cs_config_num(ctx, "stalelock", 30);
	struct stat sb, moved;
	long pid;
	long long age;

	snprintf(lock, sizeof lock, "%s%s.lock", git_repository_path(r), name);
	if (lstat(lock, &sb) || !realpath(lock, real))   /* gone already, or not ours */
		return ctx_err(ctx, CTX_ERETRY, "remote branch '%s' is locked: %s", name,
			      git_error_last() ? git_error_last()->message : "");
	age = (long long)(time(NULL) - sb.st_mtime);
	if ((pid = proc_open_by(real)) > 0) {
		proc_name(pid, comm, sizeof comm);
		return ctx_err(ctx, CTX_ERETRY, "remote branch '%s' is locked: '%s' is open in process"
			      " %ld (%s) on this machine; left alone", name, lock, pid, comm);
	}
	if (pid < 0)
		return ctx_err(ctx, CTX_ERETRY, "remote branch '%s' is locked: '%s' (%llds old); /proc"
			      " cannot be read to tell whether a process holds it: remove it by hand"
			      " once no git runs on the remote", name, lock, age);
	if (bound <= 0 || age < bound)
		return ctx_err(ctx, CTX_ERETRY, "remote branch '%s' is locked: '%s' is %llds old and open"
			      " in no process on this machine; %s", name, lock, age,
			      bound <= 0 ? "coordsync.stalelock is 0: remove it by hand if it is stale"
					 : "it is removed as stale once older than coordsync.stalelock");
	/* Move it out of refs/ and check that it is the file judged: no new
	 * lock can be created while it exists, so only another cleaner racing
	 * with us can have put a fresh one there. */
	snprintf(aside, sizeof aside, "%scoordsync-stale-lock.%ld", git_repository_path(r),
		 (long)getpid());
	if (rename(lock, aside))
		return ctx_err(ctx, CTX_ERETRY, "cannot remove the stale lock '%s': %s", lock,
			      strerror(errno));
	if (lstat(aside, &moved) || moved.st_ino != sb.st_ino || moved.st_dev != sb.st_dev) {
		if (link(aside, lock) && errno != EEXIST)
			ctx_notice(ctx, "could not put back '%s': %s", lock, strerror(errno));
		unlink(aside);
		return ctx_err(ctx, CTX_ERETRY, "remote branch '%s' is locked: '%s' changed", name, lock);
	}
	unlink(aside);
	ctx_notice(ctx, "removed the stale lock '%s' (%llds old, open in no process on this"
		  " machine), left by a writer killed during a push", lock, age);
	return ctx_err(ctx, CTX_ERETRY, "removed the stale lock '%s'", lock);
}

/* ---- the push: the remote's hooks, a local push, a smart push ------------------- */

/* The output of a remote's hook, for a message: control characters (its
 * line ends among them) as spaces, runs of them as one, trimmed. */
static const char *hook_text(sbuf *out)
{
	size_t k = 0;
	if (!out->p)
		return "";
	for (size_t i = 0; i < out->n; i++) {
		unsigned char c = (unsigned char)out->p[i];
		if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ' && (!k || out->p[k - 1] == ' '))
			continue;
		out->p[k++] = (char)c;
	}
	while (k && out->p[k - 1] == ' ')
		k--;
	out->p[k] = 0;
	out->n = k;
	return out->p;
}

/* Run the remote r's hook name; a hook that exits non-zero refuses the
 * push (when refuse is set: pre-receive and update) with its message,
 * CS_ERROR.  What a hook prints otherwise goes to the notice callback, as
 * git's push shows it ("remote: ..."). */
static int hook(cs_ctx *ctx, git_repository *r, const char *name, const char *input,
		const char *const *args, int refuse)
{
	sbuf out = {0};
	int rc, st;

	if (!(rc = shared_hook_run(ctx, r, ctx->local_hooks, name, input, args, &out, &st))) {
		const char *text = hook_text(&out);
		if (refuse && st > 0)
			rc = ctx_err(ctx, CS_ERROR, "push refused by the remote's %s hook (exit %d)%s%s",
				    name, st, *text ? ": " : "", text);
		else if (*text)
			ctx_notice(ctx, "remote %s hook: %s", name, text);
	}
	sb_free(&out);
	return rc;
}

/* libgit2 1.5's local transport updates the remote ref without checking its
 * old value, so for a local remote we copy the objects ourselves and move
 * the ref with git_reference_create_matching, which compares under the
 * ref's lock file.  As git's receive-pack does, the remote's pre-receive
 * and update hooks may refuse the update first, post-receive and
 * post-update hear of it after, and what is written takes the remote's
 * core.sharedRepository permissions. */
static int push_local(cs_ctx *ctx, git_repository *r, const git_oid *commit,
		      const git_oid *parent, const char *msg)
{
	git_reference *ref = NULL;
	xfer x;
	char name[256], oldhex[GIT_OID_HEXSZ + 1], newhex[GIT_OID_HEXSZ + 1], line[400];
	const char *uargs[4] = {NULL, oldhex, newhex, NULL};
	int rc, e;

	snprintf(name, sizeof name, "refs/heads/%s", ctx->branch);
	uargs[0] = name;
	if ((rc = xfer_open(ctx, &x, ctx->repo, r)) || (rc = copy_commits(&x, commit, 100000)))
		goto done;
	FAULT_AT("mid-push");     /* objects copied, branch not moved */
	git_oid_tostr(newhex, sizeof newhex, commit);
	if (parent)
		git_oid_tostr(oldhex, sizeof oldhex, parent);
	else
		snprintf(oldhex, sizeof oldhex, "%0*d", GIT_OID_HEXSZ, 0);
	snprintf(line, sizeof line, "%s %s %s\n", oldhex, newhex, name);
	if ((rc = hook(ctx, r, "pre-receive", line, NULL, 1)) ||
	    (rc = hook(ctx, r, "update", NULL, uargs, 1)))
		goto done;
	if (parent)
		e = git_reference_create_matching(&ref, r, name, commit, 1, parent, msg);
	else
		e = git_reference_create(&ref, r, name, commit, 0, msg);
	if (e == GIT_EMODIFIED || e == GIT_EEXISTS)
		rc = ctx_err(ctx, CTX_ERETRY, "remote branch '%s' moved: another server pushed first",
			    name);
	else if (e == GIT_ELOCKED)
		rc = ref_lock_check(ctx, r, name);
	else if (e) {
		char what[PATH_MAX + 300];
		snprintf(what, sizeof what, "push failed: cannot move '%s' in the remote '%s'", name,
			 git_repository_path(r));
		rc = ctx_err_git(ctx, what);
	}
	/* The branch moved, and that is what counts: a permission not set is
	 * told, not a failed push. */
	if (!rc && x.shared) {
		char path[4200];
		const char *gd = git_repository_path(r);
		/* The branch, and a reflog when the remote keeps them, with the
		 * directories a branch name with '/' needed. */
		for (int log = 0; log < 2; log++) {
			const char *pre = log ? "logs/" : "";
			/* "refs", "refs/heads", ... ("logs" itself for the reflog) */
			for (const char *sl = log ? name : strchr(name, '/'); sl; sl = strchr(sl + 1, '/')) {
				snprintf(path, sizeof path, "%s%.*s%.*s", gd, sl == name ? 4 : (int)strlen(pre),
					 pre, (int)(sl - name), name);
				if (shared_fix(x.shared, path))
					ctx_notice(ctx, "cannot set the shared permissions of '%s': %s", path,
						  strerror(errno));
			}
			snprintf(path, sizeof path, "%s%s%s", gd, pre, name);
			if (shared_fix(x.shared, path))
				ctx_notice(ctx, "cannot set the shared permissions of '%s': %s", path,
					  strerror(errno));
		}
		snprintf(path, sizeof path, "%slogs/HEAD", gd);   /* HEAD names the branch */
		if (shared_fix(x.shared, path))
			ctx_notice(ctx, "cannot set the shared permissions of '%s': %s", path,
				  strerror(errno));
	}
	/* The branch moved: the hooks after it cannot undo that, and their
	 * failure is not the push's (git ignores their exit status too). */
	if (!rc) {
		const char *pargs[2] = {name, NULL};
		if (hook(ctx, r, "post-receive", line, NULL, 0) ||
		    hook(ctx, r, "post-update", NULL, pargs, 0)) {
			ctx_notice(ctx, "%s", ctx->err);
			rc = CS_OK;
		}
	}
done:
	xfer_close(&x);
	git_reference_free(ref);
	return rc;
}

typedef struct push_state {
	cred_state cred;
	char status[256];
} push_state;

static int push_ref_cb(const char *refname, const char *status, void *payload)
{
	push_state *ps = payload;
	if (status)
		snprintf(ps->status, sizeof ps->status, "%s: %s", refname, status);
	return 0;
}

/* Called while the pack is being sent: the crash test's mid-push step. */
static int push_progress_cb(unsigned int current, unsigned int total, size_t bytes, void *payload)
{
	(void)current;
	(void)total;
	(void)bytes;
	(void)payload;
	fault_hit("mid-push");
	return 0;
}

static int cred_push_cb(git_credential **out, const char *url, const char *user,
			unsigned int allowed, void *payload)
{
	return cred_cb(out, url, user, allowed, &((push_state *)payload)->cred);
}

/* Smart transports send the old id and receive-pack enforces it.  A refusal
 * comes back either as GIT_ENONFASTFORWARD or as a status in the callback. */
static int push_smart(cs_ctx *ctx, git_remote *remote, const git_oid *commit)
{
	git_push_options po;
	git_reference *tmp = NULL;
	push_state ps = {{ctx, NULL, 0}, ""};
	char spec[300], shown[512];
	char *specs[1] = {spec};
	git_strarray arr = {specs, 1};
	int e, rc = CS_OK;

	if ((rc = transport_tls_ready(ctx, git_remote_pushurl(remote) ? git_remote_pushurl(remote)
							       : git_remote_url(remote))))
		return rc;
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	/* libgit2 1.5 pushes ref names only, not raw ids. */
	if (git_reference_create(&tmp, ctx->repo, "refs/coordsync/outgoing", commit, 1, "push"))
		return ctx_err_git(ctx, "cannot create push ref");
	snprintf(spec, sizeof spec, "refs/coordsync/outgoing:refs/heads/%s", ctx->branch);
	po.callbacks.push_update_reference = push_ref_cb;
	po.callbacks.credentials = cred_push_cb;
	po.callbacks.payload = &ps;
	if (fault_armed("mid-push"))
		po.callbacks.push_transfer_progress = push_progress_cb;
	if ((rc = net_begin(ctx, "push")))
		goto done;
	e = git_remote_push(remote, &arr, &po);
	url_shown(git_remote_pushurl(remote) ? git_remote_pushurl(remote) : git_remote_url(remote),
		  shown, sizeof shown);
	if ((rc = net_end(ctx, "push", shown, e)))
		;
	else if (e == GIT_ENONFASTFORWARD)
		rc = ctx_err(ctx, CTX_ERETRY, "push refused: not a fast-forward");
	else if (e)
		rc = remote_err(ctx, remote, "push");
	else if (ps.status[0])
		rc = ctx_err(ctx, CTX_ERETRY, "push refused: %s", ps.status);
done:
	git_reference_delete(tmp);
	git_reference_free(tmp);
	return rc;
}

int transport_commit_push(cs_ctx *ctx, const git_oid *tree_id, const git_oid *parent, const char *msg,
		   git_oid *commit)
{
	git_tree *tree = NULL;
	git_commit *pc = NULL;
	git_remote *remote = NULL;
	git_reference *ref = NULL;
	char name[256];
	git_repository *lr = NULL;
	int rc = CS_OK;

	if (git_tree_lookup(&tree, ctx->repo, tree_id) ||
	    (parent && git_commit_lookup(&pc, ctx->repo, parent))) {
		rc = ctx_err_git(ctx, "cannot prepare commit");
		goto done;
	}
	if ((rc = sign_commit(ctx, commit, tree, pc, msg)))
		goto done;
	FAULT_AT("after-commit");
	if ((rc = transport_origin(ctx, &remote)) || (rc = local_remote(ctx, "push", &lr)))
		goto done;
	if (lr)
		rc = push_local(ctx, lr, commit, parent, msg);
	else
		rc = push_smart(ctx, remote, commit);
	if (rc)
		goto done;
	/* Pushed.  The remote-tracking branch only saves a fetch: when it
	 * cannot be written (a full disk), the next fetch sets it. */
	snprintf(name, sizeof name, "refs/remotes/origin/%s", ctx->branch);
	if (git_reference_create(&ref, ctx->repo, name, commit, 1, "coordsync: pushed"))
		git_error_clear();
done:
	git_reference_free(ref);
	git_commit_free(pc);
	git_tree_free(tree);
	return rc;
}

/* ---- a new remote ------------------------------------------------------------------ */

int cs_create_remote(const char *path, char *msg, size_t msglen)
{
	git_repository_init_options o;
	git_repository *r = NULL;
	int rc = CS_OK;

	transport_init();
	git_repository_init_options_init(&o, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	o.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH |
		  GIT_REPOSITORY_INIT_NO_REINIT;
	o.initial_head = "main";
	if (git_repository_init_ext(&r, path, &o)) {
		const git_error *e = git_error_last();
		snprintf(msg, msglen, "cannot create '%s': %s", path, e ? e->message : "?");
		rc = CS_ERROR;
	}
	git_repository_free(r);
	git_libgit2_shutdown();
	return rc;
}
