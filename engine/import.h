/* Import (import.c): coordination files checked and loaded into the
 * mirror's tables. */
#ifndef CS_IMPORT_H
#define CS_IMPORT_H
#include "ctx.h"

/* Import every coordination file of tree whose blob changed since the
 * files table's (all of them with force).  A file that fails keeps its last
 * good rows and is counted in st->files_failed; the pass then leaves the
 * first failure's message on ctx but returns CS_OK. */
int import_tree(cs_ctx *ctx, git_tree *tree, cs_sync_stats *st, int force);
/* Import s[0, len) as the file at path (coordination/jobs.json, ..., or
 * SERVER/status.json), without git: the checks and the import a sync runs,
 * in a savepoint, so a file that fails leaves the rows as they were.  For
 * the fuzzers; CS_EINVAL for a path that is not a coordination file. */
int import_buffer(cs_ctx *ctx, const char *path, const char *s, size_t len);
/* A problem import_check found: msg is "PATH:LINE:COL: what", as the
 * import's error would be.  Nonzero stops the check. */
typedef int (*import_problem_fn)(cs_ctx *ctx, const char *msg, void *arg);
/* import_buffer of s[0, len) as path, listing every problem rather than
 * the first (a file that passes leaves its rows, as import_buffer does).
 * import_buffer's error goes to fn first; then, for a shared file whose
 * text and structure pass, the error of each other record that fails on
 * its own (types, times, duplicate ids), in file order.  CS_OK exactly when
 * import_buffer is; else CS_ERROR with its message on ctx (or the code of
 * an operational failure: out of memory, SQLite). */
int import_check(cs_ctx *ctx, const char *path, const char *s, size_t len, import_problem_fn fn,
		 void *arg);

/* cJSON's allocator.  An import parses with cJSON from an arena of the
 * thread that parses.  cJSON's hooks are process-wide, so the first import
 * installs, once and for the life of the process, hooks that route each
 * call by thread: a thread inside an import takes from its own arena, every
 * other call goes to malloc and free as before.  Handles may therefore
 * import on several threads at once, and other threads may use cJSON
 * meanwhile.  What the process must keep to:
 * - not call cJSON_InitHooks itself once it has imported;
 * - free what cJSON returns with cJSON_free or cJSON_Delete (plain free is
 *   right only for what was allocated outside an import);
 * - hand no cJSON value made inside an import to another thread: each is
 *   freed before the next record (the engine's own code does). */
#endif
