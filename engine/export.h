/* Export (export.c): dirty rows written back into the coordination files'
 * text, and the record-level helpers the decisions use. */
#ifndef CS_EXPORT_H
#define CS_EXPORT_H
#include "ctx.h"

/* Write every dirty record of the mirror into new blobs, the files they
 * change being read from base (the tree decided on), and clear the records'
 * dirty marks.  *out is the n edits that put the blobs in the tree (none
 * removes), in the order to apply them; the caller applies them (one tree
 * writer) and frees them with tree_edits_free.  On error *out is NULL. */
int export_edits(cs_ctx *ctx, git_tree *base, tree_edit **out, size_t *n);

/* orig (a JSON object's text) with members keys[i] set to the JSON texts
 * vals[i]: existing members are replaced in place, others appended in the
 * object's own layout; all other bytes are kept.  *out is malloc'd. */
int export_patch(cs_ctx *ctx, const char *orig, const char *const *keys, char *const *vals,
		int n, char **out);

/* The export's invariant for one record text of the file at path (its
 * kind: jobs.json, ..., status.json): 0, or CS_EREFUSED saying what the
 * importer would refuse.  key: a lock's name or a server's id. */
int export_check_record(cs_ctx *ctx, const char *path, const char *key, const char *text);

/* A new record of table (jobs, locks, messages) from its text, typed as an
 * import types it, to be appended by the next export.  name is the lock's
 * name (the key of a locks.json member); NULL for the others. */
int export_add(cs_ctx *ctx, const char *table, const char *name, const char *text);
/* The text of a jobs.json- or messages.json-shaped file at path (s NULL:
 * the template) with n records appended in its layout.  *out is malloc'd. */
int export_append(cs_ctx *ctx, const char *path, const char *s, size_t len,
		 char *const *texts, size_t n, char **out);
#endif
