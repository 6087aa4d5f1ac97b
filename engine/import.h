/* Import (import.c): coordination files checked and loaded into the
 * mirror's tables. */
#ifndef CS_IMPORT_H
#define CS_IMPORT_H
#include "ctx.h"

/* Import every coordination file of tree whose blob changed since the
 * files table's (all of them with force).  A file that fails keeps its last
 * good rows and is counted in st->files_failed; the pass then leaves the
 * first failure's message on ctx but returns CS_OK. */
int model_import_tree(cs_ctx *ctx, git_tree *tree, cs_sync_stats *st, int force);
/* Import s[0, len) as the file at path (coordination/jobs.json, ..., or
 * SERVER/status.json), without git: the checks and the import a sync runs,
 * in a savepoint, so a file that fails leaves the rows as they were.  For
 * the fuzzers; CS_EINVAL for a path that is not a coordination file. */
int model_import_buffer(cs_ctx *ctx, const char *path, const char *s, size_t len);
#endif
