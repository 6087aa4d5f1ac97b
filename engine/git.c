/* All git work, through libgit2: fetch, trees, commits and the push that
 * serves as compare-and-swap on the remote branch. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <git2/sys/odb_backend.h>
#include "cs_int.h"

/* ---- credentials ---------------------------------------------------------- */

typedef struct cred_state {
	int tries;
} cred_state;

/* libgit2 calls this again after every failure; give up after a few. */
static int cred_cb(git_credential **out, const char *url, const char *user,
		   unsigned int allowed, void *payload)
{
	cred_state *cs = payload;
	(void)url;
	if (!cs || ++cs->tries > 3)
		return GIT_EUSER;
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return git_credential_ssh_key_from_agent(out, user ? user : "git");
	return GIT_PASSTHROUGH;
}

/* ---- errors naming the remote ---------------------------------------------- */

/* url as shown in messages: without a user or password ("https://u:t@h/r"
 * becomes "https://h/r"), truncated to fit out. */
static void url_shown(const char *url, char *out, size_t n)
{
	const char *sep = strstr(url, "://"), *at, *slash;
	if (sep && (at = strchr(sep + 3, '@')) && (!(slash = strchr(sep + 3, '/')) || at < slash))
		snprintf(out, n, "%.*s%s", (int)(sep + 3 - url), url, at + 1);
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
	char shown[512], *local = gx_local_path(url);
	struct stat sb;
	int rc;

	url_shown(url, shown, sizeof shown);
	if (local && stat(local, &sb))
		rc = cs_err(ctx, CS_ERROR, "%s failed: remote '%s' is not there: %s", what, shown,
			    strerror(errno));
	else
		rc = cs_err(ctx, CS_ERROR, "%s failed: remote '%s': %s", what, shown,
			    e && e->message ? e->message : "unknown libgit2 error");
	free(local);
	return rc;
}

/* ---- fetch ------------------------------------------------------------------ */

/* libgit2 1.5.1 leaks a pcre2 match block on every remote lookup (its
 * regexp wrapper; fixed upstream in libgit2 PR #6382), so look it up once. */
int gx_origin(cs_ctx *ctx, git_remote **out)
{
	if (!ctx->origin && git_remote_lookup(&ctx->origin, ctx->repo, "origin"))
		return cs_err_git(ctx, "no remote 'origin'");
	*out = ctx->origin;
	return CS_OK;
}

int gx_fetch(cs_ctx *ctx, git_oid *head, int *empty)
{
	git_remote *remote = NULL;
	git_fetch_options fo;
	cred_state cs = {0};
	char ref[256];
	int rc = CS_OK;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	*empty = 0;
	if ((rc = gx_origin(ctx, &remote)))
		return rc;
	fo.callbacks.credentials = cred_cb;
	fo.callbacks.payload = &cs;
	fo.update_fetchhead = 0;
	if (git_remote_fetch(remote, NULL, &fo, NULL))
		return remote_err(ctx, remote, "fetch");
	snprintf(ref, sizeof ref, "refs/remotes/origin/%s", ctx->branch);
	if (git_reference_name_to_id(head, ctx->repo, ref)) {
		git_error_clear();
		*empty = 1;
	}
	return rc;
}

/* ---- trees ------------------------------------------------------------------- */

int gx_tree_put(cs_ctx *ctx, git_tree *base, const char *path, const git_oid *blob,
		git_oid *out)
{
	git_treebuilder *bld = NULL;
	git_tree *sub = NULL;
	const char *slash = strchr(path, '/');
	char name[256];
	git_oid subid;
	int rc = CS_OK;

	if (git_treebuilder_new(&bld, ctx->repo, base))
		return cs_err_git(ctx, "treebuilder");
	if (!slash) {
		if (git_treebuilder_insert(NULL, bld, path, blob, GIT_FILEMODE_BLOB))
			rc = cs_err_git(ctx, path);
	} else {
		const git_tree_entry *e;
		size_t n = (size_t)(slash - path);
		if (n >= sizeof name) {
			rc = cs_err(ctx, CS_EINVAL, "path too long: '%s'", path);
			goto done;
		}
		memcpy(name, path, n);
		name[n] = 0;
		e = base ? git_tree_entry_byname(base, name) : NULL;
		if (e && git_tree_entry_type(e) == GIT_OBJECT_TREE &&
		    git_tree_lookup(&sub, ctx->repo, git_tree_entry_id(e))) {
			rc = cs_err_git(ctx, name);
			goto done;
		}
		if ((rc = gx_tree_put(ctx, sub, slash + 1, blob, &subid)))
			goto done;
		if (git_treebuilder_insert(NULL, bld, name, &subid, GIT_FILEMODE_TREE))
			rc = cs_err_git(ctx, name);
	}
	if (!rc && git_treebuilder_write(out, bld))
		rc = cs_err_git(ctx, "cannot write tree");
done:
	git_tree_free(sub);
	git_treebuilder_free(bld);
	return rc;
}

