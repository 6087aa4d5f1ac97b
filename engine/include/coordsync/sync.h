/*
 * coordsync/sync.h: the mirror and the remote.  Fetch and import (cs_sync),
 * recreate the mirror from the repository (cs_rebuild), repair a malformed
 * one, and accept a remote whose history was rewritten.  The conventions of
 * coordsync/common.h hold here.
 *
 * Each call takes the clone's lock (waiting up to a minute; CS_EBUSY) and
 * holds it until cs_close, and fetches or pushes.  Statistics are filled
 * into the caller's struct; it holds no pointer.
 *
 * Threads: a handle is one thread's at a time, and two calls that transfer
 * with a remote (these do) must not run at once on two threads of a
 * process (coordsync/common.h).
 */
#ifndef COORDSYNC_SYNC_H
#define COORDSYNC_SYNC_H

#include "coordsync/common.h"

typedef struct cs_sync_stats {
	int files_imported;     /* files whose blob changed and imported */
	long records_imported;  /* rows those imports wrote: all of a file read
				 * whole, only the changed ones otherwise */
	int files_failed;       /* files that did not parse; see cs_errmsg */
	int intents_pushed;     /* deferred intents delivered */
	int pushed;             /* 1 when a commit was pushed */
	int retries;            /* refused pushes retried */
	long history_rows;      /* history rows added */
	char head[41];          /* remote head after the sync ("" if empty) */
} cs_sync_stats;

/* Fetch, import the files whose blob changed, push deferred intents. */
int cs_sync(cs_ctx *ctx, cs_sync_stats *stats);

/* Recreate the mirror from the repository, keeping the outbox.  A mirror
 * that SQLite finds malformed (here or in cs_sync) is first set aside as
 * DBPATH.malformed-TIME-PID, and the local-only tables that can still be
 * read are carried over; a notice says what could not be. */
int cs_rebuild(cs_ctx *ctx, cs_sync_stats *stats);

/* 1 when cs_open (or a later statement) found the mirror malformed
 * (SQLITE_CORRUPT, SQLITE_NOTADB).  After a cs_open that failed so, the
 * handle may still be given to cs_sync, cs_rebuild, cs_accept_history or
 * cs_mirror_repair, which set the mirror aside and open a new one; any
 * other call needs a handle that opened. */
int cs_mirror_malformed(const cs_ctx *ctx);
/* Set a malformed mirror aside and open a new, empty one (with what could
 * be salvaged: deferred intents, fences, lock watches, alerts), which the
 * next sync fills from git.  CS_OK when the mirror is not malformed. */
int cs_mirror_repair(cs_ctx *ctx);

/* A sync refuses (CS_ERROR) to import or decide on a remote head that does
 * not descend from the last head this clone imported, or when the remote
 * branch is gone.  Accept the remote's new history: rebuild the mirror
 * from it (keeping the outbox, the fence memory, lock watches and alerts)
 * and move the clone's branch to it.  CS_ERROR when the branch is gone. */
int cs_accept_history(cs_ctx *ctx, cs_sync_stats *stats);

#endif
