/* Trees and blobs of the clone: trees edited a path at a time, blobs read
 * with their size checked first, and new objects written fast. */
#include <stdlib.h>
#include <string.h>
#include <git2/sys/odb_backend.h>
#include "ctx.h"
#include "tree.h"

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

int tree_object_header(cs_ctx *ctx, const git_oid *id, size_t *size, git_object_t *type)
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
	if (tree_object_header(ctx, id, &size, &type))
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
