/* All git work, through libgit2: fetch, trees, commits and the push that
 * serves as compare-and-swap on the remote branch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
		return cs_err_git(ctx, "fetch failed");
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

/* ---- reading blobs ------------------------------------------------------------------ */

/* The size and type of object id from its header, without inflating the
 * object: a file far over the limit costs nothing to refuse.  -1 with
 * libgit2's error set when the object cannot be read. */
static int object_header(cs_ctx *ctx, const git_oid *id, size_t *size, git_object_t *type)
{
	git_odb *odb = NULL;
	int rc = git_repository_odb(&odb, ctx->repo) || git_odb_read_header(size, type, odb, id)
			 ? -1 : 0;
	git_odb_free(odb);
	return rc;
}

int gx_blob_lookup(cs_ctx *ctx, git_blob **out, const git_oid *id, const char *path)
{
	git_object_t type;
	size_t size = 0;

	*out = NULL;
	if (object_header(ctx, id, &size, &type))
		return cs_err_git(ctx, path);
	if (type != GIT_OBJECT_BLOB)
		return cs_err(ctx, CS_ERROR, "'%s' is not a file", path);
	if ((unsigned long long)size > (unsigned long long)ctx->max_file)
		return cs_err(ctx, CS_ETOOBIG, "%s: %zu bytes is over the %lld byte limit"
			      " (coordsync.maxfilesize); not read", path, size, ctx->max_file);
	if (git_blob_lookup(out, ctx->repo, id))
		return cs_err_git(ctx, path);
	return CS_OK;
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
	if (git_repository_open_ext(&r, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL))
		return cs_err_git(ctx, "cannot open remote");
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
	if (parent)
		e = git_reference_create_matching(&ref, r, name, commit, 1, parent, msg);
	else
		e = git_reference_create(&ref, r, name, commit, 0, msg);
	if (e == GIT_EMODIFIED || e == GIT_EEXISTS || e == GIT_ELOCKED)
		rc = cs_err(ctx, CS_ERETRY, "remote '%s' moved or is locked (%s)", name,
			    git_error_last() ? git_error_last()->message : "");
	else if (e)
		rc = cs_err_git(ctx, "cannot update remote branch");
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
	e = git_remote_push(remote, &arr, &po);
	if (e == GIT_ENONFASTFORWARD)
		rc = cs_err(ctx, CS_ERETRY, "push refused: not a fast-forward");
	else if (e)
		rc = cs_err_git(ctx, "push failed");
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
	if ((rc = gx_origin(ctx, &remote)))
		goto done;
	if ((local = gx_local_path(git_remote_url(remote))))
		rc = push_local(ctx, local, commit, parent, msg);
	else
		rc = push_smart(ctx, remote, commit);
	if (rc)
		goto done;
	snprintf(name, sizeof name, "refs/remotes/origin/%s", ctx->branch);
	if (git_reference_create(&ref, ctx->repo, name, commit, 1, "coordsync: pushed"))
		rc = cs_err_git(ctx, "cannot update remote-tracking branch");
done:
	free(local);
	git_reference_free(ref);
	git_commit_free(pc);
	git_tree_free(tree);
	git_signature_free(sig);
	return rc;
}

/* 1 when every component of path is a plain name: not empty, ".", ".." or
 * ".git", and free of control characters.  A tree can hold anything. */
static int plain_path(const char *path)
{
	const char *p = path;
	while (*p) {
		size_t n = strcspn(p, "/");
		if (!n || (n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2)) ||
		    (n == 4 && !strncasecmp(p, ".git", 4)))
			return 0;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return 0;
		p += n;
		if (*p == '/' && !*++p)
			return 0;
	}
	return p != path;
}

/* 1 when blob id is over ctx->max_file (from its header; 0 if unknown). */
static int over_limit(cs_ctx *ctx, const git_oid *id)
{
	git_object_t type;
	size_t size = 0;
	int over = !object_header(ctx, id, &size, &type) &&
		   (unsigned long long)size > (unsigned long long)ctx->max_file;
	git_error_clear();
	return over;
}

/* Remove the regular file dir/path (path plain), unless a directory on the
 * way is not a real one (a symbolic link could lead out of the clone). */
