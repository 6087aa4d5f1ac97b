/* Status, heartbeat and messages: the commands, direct or deferred
 * (msgs.c). */
#ifndef CS_MSGS_H
#define CS_MSGS_H

#include "ctx.h"
#include "util.h"

/* The decision (a decide_fn) that marks message p (its id, a const
 * char *) read by this server: its read flag when it is for this server,
 * read_by when it is for all.  CS_ENOTFOUND for no such message,
 * CS_EREFUSED for a message to another server.  auto-reply runs it inside
 * its own decision. */
int msgs_read_fn(cs_ctx *ctx, void *p, sbuf *msg);

#endif
