/* The handle: opening and closing a clone, and the locks it holds (handle.c). */
#ifndef CS_HANDLE_H
#define CS_HANDLE_H

#include "ctx.h"

/* ---- the handle (handle.c) --------------------------------------------- */
/* A new handle with the defaults, no clone open yet (open_clone and init
 * fill it in), libgit2 initialised for it; NULL when out of memory.  Freed
 * with cs_close. */
cs_ctx *handle_new(void);
/* a followed by b, malloc'd (the caller frees it); NULL when out of memory. */
char *handle_join(const char *a, const char *b);
/* Take the flock on DBPATH.lock with op (LOCK_SH or LOCK_EX), trying for up
 * to wait_ms: CS_OK, CS_EBUSY (no message) when another process held it all
 * along, or CS_ERROR.  A handle holds it shared from before it opens the
 * mirror until cs_close; a rebuild swaps the mirror's file only under an
 * exclusive one.  A conversion that fails leaves the handle with no lock. */
int handle_mirror_lock(cs_ctx *ctx, int op, int wait_ms);
/* The next number of the handle's own generator (seeded when the handle was
 * made, never shared with another handle); for jitter, not for secrets. */
unsigned handle_random(cs_ctx *ctx);
/* Take the clone's process lock (flock on gitdir/coordsync/lock), waiting
 * up to a minute; held until cs_close.  CS_EBUSY when another process kept
 * it. */
int handle_lock_clone(cs_ctx *ctx);
/* Drop the edits a decision queued (decide_edit_put, decide_edit_remove) and the
 * blobs it wrote (texts_clear). */
void handle_edits_clear(cs_ctx *ctx);

#endif
