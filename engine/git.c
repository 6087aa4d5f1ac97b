/* All git work, through libgit2: fetch, trees, commits and the push that
 * serves as compare-and-swap on the remote branch. */
#include <dirent.h>
#include <dlfcn.h>
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
#include <git2/sys/odb_backend.h>
#include "cs_int.h"

/* ---- set-up, and CA certificates loaded when a remote needs them ---------- */

/* Debian's libgit2 is built with mbedTLS and parses the whole system CA
 * bundle in git_libgit2_init: about 10 ms, 41% of a claim on a local remote,
 * which never speaks TLS.  It reads the bundle through mbedTLS's
 * mbedtls_x509_crt_parse_file (_parse_path for a directory), and this
 * program defines both, so libgit2's call lands here first.  Inside gx_init
 * they only note the location; gx_tls_ready hands it back to libgit2
 * (GIT_OPT_SET_SSL_CERT_LOCATIONS, which parses through mbedTLS itself)
 * before the first clone, fetch or push over http:// or https://.
 * Until then libgit2's CA chain is empty, so a TLS connection that got past
 * gx_tls_ready would fail verification, never skip it.  A libgit2 built with
 * OpenSSL never calls these; other callers reach mbedTLS unchanged. */
struct mbedtls_x509_crt;
int mbedtls_x509_crt_parse_file(struct mbedtls_x509_crt *chain, const char *path);
int mbedtls_x509_crt_parse_path(struct mbedtls_x509_crt *chain, const char *path);

static int tls_noting;            /* inside gx_init's git_libgit2_init */
static int tls_loaded;            /* gx_tls_ready ran since libgit2's set-up */
static char *tls_file, *tls_dir;  /* what libgit2's set-up asked for */

static int crt_parse(const char *fn, struct mbedtls_x509_crt *chain, const char *path,
		     char **note)
{
	int (*real)(struct mbedtls_x509_crt *, const char *);
	void *sym;

	if (tls_noting) {
		free(*note);
		*note = strdup(path);   /* NULL: no CA at all, so TLS fails closed */
		return 0;
	}
	if (!(sym = dlsym(RTLD_NEXT, fn)))
		return -0x2900;         /* MBEDTLS_ERR_X509_FILE_IO_ERROR */
	memcpy(&real, &sym, sizeof sym);
	return real(chain, path);
}

int mbedtls_x509_crt_parse_file(struct mbedtls_x509_crt *chain, const char *path)
{
	return crt_parse("mbedtls_x509_crt_parse_file", chain, path, &tls_file);
}

int mbedtls_x509_crt_parse_path(struct mbedtls_x509_crt *chain, const char *path)
{
	return crt_parse("mbedtls_x509_crt_parse_path", chain, path, &tls_dir);
}

void gx_init(void)
{
	tls_noting = 1;
	if (git_libgit2_init() == 1) {
		tls_loaded = 0;     /* libgit2's set-up ran (again) */
		gx_net_register();  /* its shutdown dropped the stream */
	}
	tls_noting = 0;
}

/* Before libgit2 connects to url: if it is http:// or https:// (the only
 * transports that speak TLS; http for a redirect to https), load the CA
 * certificates gx_init left out: GIT_SSL_CAINFO's file when set (git's
 * variable, for a server with a private CA), else the system's. */
static int gx_tls_ready(cs_ctx *ctx, const char *url)
{
	const char *ca = getenv("GIT_SSL_CAINFO");

	if (tls_loaded || !url || strncasecmp(url, "http", 4) ||
	    (strncmp(url + 4, "://", 3) && strncasecmp(url + 4, "s://", 4)))
		return CS_OK;
	if (ca && *ca) {
		if (git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ca, NULL)) {
			char what[PATH_MAX + 64];
			snprintf(what, sizeof what, "cannot load GIT_SSL_CAINFO '%s'", ca);
			return cs_err_git(ctx, what);
		}
	} else if ((tls_file || tls_dir) &&
		   git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, tls_file, tls_dir)) {
		return cs_err_git(ctx, "cannot load the system's CA certificates");
	}
	tls_loaded = 1;
	return CS_OK;
}

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

static void url_shown(const char *url, char *out, size_t n);

