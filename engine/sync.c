/* Sync, rebuild and init: the top of the engine's layers, which brings the
 * mirror to the remote head (mirror.c), flushes the outbox, and makes a
 * clone. */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ctx.h"
#include "util.h"
#include "json_int.h"
#include "embedded.h"
#include "db.h"
#include "secret.h"
#include "tree.h"
#include "texts.h"
#include "transport.h"
#include "worktree.h"
#include "values.h"
#include "identity.h"
#include "handle.h"
#include "mirror.h"
#include "decide.h"
#include "intent.h"
#include "outbox.h"
#include "msglog.h"

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
	if ((rc = handle_lock_clone(ctx)))
		return rc;
	rc = mirror_refresh(ctx, &head, &empty, &tree, st, 0, 1);
	if (!rc && !empty && (local_behind(ctx, &head) || worktree_pending(ctx)))
		rc = worktree_move(ctx, &head);
	if (!rc && !empty) {
		/* Deferred intents go out even while some file is broken (they
		 * touch their own files); the broken file stays the error. */
		char saved[sizeof ctx->err];
		int failed = st->files_failed;
		memcpy(saved, ctx->err, sizeof saved);
		ctx->pushed[0] = 0;
		rc = outbox_flush(ctx, &st->intents_pushed);
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
	if (!rc || st->files_failed) {
		/* The messages that arrived, in the message log (msglog.c); a log
		 * that cannot be written is a notice, and the sync's error stays. */
		char saved[sizeof ctx->err];
		memcpy(saved, ctx->err, sizeof saved);
		msglog_notice(ctx, msglog_received(ctx));
		memcpy(ctx->err, saved, sizeof saved);
	}
	texts_free(ctx);
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
	if ((rc = handle_lock_clone(ctx)))
		return rc;
	if (!(tmp = handle_join(ctx->dbpath, ".rebuild")))
		return ctx_err_oom(ctx);
	unlink(tmp);
	ctx->db = NULL;
	if ((rc = db_open(ctx, tmp, DB_CREATE | DB_BULK)) ||
	    (rc = mirror_copy_kept(ctx, ctx->dbpath)) ||
	    (rc = mirror_refresh(ctx, &head, &empty, &tree, st, 1, 1)) ||
	    (rc = db_exec(ctx, "PRAGMA journal_mode=WAL")))
		goto fail;
	fresh = ctx->db;
	ctx->db = old;
	rc = mirror_replace(ctx, fresh, tmp);
	free(tmp);
	git_tree_free(tree);
	if (!rc && !empty)
		rc = worktree_move(ctx, &head);
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
	texts_free(ctx);
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
	texts_free(ctx);
	return rc;
}

/* ---- init ----------------------------------------------------------------------- */

static int config_set(cs_ctx *ctx, const char *key, const char *value)
{
	git_config *cfg = NULL;
	int rc = CS_OK;
	if (git_repository_config(&cfg, ctx->repo) || git_config_set_string(cfg, key, value))
		rc = ctx_err_git(ctx, "cannot write git config");
	git_config_free(cfg);
	return rc;
}

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
		return ctx_err_git(ctx, "cannot read the remote head");
	}
	git_commit_free(pc);
	for (const embedded_file *e = embedded_templates; e->name && !rc; e++) {
		snprintf(path, sizeof path, "coordination/%s", e->name);
		if (git_blob_create_from_buffer(&blob, ctx->repo, e->text, e->len))
			return ctx_err_git(ctx, "cannot write blob");
		rc = tree_put(ctx, t, path, &blob, &tree);
		git_tree_free(t);
		t = NULL;
		if (!rc && git_tree_lookup(&t, ctx->repo, &tree))
			rc = ctx_err_git(ctx, "cannot read tree");
	}
	/* The remote's docs/ (the default auto-reply rules), unless an adopted
	 * remote has its own. */
	for (const embedded_file *e = embedded_docs; e->name && !rc; e++) {
		git_tree_entry *have = NULL;
		snprintf(path, sizeof path, "docs/%s", e->name);
		if (t && !git_tree_entry_bypath(&have, t, path)) {
			git_tree_entry_free(have);
			continue;
		}
		git_error_clear();
		if (git_blob_create_from_buffer(&blob, ctx->repo, e->text, e->len))
			rc = ctx_err_git(ctx, "cannot write blob");
		if (!rc)
			rc = tree_put(ctx, t, path, &blob, &tree);
		git_tree_free(t);
		t = NULL;
		if (!rc && git_tree_lookup(&t, ctx->repo, &tree))
			rc = ctx_err_git(ctx, "cannot read tree");
	}
	git_tree_free(t);
	if (rc)
		return rc;
	rc = transport_commit_push(ctx, &tree, parent, parent ? "Add coordination/ (adopted by coordsync)"
			   : "Initialize coordination repository", &commit);
	if (rc == CTX_ERETRY && parent)
		return ctx_err(ctx, CS_ERROR, "the remote moved while init adopted it; run init again");
	return rc == CTX_ERETRY ? CS_OK : rc;   /* someone else seeded it first */
}

/* The decision of cs_init_status_files: each of the server's two files
 * that the tree decided on (ctx->base) does not have, written as status set
 * and heartbeat write them; a file there is kept as it is, even one the
 * mirror could not import. */
