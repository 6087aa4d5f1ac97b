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

/* libgit2 calls the credential callback again after every refusal (with an
 * ssh agent, without end): a handle gets this many tries, and after that
 * sends none at all, so that the steps of a run cycle do not hammer a
 * server (and its lockout rules) with a password it refused. */
#define CRED_TRIES 3

typedef struct cred_state {
	cs_ctx *ctx;
	const cs_remote_auth *auth;  /* init's; NULL, or a NULL member: the setting */
	int tries;
} cred_state;

int gx_url_origin(const char *url, char *out, size_t len)
{
	const char *sep = strstr(url, "://");
	const char *host = sep ? sep + 3 : url, *end;
	size_t hn;

	end = host + strcspn(host, sep ? "/?#" : "/");
	for (const char *p = host; p < end; p++)
		if (*p == '@')
			host = p + 1;          /* past user[:password]@ */
	if (!sep)
		end = host + strcspn(host, ":/");
	snprintf(out, len, "%.*s%s%.*s", sep ? (int)(sep - url) : 0, url, sep ? "://" : "",
		 (int)(end - host), host);
	if (!sep || sep - url != 4 || strncasecmp(url, "http", 4))
		return 0;
	hn = *host == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":/?#");
	return !cs_host_loopback(host, hn);
}

/* 1 when url carries a password (scheme://user:password@host/...). */
static int url_has_password(const char *url)
{
	const char *sep = strstr(url, "://"), *host, *at = NULL;
	if (!sep)
		return 0;
	host = sep + 3;
	for (const char *p = host; *p && !strchr("/?#", *p); p++)
		if (*p == '@')
			at = p;
	return at && memchr(host, ':', (size_t)(at - host)) != NULL;
}

/* The value given to init, else the setting key; malloc'd or NULL. */
static char *cred_setting(cred_state *cs, const char *given, const char *key)
{
	return given ? strdup(given) : cs_config_get(cs->ctx, key);
}
#define CRED_SETTING(cs, member, key) \
	cred_setting((cs), (cs)->auth ? (cs)->auth->member : NULL, (key))

/* Fail a credential request: ctx's message becomes libgit2's error, which
 * the fetch, push or clone then reports. */
static int cred_fail(cs_ctx *ctx)
{
	git_error_set_str(GIT_ERROR_CALLBACK, ctx->err);
	return GIT_EUSER;
}

/* User and token for an http(s) remote at origin.  The token is wiped as
 * soon as libgit2 has its copy (which it wipes when freeing it). */
static int cred_token(cred_state *cs, git_credential **out, const char *user,
		      const char *origin, int plain)
{
	cs_ctx *ctx = cs->ctx;
	char *file = CRED_SETTING(cs, token_file, "remote.tokenfile"), *token = NULL;
	int rc;

	if (!file)
		rc = cs_err(ctx, CS_EINVAL, "'%s' asks for a password: put the token in a file of mode"
			    " 0600 and name it in coordsync.remote.tokenfile", origin);
	else if (plain)
		rc = cs_err(ctx, CS_EINVAL, "refusing to send the token of '%s' over plain http to"
			    " '%s': use https", file, origin);
	else
		rc = cs_token_read(ctx, file, &token);
	free(file);
	if (rc)
		return cred_fail(ctx);
	rc = git_credential_userpass_plaintext_new(out, user, token);
	explicit_bzero(token, strlen(token));
	free(token);
	return rc;
}

/* The key of coordsync.remote.sshkey (mode 0600, without a passphrase) or,
 * when none is set, the keys of ssh-agent. */
static int cred_ssh(cred_state *cs, git_credential **out, const char *user)
{
	char *key = CRED_SETTING(cs, ssh_key, "remote.sshkey");
	int rc;

	if (!key)
		return git_credential_ssh_key_from_agent(out, user);
	if (cs_secret_check(cs->ctx, "ssh key", key))
		rc = cred_fail(cs->ctx);
	else
		rc = git_credential_ssh_key_new(out, user, NULL, key, NULL);
	free(key);
	return rc;
}

/* Answer libgit2's request for credentials for url: an ssh key, or for
 * http(s) a user and the token of the token file; give up after CRED_TRIES
 * requests.  Messages name the remote by its origin only. */
static int cred_cb(git_credential **out, const char *url, const char *url_user,
		   unsigned int allowed, void *payload)
{
	cred_state *cs = payload;
	cs_ctx *ctx = cs->ctx;
	char origin[256], *user;
	int plain = gx_url_origin(url, origin, sizeof origin), rc;

	user = url_user && *url_user ? strdup(url_user) : CRED_SETTING(cs, user, "remote.user");
	if (!user && !(user = strdup("git"))) {
		cs_err_oom(ctx);
		return cred_fail(ctx);
	}
	/* ssh asks for the user name first when the URL has none: no try. */
	if (allowed == GIT_CREDENTIAL_USERNAME) {
		rc = git_credential_username_new(out, user);
		free(user);
		return rc;
	}
	if (ctx->cred_refused || ++cs->tries > CRED_TRIES) {
		ctx->cred_refused = 1;
		if (allowed & GIT_CREDENTIAL_SSH_KEY)
			cs_err(ctx, CS_ERROR, "'%s' refused the ssh key %d times; giving up (check"
			       " coordsync.remote.sshkey, or the keys in ssh-agent)", origin, CRED_TRIES);
		else
			cs_err(ctx, CS_ERROR, "'%s' refused the credentials %d times; giving up (check"
			       " coordsync.remote.user and the token in coordsync.remote.tokenfile)",
			       origin, CRED_TRIES);
		free(user);
		return cred_fail(ctx);
	}
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		rc = cred_ssh(cs, out, user);
	else if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)
		rc = cred_token(cs, out, user, origin, plain);
	else
		rc = GIT_PASSTHROUGH;
	free(user);
	return rc;
}

int gx_clone(cs_ctx *ctx, const char *url, const char *dir, const cs_remote_auth *auth)
{
	git_clone_options co;
	git_repository *repo = NULL;
	cred_state cs = {ctx, auth, 0};
	int rc = CS_OK;

	if (url_has_password(url))
		return cs_err(ctx, CS_EINVAL, "the remote URL holds a password: give the URL without"
			      " it and the token in a file of mode 0600 (--token-file FILE)");
	git_clone_options_init(&co, GIT_CLONE_OPTIONS_VERSION);
	co.fetch_opts.callbacks.credentials = cred_cb;
	co.fetch_opts.callbacks.payload = &cs;
	if (git_clone(&repo, url, dir, &co))
		rc = cs_err_git(ctx, "clone failed");
	git_repository_free(repo);
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
	cred_state cs = {ctx, NULL, 0};
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
	push_state ps = {{ctx, NULL, 0}, ""};
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