int gx_clone(cs_ctx *ctx, const char *url, const char *dir, const cs_remote_auth *auth)
{
	git_clone_options co;
	git_repository *repo = NULL;
	cred_state cs = {ctx, auth, 0};
	char shown[512];
	int rc = CS_OK, e;

	if (url_has_password(url))
		return cs_err(ctx, CS_EINVAL, "the remote URL holds a password: give the URL without"
			      " it and the token in a file of mode 0600 (--token-file FILE)");
	if ((rc = gx_tls_ready(ctx, url)))
		return rc;
	git_clone_options_init(&co, GIT_CLONE_OPTIONS_VERSION);
	co.fetch_opts.callbacks.credentials = cred_cb;
	co.fetch_opts.callbacks.payload = &cs;
	if ((rc = gx_net_begin(ctx, "clone")))
		return rc;
	e = git_clone(&repo, url, dir, &co);
	url_shown(url, shown, sizeof shown);
	if (!(rc = gx_net_end(ctx, "clone", shown, e)) && e)
		rc = cs_err_git(ctx, "clone failed");
	git_repository_free(repo);
	return rc;
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

static int local_remote(cs_ctx *ctx, const char *what, git_repository **out);
static int fetch_local(cs_ctx *ctx, git_repository *r, git_oid *head, int *empty);

int gx_fetch(cs_ctx *ctx, git_oid *head, int *empty)
{
	git_remote *remote = NULL;
	git_repository *lr = NULL;
	git_fetch_options fo;
	cred_state cs = {ctx, NULL, 0};
	char ref[256], shown[512];
	int rc = CS_OK, e;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	*empty = 0;
	if ((rc = gx_origin(ctx, &remote)) || (rc = local_remote(ctx, "fetch", &lr)))
		return rc;
	if (lr && (rc = fetch_local(ctx, lr, head, empty)) != CS_ERETRY)
		return rc;
	if ((rc = gx_tls_ready(ctx, git_remote_url(remote))))
		return rc;    /* else too far behind for a copy: libgit2 fetches */
	fo.callbacks.credentials = cred_cb;
	fo.callbacks.payload = &cs;
	fo.update_fetchhead = 0;
	if ((rc = gx_net_begin(ctx, "fetch")))
		return rc;
	e = git_remote_fetch(remote, NULL, &fo, NULL);
	url_shown(git_remote_url(remote), shown, sizeof shown);
	if ((rc = gx_net_end(ctx, "fetch", shown, e)))
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

/* ---- versions of coordination files ------------------------------------------------ */
/* Big files are what costs: the import, the export, the history walk and the
 * working tree update of one sync all read the same one or two versions of
 * jobs.json, and libgit2 caches no blob over 8 MiB (sync.c), so each read
 * inflated 30 MB again.  The versions live here, by blob id, with what was
 * learnt about them (cs_text).  Memory stays bounded: per path, at most two
 * versions read from git are kept when no one holds them, the newest used;
 * blobs the current decision wrote stay until gx_texts_clear. */

#define TEXTS_PER_PATH 2

static void text_free(cs_text *t)
{
	if (!t)
		return;
	git_blob_free(t->obj);
	free(t->copy);
	free(t->path);
	jscan_free(&t->sc);
	free(t);
}

/* Free entry i and close the gap. */
static void text_drop(cs_ctx *ctx, size_t i)
{
	text_free(ctx->texts[i]);
	memmove(ctx->texts + i, ctx->texts + i + 1, (ctx->ntexts - i - 1) * sizeof *ctx->texts);
	ctx->ntexts--;
}

/* Free the least recently used unheld versions of path read from git until
 * at most keep of them are left (or only held ones). */
static void texts_trim(cs_ctx *ctx, const char *path, size_t keep)
{
	for (;;) {
		size_t count = 0, victim = (size_t)-1;
		for (size_t i = 0; i < ctx->ntexts; i++) {
			cs_text *t = ctx->texts[i];
			if (t->written || !t->path || strcmp(t->path, path))
				continue;
			count++;
			if (!t->refs && (victim == (size_t)-1 || t->used < ctx->texts[victim]->used))
				victim = i;
		}
		if (count <= keep || victim == (size_t)-1)
			return;
		text_drop(ctx, victim);
	}
}

/* A long-running process (cs_hold: the daemon serving commands) keeps the
 * versions a handle drops for the next handle, instead of freeing them: the
 * file a served claim wrote is the base of the next claim, and reading it
 * again would cost an inflate and a scan.  A blob id names its bytes, so a
 * kept version is never stale.  Bounded like a handle's table: versions of
 * up to KEEP_MAX bytes, at most TEXTS_PER_PATH per path, the newest. */
#define KEEP_MAX ((size_t)8 << 20)
static struct {
	int on;
	cs_text **v;
	size_t n;
	unsigned long tick;
} kept;

/* The index of blob id as path (NULL: any path) in v[0, n), or n. */
static size_t text_index(cs_text **v, size_t n, const git_oid *id, const char *path)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!git_oid_cmp(&v[i]->id, id) && (!path || !strcmp(v[i]->path, path)))
			break;
	return i;
}

/* Hand t, which no one holds, to the keeper, or free it. */
static void keep_put(cs_text *t)
{
	cs_text **v;
	size_t i, count = 0, oldest = (size_t)-1;

	if (!kept.on || t->refs || !t->path || t->n > KEEP_MAX)
		goto drop;
	if (t->obj) {   /* its bytes belong to the handle's repository: copy them */
		if (!(t->copy = malloc(t->n ? t->n : 1)))
			goto drop;
		memcpy(t->copy, t->p, t->n);
		git_blob_free(t->obj);
		t->obj = NULL;
		t->p = t->copy;
	}
	t->written = 0;
	if ((i = text_index(kept.v, kept.n, &t->id, t->path)) < kept.n) {
		text_free(kept.v[i]);   /* the newer entry knows at least as much */
		kept.v[i] = kept.v[--kept.n];
	}
	for (i = 0; i < kept.n; i++) {
		if (strcmp(kept.v[i]->path, t->path))
			continue;
		count++;
		if (oldest == (size_t)-1 || kept.v[i]->used < kept.v[oldest]->used)
			oldest = i;
	}
	if (count >= TEXTS_PER_PATH) {
		text_free(kept.v[oldest]);
		kept.v[oldest] = kept.v[--kept.n];
	}
	if (!(v = realloc(kept.v, (kept.n + 1) * sizeof *v)))
		goto drop;
	kept.v = v;
	t->used = ++kept.tick;
	v[kept.n++] = t;
	return;
drop:
	text_free(t);
}

void gx_keep(int on)
{
	if (!on) {
		for (size_t i = 0; i < kept.n; i++)
			text_free(kept.v[i]);
		free(kept.v);
		memset(&kept, 0, sizeof kept);
	}
	kept.on = on;
}

/* The entry of blob id read or written as path (NULL: as any path), taken
 * back from the keeper when it has it.  A listing belongs to the kind of
 * file it was made for: two coordination files with the same bytes (one
 * file holding both "jobs" and "messages", say) are two entries. */
static cs_text *text_find(cs_ctx *ctx, const git_oid *id, const char *path)
{
	size_t i = text_index(ctx->texts, ctx->ntexts, id, path);
	cs_text **v;
	if (i < ctx->ntexts)
		return ctx->texts[i];
	if ((i = text_index(kept.v, kept.n, id, path)) == kept.n ||
	    !(v = realloc(ctx->texts, (ctx->ntexts + 1) * sizeof *v)))
		return NULL;
	ctx->texts = v;
	v[ctx->ntexts] = kept.v[i];
	kept.v[i] = kept.v[--kept.n];
	v[ctx->ntexts]->used = ++ctx->text_tick;
	return v[ctx->ntexts++];
}

/* A new entry for id at path, appended to the table; NULL on oom. */
static cs_text *text_add(cs_ctx *ctx, const git_oid *id, const char *path)
{
	cs_text **v, *t = calloc(1, sizeof *t);
	if (!t || !(t->path = strdup(path)) ||
	    !(v = realloc(ctx->texts, (ctx->ntexts + 1) * sizeof *v))) {
		text_free(t);
		return NULL;
	}
	ctx->texts = v;
	git_oid_cpy(&t->id, id);
	t->used = ++ctx->text_tick;
	v[ctx->ntexts++] = t;
	return t;
}

int gx_text_get(cs_ctx *ctx, cs_text **out, const git_oid *id, const char *path)
{
	cs_text *t = text_find(ctx, id, path);
	git_blob *b = NULL;
	int rc;

	*out = NULL;
	if (!t) {
		/* Make room first: a history walk holds one version while it
		 * reads the next, and an older one need not be in memory too. */
		texts_trim(ctx, path, TEXTS_PER_PATH - 1);
		if ((rc = gx_blob_lookup(ctx, &b, id, path)))
			return rc;
		if (!(t = text_add(ctx, id, path))) {
			git_blob_free(b);
			return cs_err_oom(ctx);
		}
		t->obj = b;
		t->p = git_blob_rawcontent(b);
		t->n = (size_t)git_blob_rawsize(b);
	}
	t->refs++;
	t->used = ++ctx->text_tick;
	*out = t;
	return CS_OK;
}

