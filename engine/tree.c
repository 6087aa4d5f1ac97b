/* Trees and blobs of the clone: trees written with many edits in one pass,
 * blobs read with their size checked first, and new objects written fast. */
#include <stdlib.h>
#include <string.h>
#include <git2/sys/odb_backend.h>
#include "ctx.h"
#include "tree.h"

/* ---- trees ------------------------------------------------------------------- */

/* One edit as a level of the tree writer sees it: the rest of its path
 * below the tree being built, and the blob put there (NULL: a removal). */
typedef struct tree_item {
	const char *rest;
	const git_oid *blob;
} tree_item;

static int apply_level(cs_ctx *ctx, git_tree *base, const tree_item *items, size_t n,
		       git_oid *out, int *empty);

/* Apply run[0, k), edits below the entry name of bld, in one pass over
 * that directory: one under a file changes nothing unless the run puts
 * something there, which makes the file a directory; a directory left
 * empty goes. */
static int apply_run(cs_ctx *ctx, git_treebuilder *bld, const char *name, const tree_item *run,
		     size_t k)
{
	const git_tree_entry *e = git_treebuilder_get(bld, name);
	git_tree *sub = NULL;
	git_oid subid;
	int rc, empty = 0, puts = 0;

	for (size_t i = 0; i < k; i++)
		puts |= run[i].blob != NULL;
	if ((!e || git_tree_entry_type(e) != GIT_OBJECT_TREE) && !puts)
		return CS_OK;      /* nothing to remove below a file, or nothing */
	if (e && git_tree_entry_type(e) == GIT_OBJECT_TREE &&
	    git_tree_lookup(&sub, ctx->repo, git_tree_entry_id(e)))
		return ctx_err_git(ctx, name);
	rc = apply_level(ctx, sub, run, k, &subid, &empty);
	git_tree_free(sub);
	if (rc)
		return rc;
	if (empty ? git_treebuilder_get(bld, name) && git_treebuilder_remove(bld, name)
		  : git_treebuilder_insert(NULL, bld, name, &subid, GIT_FILEMODE_TREE) != 0)
		return ctx_err_git(ctx, name);
	return CS_OK;
}

/* The tree of base (NULL: empty) with items[0, n) applied in order, their
 * paths relative to it; *empty is set when it has no entry left.  Edits
 * of different names commute, so each name's edits are applied together,
 * those below it in runs, each run one pass over the directory. */
static int apply_level(cs_ctx *ctx, git_tree *base, const tree_item *items, size_t n,
		       git_oid *out, int *empty)
{
	git_treebuilder *bld = NULL;
	tree_item *run = NULL;
	char *done = NULL;
	int rc = CS_OK;

	if (git_treebuilder_new(&bld, ctx->repo, base))
		return ctx_err_git(ctx, "treebuilder");
	if (n && (!(run = malloc(n * sizeof *run)) || !(done = calloc(n, 1)))) {
		rc = ctx_err_oom(ctx);
		goto done;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		size_t len = strcspn(items[i].rest, "/"), k = 0;
		char name[256];

		if (done[i])
			continue;
		for (size_t j = i; j <= n && !rc; j++) {
			const tree_item *it = j < n ? &items[j] : NULL;
			/* Edits of this name only; a run ends at an edit of the
			 * name itself, or at the end. */
			if (it && (done[j] || strncmp(it->rest, items[i].rest, len) ||
				   (it->rest[len] && it->rest[len] != '/')))
				continue;
			/* A directory's name, or one to remove, must fit name. */
			if (it && len >= sizeof name && (it->rest[len] || !it->blob)) {
				rc = ctx_err(ctx, CS_EINVAL, "path too long: '%s'", it->rest);
				break;
			}
			if (it && it->rest[len] == '/') {
				run[k].rest = it->rest + len + 1;
				run[k++].blob = it->blob;
				done[j] = 1;
				continue;
			}
			if (k) {
				snprintf(name, sizeof name, "%.*s", (int)len, items[i].rest);
				rc = apply_run(ctx, bld, name, run, k);
				k = 0;
			}
			if (!it || rc)
				continue;
			done[j] = 1;
			if (it->blob ? git_treebuilder_insert(NULL, bld, it->rest, it->blob,
							       GIT_FILEMODE_BLOB) != 0
				     : git_treebuilder_get(bld, it->rest) &&
					       git_treebuilder_remove(bld, it->rest))
				rc = ctx_err_git(ctx, it->rest);
		}
	}
	*empty = git_treebuilder_entrycount(bld) == 0;
	if (!rc && git_treebuilder_write(out, bld))
		rc = ctx_err_git(ctx, "cannot write tree");
done:
	free(run);
	free(done);
	git_treebuilder_free(bld);
	return rc;
}

