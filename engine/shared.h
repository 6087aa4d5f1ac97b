/* A local remote shared like git shares it (shared.c). */
#ifndef CS_SHARED_H
#define CS_SHARED_H

#include "ctx.h"
#include "util.h"

/* ---- a local remote shared like git shares it (shared.c) -------------- */
/* core.sharedRepository of r as git reads it: 0 (umask: nothing to do),
 * 0660 (group), 0664 (all), or -MODE for an octal mode. */
int shared_mode(git_repository *r);
/* Give path, when this user owns it, the permissions git gives it in a
 * repository whose core.sharedRepository is shared (shared_mode): group
 * (or all) read and write, directories searchable and set-group-id.
 * Returns 0, or -1 with errno when chmod failed. */
int shared_fix(int shared, const char *path);
/* r's hooks directory (core.hooksPath, else hooks/) into out. */
void shared_hooks_dir(git_repository *r, char *out, size_t n);
/* Run hook name of r from dir, as git's receive-pack does: in r's git
 * directory with GIT_DIR=., input on its standard input, args after its
 * name, output (stdout and stderr, the first 4 KiB) into out.  *status is
 * -1 when there is no executable hook, else its exit status (128+signal).
 * A hook that has not finished within coordsync.timeout.total is killed:
 * CS_ERROR. */
int shared_hook_run(cs_ctx *ctx, git_repository *r, const char *dir, const char *name,
		const char *input, const char *const *args, sbuf *out, int *status);

#endif