cs_text *gx_text_hold(cs_ctx *ctx, const git_oid *id)
{
	cs_text *t = text_find(ctx, id, NULL);
	if (t) {
		t->refs++;
		t->used = ++ctx->text_tick;
	}
	return t;
}

void gx_text_release(cs_ctx *ctx, cs_text *t)
{
	if (!t)
		return;
	t->refs--;
	if (!t->written)
		texts_trim(ctx, t->path, TEXTS_PER_PATH);
}

int gx_blob_write(cs_ctx *ctx, const char *path, const char *data, size_t len, git_oid *out)
{
	cs_text *t;
	if (git_blob_create_from_buffer(out, ctx->repo, data, len))
		return cs_err_git(ctx, "cannot write blob");
	if (text_find(ctx, out, path))
		return CS_OK;
	if (!(t = text_add(ctx, out, path)) || !(t->copy = malloc(len ? len : 1))) {
		if (t)
			text_drop(ctx, ctx->ntexts - 1);
		return cs_err_oom(ctx);
	}
	memcpy(t->copy, data, len);
	t->p = t->copy;
	t->n = len;
	t->written = 1;
	return CS_OK;
}

const char *gx_blob_text(cs_ctx *ctx, const git_oid *id, size_t *len)
{
	cs_text *t = text_find(ctx, id, NULL);
	if (!t)
		return NULL;
	*len = t->n;
	return t->p;
}

void gx_texts_clear(cs_ctx *ctx)
{
	for (size_t i = ctx->ntexts; i-- > 0;) {
		cs_text *t = ctx->texts[i];
		if (!t->written)
			continue;
		/* Held, or kept for the next handle (the base of the next
		 * decision): an ordinary version from now on. */
		if (t->refs || kept.on)
			t->written = 0;
		else
			text_drop(ctx, i);
	}
	if (kept.on)
		for (size_t i = ctx->ntexts; i-- > 0;)
			if (i < ctx->ntexts)
				texts_trim(ctx, ctx->texts[i]->path, TEXTS_PER_PATH);
}

