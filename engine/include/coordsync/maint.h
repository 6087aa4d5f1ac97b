/*
 * coordsync/maint.h: upkeep of the repository: archiving old records
 * (cs_compact) and pushing rotated log files (cs_logs_push).  The
 * conventions of coordsync/common.h hold here.
 *
 * Each call is a decision as coordsync/jobs.h describes one: a transaction,
 * one commit and one push, under the clone's lock.
 *
 * Threads: a handle is one thread's at a time, and two calls that transfer
 * with a remote (these do) must not run at once on two threads of a
 * process (coordsync/common.h).
 */
#ifndef COORDSYNC_MAINT_H
#define COORDSYNC_MAINT_H

#include "coordsync/common.h"

/* Move done, failed and cancelled jobs and read messages that finished
 * more than older_than seconds ago into
 * coordination/archive/YYYY-MM/{jobs,messages}.json in one commit.  The
 * mirror's history keeps every record.  *jobs and *messages count what
 * moved. */
int cs_compact(cs_ctx *ctx, long long older_than, int *jobs, int *messages);

typedef struct cs_logs_opts {
	int keep_files;          /* newest files kept per server */
	long long keep_bytes;    /* bytes kept per server */
	long long max_file;      /* larger files are refused */
} cs_logs_opts;
/* Put files (n paths, read during the call) into <server>/logs/ in one
 * commit, then rotate: by name, newest (greatest) first, keep what fits
 * keep_files and keep_bytes; the files pushed are always kept.  *removed
 * counts rotated-out files. */
int cs_logs_push(cs_ctx *ctx, const char *const *files, int n, const cs_logs_opts *o,
		 int *removed);

/* The files of server's logs/ directory (NULL: this server's) in the tree
 * the mirror last imported (run cs_sync first for the remote's newest), as
 * rows: name, size (bytes) and time (ISO-8601 UTC: the commit time of the
 * newest first-parent commit that wrote this content; NULL when that is
 * more than 10,000 commits back).  Reads only; no lock, no network. */
int cs_logs_list(cs_ctx *ctx, cs_rows **out, const char *server);
/* The bytes of SERVER/logs/NAME in that tree, malloc'd into *data (free()
 * it; NUL-terminated beyond *len).  CS_ENOTFOUND when there is no such
 * file. */
int cs_logs_get(cs_ctx *ctx, char **data, size_t *len, const char *server, const char *name);

#endif
