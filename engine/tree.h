/* Trees and blobs of the clone's object database (tree.c). */
#ifndef CS_TREE_H
#define CS_TREE_H

#include "ctx.h"

/* The tree of base (NULL: empty tree) with edits[0, n) applied in order, in
 * one pass, into *out: an edit puts its blob at its path (a file there is
 * replaced; a directory on the way is made, and a file on the way becomes
 * one), or removes path (a file or a whole directory; nothing when it is
 * not there), and a directory left empty goes.  CS_EINVAL for a directory
 * name, or a name to remove, over 255 bytes. */
int tree_apply(cs_ctx *ctx, git_tree *base, const tree_edit *edits, size_t n, git_oid *out);
/* Append to the list (*edits, *n) an edit that puts blob at path, or, blob
 * NULL, removes path; the list owns its paths.  tree_edits_free frees it
 * (NULL-safe). */
int tree_edit_add(cs_ctx *ctx, tree_edit **edits, size_t *n, const char *path,
		  const git_oid *blob);
void tree_edits_free(tree_edit *edits, size_t n);
/* The tree of base (NULL: empty tree) with path set to blob; *out is its id. */
int tree_put(cs_ctx *ctx, git_tree *base, const char *path, const git_oid *blob,
		git_oid *out);
/* The tree of base without path (and without directories left empty). */
int tree_remove(cs_ctx *ctx, git_tree *base, const char *path, git_oid *out);
/* The size and type of object id from its header, without inflating the
 * object: a file far over the limit costs nothing to refuse.  -1 with
 * libgit2's error set when the object cannot be read. */
int tree_object_header(cs_ctx *ctx, const git_oid *id, size_t *size, git_object_t *type);
/* Look up blob id, the file at path, refusing it from the object's header,
 * before anything is read or inflated, when it is over ctx->max_file:
 * CTX_ETOOBIG with a message naming path, its size and the limit.  *out
 * belongs to the caller (git_blob_free). */
int tree_blob_lookup(cs_ctx *ctx, git_blob **out, const git_oid *id, const char *path);
/* Write repo's new loose objects at zlib's fastest level. */
int tree_fast_writes(cs_ctx *ctx, git_repository *repo);

#endif
