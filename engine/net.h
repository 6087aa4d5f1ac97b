/* Time bounds on the network (net.c). */
#ifndef CS_NET_H
#define CS_NET_H

#include "ctx.h"

/* ---- time bounds on the network (net.c) --------------------------------- */
/* Make libgit2 open its connections (git://, http(s)://, ssh://) through
 * net.c's stream; after each git_libgit2_init. */
void net_register(void);
/* Arm the bounds (coordsync.timeout.connect, .stall, .total) for one remote
 * operation, step ("fetch", "push", "clone"), and start its watchdog.
 * Every net_begin that returns CS_OK is followed by one net_end.
 * Fails at once when an operation of this ctx timed out before. */
int net_begin(cs_ctx *ctx, const char *step);
/* End the operation.  When it failed (failed != 0) because a bound fired,
 * the error names step, url (as shown: no credentials) and the bound, and
 * CS_ERROR is returned; else CS_OK, and libgit2's error is the caller's. */
int net_end(cs_ctx *ctx, const char *step, const char *url, int failed);
/* The setting coordsync.timeout.NAME in seconds ("connect", "stall",
 * "total"); CS_EINVAL naming the key when it is not a duration. */
int net_bound(cs_ctx *ctx, const char *name, long long *out);

#endif