static void remove_file(const char *dir, const char *path)
{
	sbuf p = {0};
	struct stat st;
	sb_puts(&p, dir);
	for (const char *c = path; !p.oom;) {
		size_t n = strcspn(c, "/");
		sb_put(&p, c, n);
		if (p.oom || lstat(p.p, &st))
			break;
		if (!c[n]) {
			if (S_ISREG(st.st_mode))
				unlink(p.p);
			break;
		}
		if (!S_ISDIR(st.st_mode))
			break;
		sb_putc(&p, '/');
		c += n + 1;
	}
	sb_free(&p);
}

/* The paths a checkout from base (NULL: nothing) to tree writes: the files
 * that differ, as exact paths in want.  A file over the size limit would be
 * inflated whole by the checkout: it goes into big instead (the caller
 * removes it from the working tree).  Paths that are not plain are left
 * out of both.  The strings belong to diff, which the caller frees. */
static int checkout_paths(cs_ctx *ctx, git_tree *base, git_tree *tree, git_diff **diff,
			  git_strarray *want, git_strarray *big)
{
	size_t n;
	if (git_diff_tree_to_tree(diff, ctx->repo, base, tree, NULL))
		return cs_err_git(ctx, "cannot compare trees");
	n = git_diff_num_deltas(*diff);
	want->strings = calloc(n + 1, sizeof *want->strings);
	big->strings = calloc(n + 1, sizeof *big->strings);
	if (!want->strings || !big->strings)
		return cs_err_oom(ctx);
	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(*diff, i);
		int gone = d->status == GIT_DELTA_DELETED;
		const char *path = gone ? d->old_file.path : d->new_file.path;
		if (!plain_path(path))
			continue;
		if (!gone && GIT_FILEMODE_BLOB <= d->new_file.mode &&
		    d->new_file.mode <= GIT_FILEMODE_LINK && over_limit(ctx, &d->new_file.id))
			big->strings[big->count++] = (char *)path;
		else
			want->strings[want->count++] = (char *)path;
	}
	return CS_OK;
}

int gx_update_local(cs_ctx *ctx, const git_oid *head)
{
	git_reference *ref = NULL;
	git_commit *old = NULL, *c = NULL;
	git_tree *base = NULL, *tree = NULL;
	git_diff *diff = NULL;
	git_strarray want = {NULL, 0}, big = {NULL, 0};
	git_checkout_options co;
	git_oid oldid;
	char name[256];
	int rc = CS_OK;

	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	snprintf(name, sizeof name, "refs/heads/%s", ctx->branch);
	if (git_commit_lookup(&c, ctx->repo, head) || git_commit_tree(&tree, c)) {
		rc = cs_err_git(ctx, "cannot read commit");
		goto done;
	}
	/* A safe checkout from the old tree never overwrites a file someone
	 * edited by hand; such files are left as they are. */
	if (!git_reference_name_to_id(&oldid, ctx->repo, name) &&
	    !git_commit_lookup(&old, ctx->repo, &oldid) && !git_commit_tree(&base, old))
		co.baseline = base;
	git_error_clear();
	/* Only the files that changed, by exact path.  One over the size limit
	 * is not written (a checkout reads it whole): its old copy is removed,
	 * and RECREATE_MISSING writes the next version that fits. */
	if ((rc = checkout_paths(ctx, base, tree, &diff, &want, &big)))
		goto done;
	co.checkout_strategy = GIT_CHECKOUT_SAFE | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH |
			       GIT_CHECKOUT_RECREATE_MISSING;
	co.paths = want;
	if (want.count && git_checkout_tree(ctx->repo, (git_object *)c, &co))
		git_error_clear();
	for (size_t i = 0; i < big.count; i++)
		remove_file(ctx->workdir, big.strings[i]);
	if (git_reference_create(&ref, ctx->repo, name, head, 1, "coordsync: sync") ||
	    git_repository_set_head(ctx->repo, name))
		rc = cs_err_git(ctx, "cannot update local branch");
done:
	free(want.strings);
	free(big.strings);
	git_diff_free(diff);
	git_tree_free(base);
	git_tree_free(tree);
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
