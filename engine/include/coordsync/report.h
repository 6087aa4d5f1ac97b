/*
 * coordsync/report.h: reports.  A report is a view: a built-in one
 * (queries/NAME.sql, embedded), or a user's NAME.sql (a single SELECT) in a
 * directory of user views, created as a TEMP view on the read-only
 * connection.  Filters follow column names: --since applies to a column
 * named time (ISO text or epoch seconds: rows at or after it), else hour or
 * day (buckets that end after it); --server to a column named server.  See
 * docs/REPORTS.md.  The conventions of coordsync/common.h hold here.
 *
 * Lifetimes: the rows are read and freed as coordsync/query.h says of
 * cs_query's (a read-only connection of their own, cs_rows_free before
 * cs_close); opts is read during the call only.
 *
 * Threads: a handle is one thread's at a time (coordsync/common.h).
 */
#ifndef COORDSYNC_REPORT_H
#define COORDSYNC_REPORT_H

#include "coordsync/common.h"

typedef struct cs_report_opts {
	const char *since;    /* ISO-8601, epoch seconds, or "30m", "24h", "7d", "2w" ago */
	const char *server;   /* only rows whose server column equals this */
	const char *queries;  /* user views (default: git config coordsync.queries,
				 relative to the clone) */
} cs_report_opts;

/* Every report, sorted by name: columns name, description (the first
 * "-- NAME: ..." comment line of its file) and source ("builtin" or the
 * user file's path).  opts may be NULL.  *out: the rows, or NULL on
 * failure. */
int cs_report_list(cs_ctx *ctx, cs_rows **out, const cs_report_opts *opts);

/* The rows of report name, filtered by opts (may be NULL), on the
 * read-only connection.  CS_ENOTFOUND for an unknown report; CS_EINVAL for
 * a bad name or time, a filter the report has no column for, or a user view
 * that is not one read-only SELECT.  *out as for cs_report_list. */
int cs_report(cs_ctx *ctx, cs_rows **out, const char *name, const cs_report_opts *opts);

#endif
