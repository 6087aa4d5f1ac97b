/* Declarations still shared across the engine while it is cut into modules:
 * each section moves to its module's own header. */
#ifndef CS_INT_H
#define CS_INT_H

#include "ctx.h"
#include "util.h"
#include "fault.h"
#include "clock.h"
#include "db.h"
#include "json.h"
#include "history.h"
#include "net.h"
#include "shared.h"
#include "identity.h"
#include "handle.h"
#include "mirror.h"
#include "decide.h"
#include "outbox.h"
#include "secret.h"
#include "cred.h"
#include "transport.h"
#include "tree.h"
#include "texts.h"
#include "worktree.h"

/* ---- model (model.c) -------------------------------------------------- */
struct git_tree;
int model_import_tree(cs_ctx *ctx, git_tree *tree, cs_sync_stats *st, int force);
/* Import s[0, len) as the file at path (coordination/jobs.json, ..., or
 * SERVER/status.json), without git: the checks and the import a sync runs,
 * in a savepoint, so a file that fails leaves the rows as they were.  For
 * the fuzzers; CS_EINVAL for a path that is not a coordination file. */
int model_import_buffer(cs_ctx *ctx, const char *path, const char *s, size_t len);
/* Write every dirty record into new blobs on top of tree, giving *out. */
int model_export(cs_ctx *ctx, git_tree *base, git_oid *out_tree, int *changed);

/* orig (a JSON object's text) with members keys[i] set to the JSON texts
 * vals[i]: existing members are replaced in place, others appended in the
 * object's own layout; all other bytes are kept.  *out is malloc'd. */
int model_patch(cs_ctx *ctx, const char *orig, const char *const *keys, char *const *vals,
		int n, char **out);

/* The export's invariant for one record text of the file at path (its
 * kind: jobs.json, ..., status.json): 0, or CS_EREFUSED saying what the
 * importer would refuse.  key: a lock's name or a server's id. */
int model_check_record(cs_ctx *ctx, const char *path, const char *key, const char *text);
/* A new record of table (jobs, locks, messages) from its text, typed as an
 * import types it, to be appended by the next export.  name is the lock's
 * name (the key of a locks.json member); NULL for the others. */
int model_add(cs_ctx *ctx, const char *table, const char *name, const char *text);
/* The text of a jobs.json- or messages.json-shaped file at path (s NULL:
 * the template) with n records appended in its layout.  *out is malloc'd. */
int model_append(cs_ctx *ctx, const char *path, const char *s, size_t len,
		 char *const *texts, size_t n, char **out);


#endif