int gx_tree_remove(cs_ctx *ctx, git_tree *base, const char *path, git_oid *out)
{
	git_treebuilder *bld = NULL;
	git_tree *sub = NULL;
	const char *slash = strchr(path, '/');
	const git_tree_entry *e;
	char name[256];
	size_t n = slash ? (size_t)(slash - path) : strlen(path);
	int rc = CS_OK;

	if (n >= sizeof name)
		return cs_err(ctx, CS_EINVAL, "path too long: '%s'", path);
	memcpy(name, path, n);
	name[n] = 0;
	if (git_treebuilder_new(&bld, ctx->repo, base))
		return cs_err_git(ctx, "treebuilder");
	e = base ? git_tree_entry_byname(base, name) : NULL;
	if (!e)
		goto write;        /* nothing to remove */
	if (!slash) {
		if (git_treebuilder_remove(bld, name))
			rc = cs_err_git(ctx, path);
	} else if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		git_oid subid;
		git_tree *st = NULL;
		if (git_tree_lookup(&sub, ctx->repo, git_tree_entry_id(e)) ||
		    (rc = gx_tree_remove(ctx, sub, slash + 1, &subid)) < 0) {
			rc = rc ? rc : cs_err_git(ctx, name);
			goto done;
		}
		if (git_tree_lookup(&st, ctx->repo, &subid)) {
			rc = cs_err_git(ctx, name);
			goto done;
		}
		if (git_tree_entrycount(st) == 0 ? git_treebuilder_remove(bld, name)
						  : git_treebuilder_insert(NULL, bld, name, &subid,
									   GIT_FILEMODE_TREE))
			rc = cs_err_git(ctx, name);
		git_tree_free(st);
	}
write:
	if (!rc && git_treebuilder_write(out, bld))
		rc = cs_err_git(ctx, "cannot write tree");
done:
	git_tree_free(sub);
	git_treebuilder_free(bld);
	return rc;
}

/* ---- fast object writes ------------------------------------------------------------- */

int gx_fast_writes(cs_ctx *ctx, git_repository *repo)
{
	git_odb *odb = NULL;
	git_odb_backend *be = NULL;
	char *dir;
	int rc = CS_OK;
	const char *gitdir = git_repository_path(repo);
	size_t n = strlen(gitdir) + sizeof "objects";

	/* Every decision writes a new version of a coordination file, often
	 * large, and a local push writes it again into the remote: zlib at its
	 * fastest level makes that several times cheaper, for files that are
	 * repacked by git gc anyway.  A second loose backend with a higher
	 * priority takes the writes; reads find objects through either. */
	if (!(dir = malloc(n)))
		return cs_err_oom(ctx);
	snprintf(dir, n, "%sobjects", gitdir);
	if (git_repository_odb(&odb, repo) || git_odb_backend_loose(&be, dir, 1, 0, 0, 0) ||
	    git_odb_add_backend(odb, be, 10)) {
		if (be && be->free)
			be->free(be);
		rc = cs_err_git(ctx, "cannot set up the object database");
	}
	free(dir);
	git_odb_free(odb);
	return rc;
}

/* ---- push ----------------------------------------------------------------------- */

char *gx_local_path(const char *url)
{
	const char *colon, *slash;
	if (!strncmp(url, "file://", 7))
		return strdup(url + 7);
	if (strstr(url, "://"))
		return NULL;
	colon = strchr(url, ':');
	slash = strchr(url, '/');
	if (colon && (!slash || colon < slash))
		return NULL;           /* scp-like host:path */
	return strdup(url);
}

/* Copy object id as a loose file from the clone to the remote at rpath:
 * the bytes are already compressed, so nothing is inflated, deflated or
 * hashed again.  1 when done, 0 when the object is not loose here (the
 * caller copies it through the object databases), -1 on error. */