static int init_files_fn(cs_ctx *ctx, void *arg, sbuf *msg)
{
	static const char *const names[] = {"status.json", "heartbeat.json"};
	sbuf scratch = {0};
	int rc = CS_OK;

	(void)arg;
	for (int i = 0; i < 2 && !rc; i++) {
		git_tree_entry *e = NULL;
		char path[128], inst[37];
		cJSON *p, *set;
		snprintf(path, sizeof path, "%s/%s", ctx->server, names[i]);
		if (!git_tree_entry_bypath(&e, ctx->base, path)) {
			git_tree_entry_free(e);
			continue;
		}
		git_error_clear();
		if (i && (rc = identity_instance(ctx, inst, 1)))
			break;
		p = cJSON_CreateObject();
		set = cJSON_AddObjectToObject(p, i ? "set" : "set_json");
		if (!set || !(i ? cJSON_AddStringToObject(set, "instance", inst)
				: cJSON_AddStringToObject(set, "status", "\"idle\"")) ||
		    !cJSON_AddNumberToObject(p, "at", values_now()) || !cJSON_AddTrueToObject(p, "direct"))
			rc = ctx_err_oom(ctx);
		else
			rc = intent_apply(ctx, i ? "heartbeat" : "status", p, &scratch);
		cJSON_Delete(p);
	}
	sb_free(&scratch);
	sb_printf(msg, "%s: initialize status files", ctx->server);
	return rc;
}

int cs_init_status_files(cs_ctx *ctx)
{
	return decide_run(ctx, init_files_fn, NULL);
}

/* The branch to coordinate on: the remote's default branch. */
static char *remote_branch(cs_ctx *ctx, const char *url)
{
	git_reference *head = NULL;
	git_repository *r = NULL;
	char *local = transport_local_path(url), *b = NULL;
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
		return ctx_err_git(ctx, "cannot list the remote's branches");
	while (!git_branch_next(&ref, &type, it)) {
		const char *n = git_reference_shorthand(ref);
		if (!strncmp(n, "origin/", 7) && strcmp(n + 7, "HEAD"))
			sb_printf(&names, "%s'%s'", names.n ? ", " : "", n + 7);
		git_reference_free(ref);
	}
	git_error_clear();
	git_branch_iterator_free(it);
	if (names.oom)
		rc = ctx_err_oom(ctx);
	else if (names.n)
		rc = ctx_err(ctx, CS_EREFUSED, "the remote '%s' names '%s' as its default branch, which"
			    " has no commits, but it has other branches (%s): point its HEAD at the"
			    " fleet's branch (git symbolic-ref HEAD refs/heads/NAME in the remote)"
			    " and run init again", url, branch, names.p);
	sb_free(&names);
	return rc;
}

/* The absolute path of a secret file given to init (what: "token file" or
 * "ssh key"), once it is known to be safe (secret_check) and, for a
 * token, readable (secret_token_read); *out is malloc'd. */
static int init_secret(cs_ctx *ctx, const char *what, const char *path, char **out)
{
	char *token = NULL;
	int rc;

	if (!(*out = realpath(path, NULL)))
		return ctx_err(ctx, CS_EINVAL, "cannot read %s '%s': %s", what, path, strerror(errno));
	if (strcmp(what, "token file"))
		rc = secret_check(ctx, what, *out);
	else if (!(rc = secret_token_read(ctx, *out, &token))) {
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
		rc = ctx_err_git(ctx, "cannot read the remote head");
	} else if ((e = git_tree_entry_byname(t, "coordination")) &&
		   git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		rc = CS_OK;
	} else if (allowed) {
		*adopt = 1;
	} else {
		/* url holds no password: transport_clone refused such a URL. */
		rc = ctx_err(ctx, CS_EREFUSED, "'%s' is not empty and has no coordination/ directory:"
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

int cs_clone(cs_ctx **out, const char *url, const char *dir, const cs_opts *opts)
{
	return cs_clone_auth(out, url, dir, opts, NULL);
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

	if (!(*out = ctx = handle_new()))
		return CS_ERROR;
	if (!o.server || !cs_valid_id(o.server))
		return ctx_err(ctx, CS_EINVAL, "invalid server id '%s'", o.server ? o.server : "");
	if (cs_reserved_id(o.server))
		return ctx_err(ctx, CS_EINVAL, "server id '%s' is reserved: it names a directory of the"
			      " repository's shared layout or a recipient (see docs/RELIABILITY.md)",
			      o.server);
	if (!dir || !*dir)
		return ctx_err(ctx, CS_EINVAL, "missing directory");
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
		char *local = transport_local_path(url);
		struct stat sb;
		if (local && stat(local, &sb))
			rc = ctx_err(ctx, CS_ERROR, "cannot clone '%s': no such repository (%s)", local,
				    strerror(errno));
		free(local);
		if (rc)
			goto done;
		created = stat(dir, &sb) != 0;
	}
	if ((rc = transport_clone(ctx, url, dir, &a)))
		goto done;
	if (git_repository_open(&ctx->repo, dir)) {
		rc = ctx_err_git(ctx, "cannot open the new clone");
		goto done;
	}
	if (!(branch = remote_branch(ctx, url))) {
		rc = ctx_err_oom(ctx);
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

int cs_clone_auth(cs_ctx **out, const char *url, const char *dir, const cs_opts *opts,
		  const cs_remote_auth *auth)
{
	return init_clone(out, url, dir, opts, auth, 0);
}

int cs_clone_adopt(cs_ctx **out, const char *url, const char *dir, const cs_opts *opts,
		   const cs_remote_auth *auth)
{
	return init_clone(out, url, dir, opts, auth, 1);
}