int tree_apply(cs_ctx *ctx, git_tree *base, const tree_edit *edits, size_t n, git_oid *out)
{
	tree_item *items = n ? malloc(n * sizeof *items) : NULL;
	int rc, empty;

	if (n && !items)
		return ctx_err_oom(ctx);
	for (size_t i = 0; i < n; i++) {
		items[i].rest = edits[i].path;
		items[i].blob = edits[i].remove ? NULL : &edits[i].blob;
	}
	rc = apply_level(ctx, base, items, n, out, &empty);
	free(items);
	return rc;
}

int tree_put(cs_ctx *ctx, git_tree *base, const char *path, const git_oid *blob,
		git_oid *out)
{
	tree_item it = {path, blob};
	int empty;
	return apply_level(ctx, base, &it, 1, out, &empty);
}

int tree_remove(cs_ctx *ctx, git_tree *base, const char *path, git_oid *out)
{
	tree_item it = {path, NULL};
	int empty;
	return apply_level(ctx, base, &it, 1, out, &empty);
}

/* ---- reading blobs ------------------------------------------------------------------ */

int tree_object_header(cs_ctx *ctx, const git_oid *id, size_t *size, git_object_t *type)
{
	git_odb *odb = NULL;
	int rc = git_repository_odb(&odb, ctx->repo) || git_odb_read_header(size, type, odb, id)
			 ? -1 : 0;
	git_odb_free(odb);
	return rc;
}

int tree_blob_lookup(cs_ctx *ctx, git_blob **out, const git_oid *id, const char *path)
{
	git_object_t type;
	size_t size = 0;

	*out = NULL;
	if (tree_object_header(ctx, id, &size, &type))
		return ctx_err_git(ctx, path);
	if (type != GIT_OBJECT_BLOB)
		return ctx_err(ctx, CS_ERROR, "'%s' is not a file", path);
	if ((unsigned long long)size > (unsigned long long)ctx->max_file)
		return ctx_err(ctx, CTX_ETOOBIG, "%s: %zu bytes is over the %lld byte limit"
			      " (coordsync.maxfilesize); not read", path, size, ctx->max_file);
	if (git_blob_lookup(out, ctx->repo, id))
		return ctx_err_git(ctx, path);
	return CS_OK;
}

/* ---- fast object writes ------------------------------------------------------------- */

int tree_fast_writes(cs_ctx *ctx, git_repository *repo)
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
		return ctx_err_oom(ctx);
	snprintf(dir, n, "%sobjects", gitdir);
	if (git_repository_odb(&odb, repo) || git_odb_backend_loose(&be, dir, 1, 0, 0, 0) ||
	    git_odb_add_backend(odb, be, 10)) {
		if (be && be->free)
			be->free(be);
		rc = ctx_err_git(ctx, "cannot set up the object database");
	}
	free(dir);
	git_odb_free(odb);
	return rc;
}

int tree_edit_add(cs_ctx *ctx, tree_edit **edits, size_t *n, const char *path,
		  const git_oid *blob)
{
	tree_edit *e = realloc(*edits, (*n + 1) * sizeof *e);
	if (!e)
		return ctx_err_oom(ctx);
	*edits = e;
	e += *n;
	memset(e, 0, sizeof *e);
	if (!(e->path = strdup(path)))
		return ctx_err_oom(ctx);
	if (blob)
		git_oid_cpy(&e->blob, blob);
	e->remove = !blob;
	(*n)++;
	return CS_OK;
}

void tree_edits_free(tree_edit *edits, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(edits[i].path);
	free(edits);
}