static int copy_loose(cs_ctx *ctx, const char *rpath, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1], src[4096], dst[4096], tmp[4200];
	FILE *in = NULL, *out = NULL;
	char buf[65536];
	size_t n;
	int rc = 1;

	git_oid_tostr(hex, sizeof hex, id);
	snprintf(src, sizeof src, "%sobjects/%.2s/%s", ctx->gitdir, hex, hex + 2);
	if (!(in = fopen(src, "rb")))
		return 0;
	snprintf(dst, sizeof dst, "%s/objects/%.2s", rpath, hex);
	if (mkdir(dst, 0755) && errno != EEXIST) {
		fclose(in);
		return cs_err(ctx, CS_ERROR, "cannot write to the remote: %s: %s", dst, strerror(errno)), -1;
	}
	snprintf(dst, sizeof dst, "%s/objects/%.2s/%s", rpath, hex, hex + 2);
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
		cs_err(ctx, CS_ERROR, "cannot write to the remote: %s: %s", dst, strerror(errno));
	}
	return rc;
}

/* Copy the objects of tree id that dst lacks from src. */
static int copy_tree(cs_ctx *ctx, git_odb *src, git_odb *dst, const char *rpath,
		     const git_oid *id)
{
	git_tree *t = NULL;
	git_odb_object *o = NULL;
	git_oid w;
	int rc = CS_OK;

	if (git_odb_exists(dst, id))
		return CS_OK;
	if (git_tree_lookup(&t, ctx->repo, id))
		return cs_err_git(ctx, "cannot read tree");
	for (size_t i = 0, n = git_tree_entrycount(t); i < n && !rc; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		const git_oid *eid = git_tree_entry_id(e);
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			rc = copy_tree(ctx, src, dst, rpath, eid);
		} else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB && !git_odb_exists(dst, eid)) {
			int done = copy_loose(ctx, rpath, eid);
			if (done)
				rc = done < 0 ? CS_ERROR : CS_OK;
			else if (git_odb_read(&o, src, eid) ||
			    git_odb_write(&w, dst, git_odb_object_data(o), git_odb_object_size(o),
					  GIT_OBJECT_BLOB))
				rc = cs_err_git(ctx, "cannot copy blob to remote");
			git_odb_object_free(o);
			o = NULL;
		}
	}
	if (!rc && (git_odb_read(&o, src, id) ||
		    git_odb_write(&w, dst, git_odb_object_data(o), git_odb_object_size(o),
				  GIT_OBJECT_TREE)))
		rc = cs_err_git(ctx, "cannot copy tree to remote");
	git_odb_object_free(o);
	git_tree_free(t);
	return rc;
}

/* ---- a left-over ref lock on a local remote ------------------------------------- */

/* The pid of a process on this machine that has path (a canonical path)
 * open, from the /proc/PID/fd links; 0 when no process we may inspect has,
 * -1 when /proc cannot be read at all. */