void gx_texts_free(cs_ctx *ctx)
{
	for (size_t i = 0; i < ctx->ntexts; i++)
		keep_put(ctx->texts[i]);
	free(ctx->texts);
	ctx->texts = NULL;
	ctx->ntexts = 0;
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

/* Object copies between two repositories on this machine: the clone and a
 * local remote, in either direction (push and fetch). */
typedef struct xfer {
	cs_ctx *ctx;
	git_repository *from, *to;
	git_odb *src, *dst;
	long copied;             /* objects written to dst */
	int shared;              /* dst's core.sharedRepository (gx_shared_mode) */
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
	if (!gx_shared_fix(x->shared, path)) {
		snprintf(path + n, sizeof path - n, "/%s", hex + 2);
		if (!gx_shared_fix(x->shared, path))
			return CS_OK;
	}
	return cs_err(x->ctx, CS_ERROR, "cannot set the shared permissions of '%s': %s", path,
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
		return cs_err(x->ctx, CS_ERROR, "cannot write object: %s: %s", dst, strerror(errno)), -1;
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
		cs_err(x->ctx, CS_ERROR, "cannot write object: %s: %s", dst, strerror(errno));
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
		rc = cs_err_git(x->ctx, "cannot copy object");
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
		return cs_err_git(x->ctx, "cannot read tree");
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
 * first: a commit in dst always has its whole history there.  CS_ERETRY
 * when more than max commits are missing (the caller fetches instead). */
static int copy_commits(xfer *x, const git_oid *id, size_t max)
{
	git_oid *todo = NULL, *stack = NULL;
	size_t ntodo = 0, nstack = 0, cap = 0;
	int rc = CS_OK;

	if (git_odb_exists(x->dst, id))
		return CS_OK;
	if (!(todo = malloc((max + 1) * sizeof *todo)) || !(stack = malloc((max + 1) * sizeof *stack))) {
		rc = cs_err_oom(x->ctx);
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
			rc = CS_ERETRY;
			break;
		}
		git_oid_cpy(&todo[ntodo++], &cur);
		if (git_commit_lookup(&c, x->from, &cur)) {
			rc = cs_err_git(x->ctx, "cannot read commit");
			break;
		}
		for (unsigned p = 0; p < git_commit_parentcount(c) && !rc; p++) {
			if (nstack == cap)
				rc = CS_ERETRY;
			else
				git_oid_cpy(&stack[nstack++], git_commit_parent_id(c, p));
		}
		git_commit_free(c);
	}
	/* Parents were listed after their children: write from the end. */
	for (size_t i = ntodo; i-- > 0 && !rc;) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, x->from, &todo[i]))
			rc = cs_err_git(x->ctx, "cannot read commit");
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
		if ((rc = gx_origin(ctx, &remote)))
			return rc;
		if ((path = gx_local_path(git_remote_url(remote)))) {
			if (git_repository_open_ext(&ctx->local, path, GIT_REPOSITORY_OPEN_NO_SEARCH,
						    NULL))
				rc = remote_err(ctx, remote, what);
			else if (!(rc = gx_fast_writes(ctx, ctx->local))) {
				ctx->local_shared = gx_shared_mode(ctx->local);
				gx_hooks_dir(ctx->local, ctx->local_hooks, sizeof ctx->local_hooks);
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
		return cs_err_git(ctx, "cannot open object databases");
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
int gx_turn_begin(cs_ctx *ctx)
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
	gx_shared_fix(ctx->local_shared, path);   /* the group's deciders take turns too */
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

void gx_turn_end(int fd)
{
	if (fd >= 0)
		close(fd);   /* releases the lock */
}

/* A fetch from a local remote: read its branch and copy what the clone
 * lacks as loose files.  libgit2's local transport would build a pack with
 * deltas and index it again, several times the work for the few objects a
 * decision adds.  CS_ERETRY when too far behind (the caller fetches). */
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
		rc = cs_err_git(ctx, "cannot record the fetched head");
		goto done;
	}
	CS_FAULT("fetch-ref");
	if (git_transaction_set_target(tx, name, head, NULL, "coordsync: fetch") ||
	    git_transaction_commit(tx))
		rc = cs_err_git(ctx, "cannot record the fetched head");
done:
	xfer_close(&x);
	git_transaction_free(tx);
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

/* ---- left-over lock files in the clone ------------------------------------------- */

/* A lock file in the clone younger than coordsync.stalelock is removed only
 * once it stayed unchanged, and open in no process, this long: git's own
 * writers rename a closed lock into place within milliseconds (git waits
 * 100 ms for a ref lock, 1 s for packed-refs.lock), and every coordsync
 * that writes the clone takes its lock first, which the caller holds. */
#define CLONE_LOCK_WATCH_MS 2000
#define CLONE_LOCKS_MAX 64

typedef struct {
	char path[PATH_MAX];
	struct stat sb;
	int young;     /* younger than coordsync.stalelock: watched first */
	int keep;      /* open in a process, or changed or gone while watched */
} clone_lock;

/* Add path to l when it is a regular file. */
static void clone_lock_add(clone_lock *l, int *n, const char *path)
{
	if (*n >= CLONE_LOCKS_MAX || strlen(path) >= sizeof l->path || lstat(path, &l[*n].sb) ||
	    !S_ISREG(l[*n].sb.st_mode))
		return;
	memcpy(l[*n].path, path, strlen(path) + 1);
	(*n)++;
}

/* The NAME.lock files under dir, a directory of refs (no ref name ends in
 * ".lock", nor has a part starting with a dot), depth and count bounded. */
static void clone_locks_find(const char *dir, int depth, clone_lock *l, int *n)
{
	DIR *d;
	struct dirent *e;
	char path[PATH_MAX];

	if (depth > 16 || *n >= CLONE_LOCKS_MAX || !(d = opendir(dir)))
		return;
	while (*n < CLONE_LOCKS_MAX && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		struct stat sb;
		if (e->d_name[0] == '.' ||
		    snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
		    lstat(path, &sb))
			continue;
		if (S_ISDIR(sb.st_mode))
			clone_locks_find(path, depth + 1, l, n);
		else if (len > 5 && !strcmp(e->d_name + len - 5, ".lock"))
			clone_lock_add(l, n, path);
	}
	closedir(d);
}

/* Whether lock l is still the very file judged, unchanged: same inode,
 * size and modification time. */
static int clone_lock_same(const clone_lock *l, const struct stat *now)
{
	return now->st_ino == l->sb.st_ino && now->st_dev == l->sb.st_dev &&
	       now->st_size == l->sb.st_size && now->st_mtim.tv_sec == l->sb.st_mtim.tv_sec &&
	       now->st_mtim.tv_nsec == l->sb.st_mtim.tv_nsec;
}

/* Move lock l out of the way into the clone's coordsync directory, check
 * that it is the file judged (a new lock cannot be made while it exists,
 * so only a racing owner can have replaced it; that one is put back), and
 * delete it.  0 when removed. */
static int clone_lock_remove(cs_ctx *ctx, const clone_lock *l)
{
	char aside[PATH_MAX];
	struct stat moved;

	snprintf(aside, sizeof aside, "%scoordsync/stale-lock.%ld", ctx->gitdir, (long)getpid());
	if (rename(l->path, aside)) {
		cs_notice(ctx, "cannot remove the stale lock '%s': %s", l->path, strerror(errno));
		return -1;
	}
	if (lstat(aside, &moved) || !clone_lock_same(l, &moved)) {
		if (link(aside, l->path) && errno != EEXIST)
			cs_notice(ctx, "could not put back '%s': %s", l->path, strerror(errno));
		unlink(aside);
		return -1;
	}
	unlink(aside);
	return 0;
}

void gx_clone_locks_clear(cs_ctx *ctx)
{
	static const char *const top[] = {"HEAD.lock", "FETCH_HEAD.lock", "packed-refs.lock",
					  "config.lock", NULL};
	long long bound = cs_config_num(ctx, "stalelock", 30);
	struct timespec ts = {0, 50 * 1000 * 1000};
	char path[PATH_MAX], real[PATH_MAX], comm[64];
	time_t now = time(NULL);
	clone_lock *l;
	int n = 0, watch = 0;
	long pid;

	if (!ctx->gitdir || !(l = calloc(CLONE_LOCKS_MAX, sizeof *l)))
		return;
	for (int i = 0; top[i]; i++) {
		snprintf(path, sizeof path, "%s%s", ctx->gitdir, top[i]);
		clone_lock_add(l, &n, path);
	}
	snprintf(path, sizeof path, "%srefs", ctx->gitdir);
	clone_locks_find(path, 0, l, &n);
	/* A lock some process has open is its holder's, however old: a git
	 * working in the clone does not take coordsync's lock. */
	for (int i = 0; i < n; i++) {
		long long age = (long long)(now - l[i].sb.st_mtime);
		l[i].keep = 1;
		if (!realpath(l[i].path, real)) {
			continue;          /* gone already */
		} else if ((pid = open_by(real)) > 0) {
			proc_name(pid, comm, sizeof comm);
			cs_notice(ctx, "'%s' is open in process %ld (%s) on this machine; left alone:"
				  " what must write it fails until it is gone", l[i].path, pid, comm);
		} else if (pid < 0) {
			cs_notice(ctx, "'%s' is there (%llds old) and /proc cannot be read to tell whether"
				  " a process holds it; left alone: remove it by hand once no git works in"
				  " the clone", l[i].path, age);
		} else if (bound <= 0) {
			cs_notice(ctx, "'%s' is %llds old and open in no process on this machine;"
				  " coordsync.stalelock is 0: remove it by hand if it is stale",
				  l[i].path, age);
		} else {
			l[i].keep = 0;
			l[i].young = age < bound;
			watch |= l[i].young;
		}
	}
	/* A young one: a git between writing and renaming it changes or
	 * removes it well within the watch; a killed writer's stays as it is. */
	for (int t = 0; watch && t < CLONE_LOCK_WATCH_MS / 50; t++) {
		nanosleep(&ts, NULL);
		watch = 0;
		for (int i = 0; i < n; i++) {
			struct stat sb;
			if (l[i].keep || !l[i].young)
				continue;
			if (lstat(l[i].path, &sb) || !clone_lock_same(&l[i], &sb))
				l[i].keep = 1;     /* its writer is at work: its own */
			else
				watch = 1;
		}
	}
	for (int i = 0; i < n; i++) {
		long long age = (long long)(time(NULL) - l[i].sb.st_mtime);
		if (l[i].keep)
			continue;
		/* Opened while watched (by a reader): its holder's after all. */
		if (l[i].young && (!realpath(l[i].path, real) || open_by(real) != 0))
			continue;
		if (!clone_lock_remove(ctx, &l[i]))
			cs_notice(ctx, "removed the stale lock '%s' (%llds old, open in no process on this"
				  " machine%s), left by a coordsync or git killed while it wrote the clone",
				  l[i].path, age, l[i].young ? ", unchanged for 2 s" : "");
	}
	free(l);
}

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

	if (!(rc = gx_hook_run(ctx, r, ctx->local_hooks, name, input, args, &out, &st))) {
		const char *text = hook_text(&out);
		if (refuse && st > 0)
			rc = cs_err(ctx, CS_ERROR, "push refused by the remote's %s hook (exit %d)%s%s",
				    name, st, *text ? ": " : "", text);
		else if (*text)
			cs_notice(ctx, "remote %s hook: %s", name, text);
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
	CS_FAULT("mid-push");     /* objects copied, branch not moved */
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
		rc = cs_err(ctx, CS_ERETRY, "remote branch '%s' moved: another server pushed first",
			    name);
	else if (e == GIT_ELOCKED)
		rc = ref_lock_check(ctx, r, name);
	else if (e) {
		char what[PATH_MAX + 300];
		snprintf(what, sizeof what, "push failed: cannot move '%s' in the remote '%s'", name,
			 git_repository_path(r));
		rc = cs_err_git(ctx, what);
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
				if (gx_shared_fix(x.shared, path))
					cs_notice(ctx, "cannot set the shared permissions of '%s': %s", path,
						  strerror(errno));
			}
			snprintf(path, sizeof path, "%s%s%s", gd, pre, name);
			if (gx_shared_fix(x.shared, path))
				cs_notice(ctx, "cannot set the shared permissions of '%s': %s", path,
					  strerror(errno));
		}
		snprintf(path, sizeof path, "%slogs/HEAD", gd);   /* HEAD names the branch */
		if (gx_shared_fix(x.shared, path))
			cs_notice(ctx, "cannot set the shared permissions of '%s': %s", path,
				  strerror(errno));
	}
	/* The branch moved: the hooks after it cannot undo that, and their
	 * failure is not the push's (git ignores their exit status too). */
	if (!rc) {
		const char *pargs[2] = {name, NULL};
		if (hook(ctx, r, "post-receive", line, NULL, 0) ||
		    hook(ctx, r, "post-update", NULL, pargs, 0)) {
			cs_notice(ctx, "%s", ctx->err);
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
	push_state ps = {{ctx, NULL, 0}, ""};
	char spec[300], shown[512];
	char *specs[1] = {spec};
	git_strarray arr = {specs, 1};
	int e, rc = CS_OK;

	if ((rc = gx_tls_ready(ctx, git_remote_pushurl(remote) ? git_remote_pushurl(remote)
							       : git_remote_url(remote))))
		return rc;
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
	if ((rc = gx_net_begin(ctx, "push")))
		goto done;
	e = git_remote_push(remote, &arr, &po);
	url_shown(git_remote_pushurl(remote) ? git_remote_pushurl(remote) : git_remote_url(remote),
		  shown, sizeof shown);
	if ((rc = gx_net_end(ctx, "push", shown, e)))
		;
	else if (e == GIT_ENONFASTFORWARD)
		rc = cs_err(ctx, CS_ERETRY, "push refused: not a fast-forward");
	else if (e)
		rc = remote_err(ctx, remote, "push");
	else if (ps.status[0])
		rc = cs_err(ctx, CS_ERETRY, "push refused: %s", ps.status);
done:
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
	git_repository *lr = NULL;
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
	if ((rc = gx_origin(ctx, &remote)) || (rc = local_remote(ctx, "push", &lr)))
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

/* ---- the working tree -------------------------------------------------------------- */

/* 1 when the working tree's path still holds what f (absent: no such file)
 * holds, or nothing at all: its stat data matches the index entry, else its
 * bytes match the blob.  A file edited by hand is left as it is. */
static int unchanged_on_disk(cs_ctx *ctx, git_index *index, const char *full, const char *path,
			     const git_diff_file *f)
{
	const git_index_entry *ie;
	struct stat st, ix;
	git_blob *b = NULL;
	char *buf = NULL;
	FILE *in;
	int same = 0;

	/* A missing file is written again (as a checkout that recreates
	 * missing files would): a file too big to write was removed so. */
	if (lstat(full, &st))
		return errno == ENOENT;
	if (!(f->flags & GIT_DIFF_FLAG_EXISTS) || !S_ISREG(st.st_mode))
		return 0;
	/* The stat data is trusted only for a file older than the index (git's
	 * "racy" rule: a file changed in the same tick as the index was
	 * written looks unchanged). */
	ie = git_index_get_bypath(index, path, 0);
	if (ie && !git_oid_cmp(&ie->id, &f->id) && ie->file_size == (uint32_t)st.st_size &&
	    ie->mtime.seconds == (int32_t)st.st_mtim.tv_sec &&
	    ie->mtime.nanoseconds == (uint32_t)st.st_mtim.tv_nsec && ie->ino == (uint32_t)st.st_ino &&
	    !lstat(git_index_path(index), &ix) &&
	    (st.st_mtim.tv_sec < ix.st_mtim.tv_sec ||
	     (st.st_mtim.tv_sec == ix.st_mtim.tv_sec && st.st_mtim.tv_nsec < ix.st_mtim.tv_nsec)))
		return 1;
	/* Stat data says nothing (a racy or a touched file): compare bytes. */
	if (git_blob_lookup(&b, ctx->repo, &f->id) || (git_object_size_t)st.st_size != git_blob_rawsize(b) ||
	    !(buf = malloc((size_t)st.st_size + 1)) || !(in = fopen(full, "rb"))) {
		git_error_clear();
		goto done;
	}
	same = fread(buf, 1, (size_t)st.st_size, in) == (size_t)st.st_size &&
	       !memcmp(buf, git_blob_rawcontent(b), (size_t)st.st_size);
	fclose(in);
done:
	free(buf);
	git_blob_free(b);
	return same;
}

/* Point the index entry of path at f (removing it when f is absent), with
 * the stat data of the file written, or none (git then looks at the file). */
static int index_put(cs_ctx *ctx, git_index *index, const char *path, const git_diff_file *f,
		     const struct stat *st)
{
	git_index_entry ie;

	if (!(f->flags & GIT_DIFF_FLAG_EXISTS)) {
		if (git_index_remove_bypath(index, path))
			return cs_err_git(ctx, "cannot update the index");
		return CS_OK;
	}
	memset(&ie, 0, sizeof ie);
	ie.path = path;
	ie.mode = f->mode;
	git_oid_cpy(&ie.id, &f->id);
	if (st) {
		ie.file_size = (uint32_t)st->st_size;
		ie.ctime.seconds = (int32_t)st->st_ctim.tv_sec;
		ie.ctime.nanoseconds = (uint32_t)st->st_ctim.tv_nsec;
		ie.mtime.seconds = (int32_t)st->st_mtim.tv_sec;
		ie.mtime.nanoseconds = (uint32_t)st->st_mtim.tv_nsec;
		ie.dev = (uint32_t)st->st_dev;
		ie.ino = (uint32_t)st->st_ino;
		ie.uid = (uint32_t)st->st_uid;
		ie.gid = (uint32_t)st->st_gid;
	}
	if (git_index_add(index, &ie))
		return cs_err_git(ctx, "cannot update the index");
	return CS_OK;
}

/* Write blob id to the working tree's path (through a temporary file and a
 * rename) and record it in the index with the new file's stat data. */
static int put_worktree_file(cs_ctx *ctx, git_index *index, char *full, const char *path,
			     const git_diff_file *f)
{
	git_blob *b = NULL;
	struct stat st;
	const char *data;
	char tmp[4200];
	size_t len;
	FILE *out;
	int rc = CS_OK, bad;

	if (!(data = gx_blob_text(ctx, &f->id, &len))) {
		if (git_blob_lookup(&b, ctx->repo, &f->id))
			return cs_err_git(ctx, path);
		data = git_blob_rawcontent(b);
		len = (size_t)git_blob_rawsize(b);
	}
	for (char *slash = strchr(full + strlen(ctx->workdir), '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = 0;
		if (mkdir(full, 0755) && errno != EEXIST)
			rc = cs_err(ctx, CS_ERROR, "cannot create %s: %s", full, strerror(errno));
		*slash = '/';
		if (rc)
			goto done;
	}
	snprintf(tmp, sizeof tmp, "%s.coordsync-%ld", full, (long)getpid());
	if (!(out = fopen(tmp, "wb"))) {
		rc = cs_err(ctx, CS_ERROR, "cannot write %s: %s", tmp, strerror(errno));
		goto done;
	}
	bad = (fwrite(data, 1, len, out) != len) | fclose(out) ||
	      chmod(tmp, f->mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
	if (!bad) {
		CS_FAULT("checkout-tmp");
		bad = cs_replace_file(tmp, full) || lstat(full, &st);
	}
	if (bad) {
		rc = cs_err(ctx, CS_ERROR, "cannot write %s: %s", full, strerror(errno));
		unlink(tmp);
		goto done;
	}
	CS_FAULT("checkout-file");
	rc = index_put(ctx, index, path, f, &st);
done:
	git_blob_free(b);
	return rc;
}

static int plain_file(const git_diff_file *f)
{
	return !(f->flags & GIT_DIFF_FLAG_EXISTS) || f->mode == GIT_FILEMODE_BLOB ||
	       f->mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

/* 1 when every directory on path's way in dir is a real directory or not
 * there yet: never follow a symbolic link out of the clone. */
static int real_dirs(const char *dir, const char *path)
{
	char p[4096];
	struct stat st;
	for (const char *c = strchr(path, '/'); c; c = strchr(c + 1, '/')) {
		snprintf(p, sizeof p, "%s%.*s", dir, (int)(c - path), path);
		if (lstat(p, &st))
			return errno == ENOENT;
		if (!S_ISDIR(st.st_mode))
			return 0;
	}
	return 1;
}

/* ---- self-repair of the working tree and the index --------------------------------- */
/* Before the working-tree update writes anything it lists, in the journal
 * gitdir/coordsync/checkout, every path of its diff with the blob the path
 * had and the one it gets ("-": absent), one "OLD NEW PATH" line each (a
 * plain path holds no newline).  The journal goes once the local branch is
 * moved.  A journal found at the next update means that one was cut short:
 * a file holding either blob (or missing, or one of our temporary files)
 * is coordsync's own write and is brought back to the local branch (HEAD),
 * from where the update goes on as usual; any other content is a hand
 * edit and is kept. */

static char *journal_path(cs_ctx *ctx)
{
	sbuf p = {0};
	sb_puts(&p, ctx->gitdir);
	sb_puts(&p, "coordsync/checkout");
	return sb_detach(&p);
}

int gx_checkout_pending(cs_ctx *ctx)
{
	char *p = journal_path(ctx);
	int there = p && !access(p, F_OK);
	free(p);
	return there;
}

/* Write the journal of diff: 1 in *wrote when it listed anything.  With
 * *wrote already set (a repair ran, its index not written yet) the lines
 * are appended: the repaired paths stay listed until the branch moves. */
static int journal_write(cs_ctx *ctx, git_diff *diff, int *wrote)
{
	sbuf b = {0};
	char *path = NULL;
	char oh[GIT_OID_HEXSZ + 1], nh[GIT_OID_HEXSZ + 1];
	int fd = -1, rc = CS_OK;

	for (size_t k = 0, n = git_diff_num_deltas(diff); k < n; k++) {
		const git_diff_delta *d = git_diff_get_delta(diff, k);
		if (!plain_path(d->new_file.path))
			continue;
		git_oid_tostr(oh, sizeof oh, &d->old_file.id);
		git_oid_tostr(nh, sizeof nh, &d->new_file.id);
		sb_printf(&b, "%s %s %s\n", d->old_file.flags & GIT_DIFF_FLAG_EXISTS ? oh : "-",
			  d->new_file.flags & GIT_DIFF_FLAG_EXISTS ? nh : "-", d->new_file.path);
	}
	if (!b.n && !b.oom)
		goto done;
	if (b.oom || !(path = journal_path(ctx))) {
		rc = cs_err_oom(ctx);
		goto done;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (*wrote ? O_APPEND : O_TRUNC),
		       0644)) < 0 ||
	    write(fd, b.p, b.n) != (ssize_t)b.n) {
		rc = cs_err(ctx, CS_ERROR, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	*wrote = 1;
done:
	if (fd >= 0)
		close(fd);
	free(path);
	sb_free(&b);
	return rc;
}

static void journal_remove(cs_ctx *ctx)
{
	char *p = journal_path(ctx);
	if (p)
		unlink(p);
	free(p);
}

/* 1 when the regular file full holds exactly the bytes of blob id. */
static int holds_blob(cs_ctx *ctx, const char *full, const git_oid *id)
{
	git_object_t type;
	struct stat st;
	size_t size = 0;
	char *buf = NULL;
	git_blob *b = NULL;
	FILE *in = NULL;
	int same = 0;

	if (lstat(full, &st) || !S_ISREG(st.st_mode) || object_header(ctx, id, &size, &type) ||
	    (size_t)st.st_size != size || git_blob_lookup(&b, ctx->repo, id) ||
	    !(buf = malloc(size + 1)) || !(in = fopen(full, "rb")))
		goto done;
	same = fread(buf, 1, size, in) == size && !memcmp(buf, git_blob_rawcontent(b), size);
done:
	git_error_clear();
	if (in)
		fclose(in);
	free(buf);
	git_blob_free(b);
	return same;
}

/* Remove dir/NAME.coordsync-* (the temporary files put_worktree_file makes
 * for full = dir/NAME): a killed write leaves one behind. */
static void remove_temps(const char *full)
{
	const char *slash = strrchr(full, '/');
	char dir[4096], name[4096];
	struct dirent *e;
	struct stat st;
	size_t n;
	DIR *d;

	if (!slash || (size_t)(slash - full) >= sizeof dir)
		return;
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - full), full);
	n = (size_t)snprintf(name, sizeof name, "%s.coordsync-", slash + 1);
	if (n >= sizeof name || !(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		char p[8400];
		if (strncmp(e->d_name, name, n))
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (!lstat(p, &st) && S_ISREG(st.st_mode))
			unlink(p);
	}
	closedir(d);
}

/* Bring back every path of the journal that holds coordsync's own write to
 * what head (the local branch's tree, NULL for none) has, in the working
 * tree and in index (not written here); hand edits stay, with the index
 * at head.  The journal itself goes with the local branch's move. */
static int checkout_repair(cs_ctx *ctx, git_index *index, git_tree *head)
{
	char *jp = journal_path(ctx), *text = NULL;
	int rc = CS_OK, fixed = 0, kept = 0;
	struct stat st;
	FILE *in = NULL;

	if (!jp)
		return cs_err_oom(ctx);
	if (!(in = fopen(jp, "rb"))) {
		if (errno != ENOENT)
			rc = cs_err(ctx, CS_ERROR, "cannot read '%s': %s", jp, strerror(errno));
		goto done;
	}
	/* A journal lists the files of one update: a few lines. */
	if (fstat(fileno(in), &st) || st.st_size > (1 << 24) ||
	    !(text = calloc(1, (size_t)st.st_size + 1)) ||
	    fread(text, 1, (size_t)st.st_size, in) != (size_t)st.st_size) {
		rc = cs_err(ctx, CS_ERROR, "cannot read '%s'", jp);
		goto done;
	}
	for (char *line = text, *nl; !rc && (nl = strchr(line, '\n')); line = nl + 1) {
		git_oid ids[2];
		int has[2];
		char full[4096];
		const char *path;
		git_tree_entry *e = NULL;
		git_diff_file f;
		int ours;

		*nl = 0;   /* a line cut short by the kill has no newline: skipped */
		for (int i = 0; i < 2; i++) {
			has[i] = line[0] != '-';
			if (has[i] ? git_oid_fromstrn(&ids[i], line, GIT_OID_HEXSZ) ||
					     line[GIT_OID_HEXSZ] != ' '
				   : line[1] != ' ')
				break;
			line += has[i] ? GIT_OID_HEXSZ + 1 : 2;
			if (i == 1)
				goto parsed;
		}
		git_error_clear();
		continue;
parsed:
		path = line;
		if (!plain_path(path) || !real_dirs(ctx->workdir, path) ||
		    (size_t)snprintf(full, sizeof full, "%s%s", ctx->workdir, path) >= sizeof full)
			continue;
		remove_temps(full);
		ours = lstat(full, &st) ? errno == ENOENT
					: (has[0] && holds_blob(ctx, full, &ids[0])) ||
					  (has[1] && holds_blob(ctx, full, &ids[1]));
		memset(&f, 0, sizeof f);
		if (head && !git_tree_entry_bypath(&e, head, path)) {
			git_oid_cpy(&f.id, git_tree_entry_id(e));
			f.mode = git_tree_entry_filemode(e);
			f.flags = GIT_DIFF_FLAG_EXISTS;
			f.path = path;
		}
		git_tree_entry_free(e);
		git_error_clear();
		if (!plain_file(&f)) {
			kept++;    /* not ours to write: left as it is */
		} else if (!ours) {
			kept++;    /* a hand edit: the index shows it against HEAD */
			rc = index_put(ctx, index, path, &f, NULL);
		} else if ((f.flags & GIT_DIFF_FLAG_EXISTS) && !over_limit(ctx, &f.id)) {
			fixed++;
			rc = put_worktree_file(ctx, index, full, path, &f);
		} else {
			fixed++;
			if (unlink(full) && errno != ENOENT)
				rc = cs_err(ctx, CS_ERROR, "cannot remove %s: %s", full, strerror(errno));
			else
				rc = index_put(ctx, index, path, &f, NULL);
		}
	}
	if (!rc)
		cs_notice(ctx, "repaired a working-tree update that was cut short: %d file%s of"
			  " coordsync's brought back to HEAD, %d hand edit%s kept", fixed,
			  fixed == 1 ? "" : "s", kept, kept == 1 ? "" : "s");
done:
	if (in)
		fclose(in);
	free(text);
	free(jp);
	return rc;
}

/* An update cut short while libgit2 wrote the index leaves index.lock, and
 * every later index write fails on it.  With the journal there (the update
 * was cut short), a lock made no earlier than the journal and open in no
 * process on this machine (libgit2 and git keep it open while they hold
 * it) is that update's, and is removed; any other is left to its owner. */
static void index_lock_clear(cs_ctx *ctx)
{
	char lock[PATH_MAX], real[PATH_MAX], *jp = journal_path(ctx);
	struct stat ls, js;

	snprintf(lock, sizeof lock, "%sindex.lock", ctx->gitdir);
	if (jp && !lstat(lock, &ls) && S_ISREG(ls.st_mode) && !stat(jp, &js) &&
	    (ls.st_mtim.tv_sec > js.st_mtim.tv_sec ||
	     (ls.st_mtim.tv_sec == js.st_mtim.tv_sec && ls.st_mtim.tv_nsec >= js.st_mtim.tv_nsec)) &&
	    realpath(lock, real) && open_by(real) == 0 && !unlink(lock))
		cs_notice(ctx, "removed '%s', left by a working-tree update that was cut short", lock);
	free(jp);
}

/* The clone's index, read; one that cannot be read (damaged, cut short) is
 * set aside as gitdir/index.damaged and rebuilt from head (NULL: empty),
 * without stat data, so that git compares every file again and shows hand
 * edits as modifications. */
static int index_open(cs_ctx *ctx, git_index **out, git_tree *head)
{
	const git_error *e;
	char why[512], *path = NULL, *aside = NULL;
	sbuf a = {0}, b = {0};
	int rc = CS_OK;

	if (!git_repository_index(out, ctx->repo) && !git_index_read(*out, 0))
		return CS_OK;
	e = git_error_last();
	snprintf(why, sizeof why, "%s", e && e->message ? e->message : "cannot be read");
	git_error_clear();
	sb_puts(&a, ctx->gitdir);
	sb_puts(&a, "index");
	sb_puts(&b, ctx->gitdir);
	sb_puts(&b, "index.damaged");
	if (!(path = sb_detach(&a)) || !(aside = sb_detach(&b))) {
		rc = cs_err_oom(ctx);
		goto done;
	}
	if (rename(path, aside) && errno != ENOENT) {
		rc = cs_err(ctx, CS_ERROR, "cannot set aside the damaged index '%s': %s", path,
			    strerror(errno));
		goto done;
	}
	if ((!*out && git_repository_index(out, ctx->repo)) || git_index_read(*out, 1) ||
	    (head && git_index_read_tree(*out, head))) {
		rc = cs_err_git(ctx, "cannot rebuild the index");
		goto done;
	}
	cs_notice(ctx, "the index '%s' was damaged (%s): set aside as '%s' and rebuilt from HEAD",
		  path, why, aside);
done:
	sb_free(&a);
	sb_free(&b);
	free(path);
	free(aside);
	return rc;
}

/* Bring the working tree and the index from tree `from` to tree `to`, file
 * by file, leaving alone every file that no longer holds what `from` has:
 * what a safe checkout promises, without hashing every file again (libgit2's
 * checkout re-hashes a file the size of jobs.json on every decision). */
static int worktree_update(cs_ctx *ctx, git_tree *from, git_tree *to, int *journaled)
{
	git_diff *diff = NULL;
	git_index *index = NULL;
	char full[4096];
	int rc = CS_OK;

	if ((rc = index_open(ctx, &index, from)))
		goto done;
	if (gx_checkout_pending(ctx)) {
		*journaled = 1;
		index_lock_clear(ctx);
		if ((rc = checkout_repair(ctx, index, from)))
			goto done;
	}
	if (git_diff_tree_to_tree(&diff, ctx->repo, from, to, NULL)) {
		rc = cs_err_git(ctx, "cannot compare trees");
		goto done;
	}
	if ((rc = journal_write(ctx, diff, journaled)))
		goto done;
	CS_FAULT("checkout-journal");
	/* Removals first: a file that becomes a directory, or the reverse,
	 * needs its old self gone before its new self is written. */
	for (size_t k = 0, n = git_diff_num_deltas(diff); k < 2 * n && !rc; k++) {
		const git_diff_delta *d = git_diff_get_delta(diff, k % n);
		const char *path = d->new_file.path;
		if ((d->status == GIT_DELTA_DELETED) != (k < n))
			continue;
		/* Links and submodules are not ours; nor is a path with "..",
		 * ".git" or control characters in it (a tree can hold anything),
		 * nor one whose directories are not real ones. */
		if (!plain_file(&d->old_file) || !plain_file(&d->new_file) || !plain_path(path) ||
		    !real_dirs(ctx->workdir, path))
			continue;
		snprintf(full, sizeof full, "%s%s", ctx->workdir, path);
		if ((d->new_file.flags & GIT_DIFF_FLAG_EXISTS) && over_limit(ctx, &d->new_file.id)) {
			/* Not written (it would be read whole): the old copy goes,
			 * and the next version that fits is written again. */
			if (unchanged_on_disk(ctx, index, full, path, &d->old_file))
				remove_file(ctx->workdir, path);
			rc = index_put(ctx, index, path, &d->new_file, NULL);
			continue;
		}
		if (!unchanged_on_disk(ctx, index, full, path, &d->old_file)) {
			/* Keep the file; the index follows the tree, with no stat
			 * data, so git status shows the edit against the new head. */
			rc = index_put(ctx, index, path, &d->new_file, NULL);
			continue;
		}
		if (d->status != GIT_DELTA_DELETED) {
			rc = put_worktree_file(ctx, index, full, path, &d->new_file);
		} else if (unlink(full) && errno != ENOENT) {
			rc = cs_err(ctx, CS_ERROR, "cannot remove %s: %s", full, strerror(errno));
		} else if (!(rc = index_put(ctx, index, path, &d->new_file, NULL))) {
			char *slash = strrchr(full, '/');
			if (slash && slash > full + strlen(ctx->workdir)) {
				*slash = 0;
				rmdir(full);   /* when empty */
			}
		}
	}
	if (!rc)
		CS_FAULT("checkout-index");
	if (!rc && git_index_write(index))
		rc = cs_err_git(ctx, "cannot write the index");
done:
	git_diff_free(diff);
	git_index_free(index);
	return rc;
}

/* Whether HEAD already names branch ref name: then setting it again would
 * only lock, rewrite and log HEAD, on every decision. */
static int head_names(git_repository *repo, const char *name)
{
	git_reference *h = NULL;
	int same = !git_reference_lookup(&h, repo, "HEAD") &&
		   git_reference_type(h) == GIT_REFERENCE_SYMBOLIC &&
		   !strcmp(git_reference_symbolic_target(h), name);
	git_reference_free(h);
	git_error_clear();
	return same;
}

int gx_update_local(cs_ctx *ctx, const git_oid *head)
{
	git_reference *ref = NULL;
	git_commit *old = NULL, *c = NULL;
	git_tree *base = NULL, *tree = NULL;
	git_oid oldid;
	char name[256];
	int rc = CS_OK, journaled = 0;

	snprintf(name, sizeof name, "refs/heads/%s", ctx->branch);
	if (git_commit_lookup(&c, ctx->repo, head) || git_commit_tree(&tree, c)) {
		rc = cs_err_git(ctx, "cannot read commit");
		goto done;
	}
	/* From the local branch's tree; with none yet, from nothing. */
	if (!git_reference_name_to_id(&oldid, ctx->repo, name) &&
	    !git_commit_lookup(&old, ctx->repo, &oldid))
		git_commit_tree(&base, old);
	git_error_clear();
	if ((rc = worktree_update(ctx, base, tree, &journaled)))
		goto done;
	CS_FAULT("checkout-ref");
	if (git_reference_create(&ref, ctx->repo, name, head, 1, "coordsync: sync") ||
	    (!head_names(ctx->repo, name) && git_repository_set_head(ctx->repo, name)))
		rc = cs_err_git(ctx, "cannot update local branch");
	else if (journaled)
		journal_remove(ctx);
done:
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

	gx_init();
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
