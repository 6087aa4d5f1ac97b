/* This clone's instance id and the fleet's (identity.c). */
#ifndef CS_IDENTITY_H
#define CS_IDENTITY_H

#include "ctx.h"

/* ---- identity (identity.c) ---------------------------------------------- */
/* This clone's instance id (a UUID, in gitdir/coordsync/instance) into out;
 * with create, one is made when there is none (or the file is a copy's, at
 * another inode); without, out is "" then. */
int identity_instance(cs_ctx *ctx, char out[37], int create);
/* Record in heartbeat_instances (schema/005) the instance id of every
 * server's heartbeat as the mirror holds it now, noting changes, flips back
 * and this clone's own id replaced.  Inside the caller's transaction. */
int identity_note_instances(cs_ctx *ctx);

#endif