static long open_by(const char *path)
{
	DIR *proc = opendir("/proc"), *fds;
	struct dirent *p, *f;
	char dir[64], link[128], target[PATH_MAX];
	long found = 0;

	if (!proc)
		return -1;
	while (!found && (p = readdir(proc))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(dir, sizeof dir, "/proc/%.32s/fd", p->d_name);
		if (!(fds = opendir(dir)))
			continue;          /* gone, or another user's */
		while (!found && (f = readdir(fds))) {
			ssize_t n;
			snprintf(link, sizeof link, "%s/%.32s", dir, f->d_name);
			if ((n = readlink(link, target, sizeof target - 1)) < 0)
				continue;
			target[n] = 0;
			if (!strcmp(target, path))
				found = strtol(p->d_name, NULL, 10);
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

/* The command name of process pid, for messages. */
static void proc_name(long pid, char *out, size_t n)
{
	char path[64];
	FILE *f;
	snprintf(path, sizeof path, "/proc/%ld/comm", pid);
	snprintf(out, n, "?");
	if ((f = fopen(path, "r"))) {
		if (fgets(out, (int)n, f))
			out[strcspn(out, "\n")] = 0;
		fclose(f);
	}
}

/* The push to the local remote r found its branch `name` locked.  A git
 * process killed during a ref update leaves NAME.lock behind, and every
 * push fails until it is gone.  The lock is removed only when provably
 * stale: no process on this machine has it open (libgit2 writers, coordsync
 * among them, keep it open while they hold it) and it is older than
 * coordsync.stalelock seconds (git's own writers close it before renaming
 * it into place, but hold it for milliseconds: git waits only
 * core.filesRefLockTimeout, 100 ms, for such a lock).  Returns CS_ERETRY,
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
		return cs_err(ctx, CS_ERETRY, "remote branch '%s' is locked: %s", name,
			      git_error_last() ? git_error_last()->message : "");
	age = (long long)(time(NULL) - sb.st_mtime);
	if ((pid = open_by(real)) > 0) {
		proc_name(pid, comm, sizeof comm);
		return cs_err(ctx, CS_ERETRY, "remote branch '%s' is locked: '%s' is open in process"
			      " %ld (%s) on this machine; left alone", name, lock, pid, comm);
	}
	if (pid < 0)
		return cs_err(ctx, CS_ERETRY, "remote branch '%s' is locked: '%s' (%llds old); /proc"
			      " cannot be read to tell whether a process holds it: remove it by hand"
			      " once no git runs on the remote", name, lock, age);
	if (bound <= 0 || age < bound)
		return cs_err(ctx, CS_ERETRY, "remote branch '%s' is locked: '%s' is %llds old and open"
			      " in no process on this machine; %s", name, lock, age,
			      bound <= 0 ? "coordsync.stalelock is 0: remove it by hand if it is stale"
					 : "it is removed as stale once older than coordsync.stalelock");
	/* Move it out of refs/ and check that it is the file judged: no new
	 * lock can be created while it exists, so only another cleaner racing
	 * with us can have put a fresh one there. */
	snprintf(aside, sizeof aside, "%scoordsync-stale-lock.%ld", git_repository_path(r),
		 (long)getpid());
	if (rename(lock, aside))
		return cs_err(ctx, CS_ERETRY, "cannot remove the stale lock '%s': %s", lock,
			      strerror(errno));
	if (lstat(aside, &moved) || moved.st_ino != sb.st_ino || moved.st_dev != sb.st_dev) {
		if (link(aside, lock) && errno != EEXIST)
			cs_notice(ctx, "could not put back '%s': %s", lock, strerror(errno));
		unlink(aside);
		return cs_err(ctx, CS_ERETRY, "remote branch '%s' is locked: '%s' changed", name, lock);
	}
	unlink(aside);
	cs_notice(ctx, "removed the stale lock '%s' (%llds old, open in no process on this"
		  " machine), left by a writer killed during a push", lock, age);
	return cs_err(ctx, CS_ERETRY, "removed the stale lock '%s'", lock);
}

/* libgit2 1.5's local transport updates the remote ref without checking its
 * old value, so for a local remote we copy the objects ourselves and move
 * the ref with git_reference_create_matching, which compares under the
 * ref's lock file. */
static int push_local(cs_ctx *ctx, const char *path, const git_oid *commit, const git_oid *parent,
		      const char *msg)
{
	git_repository *r = NULL;
	git_odb *src = NULL, *dst = NULL;
	git_odb_object *o = NULL;
	git_commit *c = NULL;
	git_reference *ref = NULL;
	git_oid w;
	char name[256];
	int rc = CS_OK, e;

	snprintf(name, sizeof name, "refs/heads/%s", ctx->branch);
	if (git_repository_open_ext(&r, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) {
		char what[PATH_MAX + 64];
		snprintf(what, sizeof what, "push failed: cannot open the remote '%s'", path);
		return cs_err_git(ctx, what);
	}
	if ((rc = gx_fast_writes(ctx, r)))
		goto done;
	if (git_repository_odb(&src, ctx->repo) || git_repository_odb(&dst, r) ||
	    git_commit_lookup(&c, ctx->repo, commit)) {
		rc = cs_err_git(ctx, "cannot open object databases");
		goto done;
	}
	if ((rc = copy_tree(ctx, src, dst, git_repository_path(r), git_commit_tree_id(c))))
		goto done;
	if (git_odb_read(&o, src, commit) ||
	    git_odb_write(&w, dst, git_odb_object_data(o), git_odb_object_size(o), GIT_OBJECT_COMMIT)) {
		rc = cs_err_git(ctx, "cannot copy commit to remote");
		goto done;
	}
	CS_FAULT("mid-push");     /* objects copied, branch not moved */
	if (parent)
		e = git_reference_create_matching(&ref, r, name, commit, 1, parent, msg);
	else
		e = git_reference_create(&ref, r, name, commit, 0, msg);
	if (e == GIT_EMODIFIED || e == GIT_EEXISTS)
		rc = cs_err(ctx, CS_ERETRY, "remote branch '%s' moved: another server pushed first",
			    name);
	else if (e == GIT_ELOCKED)
		rc = ref_lock_check(ctx, r, name);
	else if (e) {
		char what[PATH_MAX + 300];
		snprintf(what, sizeof what, "push failed: cannot move '%s' in the remote '%s'", name, path);
		rc = cs_err_git(ctx, what);
	}
done:
	git_reference_free(ref);
	git_commit_free(c);
	git_odb_object_free(o);
	git_odb_free(src);
	git_odb_free(dst);
	git_repository_free(r);
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
	cs_fault_hit("mid-push");
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
	push_state ps = {{0}, ""};
	char spec[300];
	char *specs[1] = {spec};
	git_strarray arr = {specs, 1};
	int e, rc = CS_OK;

	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	/* libgit2 1.5 pushes ref names only, not raw ids. */
	if (git_reference_create(&tmp, ctx->repo, "refs/coordsync/outgoing", commit, 1, "push"))
		return cs_err_git(ctx, "cannot create push ref");
	snprintf(spec, sizeof spec, "refs/coordsync/outgoing:refs/heads/%s", ctx->branch);
	po.callbacks.push_update_reference = push_ref_cb;
	po.callbacks.credentials = cred_push_cb;
	po.callbacks.payload = &ps;
	if (cs_fault_armed("mid-push"))
		po.callbacks.push_transfer_progress = push_progress_cb;
	e = git_remote_push(remote, &arr, &po);
	if (e == GIT_ENONFASTFORWARD)
		rc = cs_err(ctx, CS_ERETRY, "push refused: not a fast-forward");
	else if (e)
		rc = remote_err(ctx, remote, "push");
	else if (ps.status[0])
		rc = cs_err(ctx, CS_ERETRY, "push refused: %s", ps.status);
	git_reference_delete(tmp);
	git_reference_free(tmp);
	return rc;
}

int gx_commit_push(cs_ctx *ctx, const git_oid *tree_id, const git_oid *parent, const char *msg,
		   git_oid *commit)
{
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	git_commit *pc = NULL;
	git_remote *remote = NULL;
	git_reference *ref = NULL;
	char email[128], name[256];
	char *local = NULL;
	int rc = CS_OK;

	snprintf(email, sizeof email, "%s@coordsync", ctx->server ? ctx->server : "unknown");
	if (git_signature_now(&sig, ctx->server ? ctx->server : "coordsync", email) ||
	    git_tree_lookup(&tree, ctx->repo, tree_id) ||
	    (parent && git_commit_lookup(&pc, ctx->repo, parent))) {
		rc = cs_err_git(ctx, "cannot prepare commit");
		goto done;
	}
	if (git_commit_create(commit, ctx->repo, NULL, sig, sig, NULL, msg, tree, parent ? 1 : 0,
			      (const git_commit **)&pc)) {
		rc = cs_err_git(ctx, "cannot create commit");
		goto done;
	}
	CS_FAULT("after-commit");
	if ((rc = gx_origin(ctx, &remote)))
		goto done;
	if ((local = gx_local_path(git_remote_url(remote))))
		rc = push_local(ctx, local, commit, parent, msg);
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
	free(local);
	git_reference_free(ref);
	git_commit_free(pc);
	git_tree_free(tree);
	git_signature_free(sig);
	return rc;
}

int gx_update_local(cs_ctx *ctx, const git_oid *head)
{
	git_reference *ref = NULL;
	git_commit *old = NULL, *c = NULL;
	git_tree *base = NULL;
	git_checkout_options co;
	git_oid oldid;
	char name[256];
	int rc = CS_OK;

	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	snprintf(name, sizeof name, "refs/heads/%s", ctx->branch);
	if (git_commit_lookup(&c, ctx->repo, head)) {
		rc = cs_err_git(ctx, "cannot read commit");
		goto done;
	}
	/* A safe checkout from the old tree never overwrites a file someone
	 * edited by hand; such files are left as they are. */
	if (!git_reference_name_to_id(&oldid, ctx->repo, name) &&
	    !git_commit_lookup(&old, ctx->repo, &oldid) && !git_commit_tree(&base, old))
		co.baseline = base;
	co.checkout_strategy = GIT_CHECKOUT_SAFE;
	if (git_checkout_tree(ctx->repo, (git_object *)c, &co))
		git_error_clear();
	if (git_reference_create(&ref, ctx->repo, name, head, 1, "coordsync: sync") ||
	    git_repository_set_head(ctx->repo, name))
		rc = cs_err_git(ctx, "cannot update local branch");
done:
	git_tree_free(base);
	git_commit_free(old);
	git_commit_free(c);
	git_reference_free(ref);
	return rc;
}

int cs_create_remote(const char *path, char *msg, size_t msglen)
{
	git_repository_init_options o;
	git_repository *r = NULL;
	int rc = CS_OK;

	git_libgit2_init();
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
