/*
 * coordsync/query.h: reading the mirror.  A query (one read-only SQL
 * statement) or a named list of queries/ gives a cs_rows, read row by row
 * with cs_rows_next and the column accessors, and freed with cs_rows_free.
 * The conventions of coordsync/common.h hold here.
 *
 * Lifetimes, as SQLite's own (these are its statements):
 * - a cs_rows is the caller's until cs_rows_free, which comes before
 *   cs_close of its handle (the rows report their errors on the handle);
 * - a cs_rows of cs_query, cs_list and the reports (coordsync/report.h)
 *   reads a read-only connection of its own, opened by the call: it sees
 *   the mirror as it was at its first row, and the handle may make other
 *   calls (decisions, syncs) while it is open, on the same thread, except
 *   one that replaces the mirror's file (cs_rebuild, cs_accept_history,
 *   cs_mirror_repair, and cs_sync when it finds the mirror malformed): a
 *   connection still open on the old file must not meet the new one;
 * - the text of a column (cs_rows_text) is valid until the next
 *   cs_rows_next or cs_rows_free on those rows; a column's name
 *   (cs_rows_name) until cs_rows_free, or the next cs_rows_name of the same
 *   column.
 * Threads: a cs_rows is used on the thread that uses its handle, as the
 * handle is.
 */
#ifndef COORDSYNC_QUERY_H
#define COORDSYNC_QUERY_H

#include "coordsync/common.h"

/* The type of a column's value in the current row (cs_rows_type). */
#define CS_NULL 0
#define CS_INT  1
#define CS_REAL 2
#define CS_TEXT 3

/* Run one read-only statement on a separate read-only connection.  Writes,
 * ATTACH and PRAGMA changes are refused with CS_EINVAL; time is bounded.
 * *out: the rows, or NULL on failure. */
int cs_query(cs_ctx *ctx, cs_rows **out, const char *sql);
/* cs_query with bound parameters, so that no value is ever written into
 * SQL text.  params: NULL, or pairs name, value ending in NULL (read during
 * the call only).  A name is bound to the statement's :name, $name and
 * @name (a leading ':', '$' or '@' in name is dropped), or to ?N when it
 * is the number N.  A value that is an integer written plainly (-12, 0;
 * no '+', no leading zero) binds as an integer, a decimal number with a
 * '.' or an exponent (1.5, -2e3) as a real, anything else as text.
 * CS_EINVAL for a name the statement does not use, a name given twice, and
 * a parameter of the statement that no pair gives (never a silent NULL). */
int cs_query_params(cs_ctx *ctx, cs_rows **out, const char *sql, const char *const *params);
/* The seconds a query or report may run (coordsync.query.timeout). */
int cs_query_timeout(const cs_ctx *ctx);

/* The rows of list name, a view of queries/ (queries/NAME.sql: lock_list,
 * job_list, msg_inbox...), on a separate read-only connection as cs_query.
 * filters: NULL, or pairs column, value ending in NULL: only the rows whose
 * column equals the value (bound as text; read during the call only).
 * Columns whose name starts with '_' filter but are not shown.  CS_EINVAL
 * for a name that is no view of queries/ or a column the view lacks.  *out
 * as for cs_query. */
int cs_list(cs_ctx *ctx, cs_rows **out, const char *name, const char *const *filters);

/* 1 and a row, 0 at the end, or a negative code (message on the handle the
 * rows came from).  A query that runs past cs_query_timeout stops with
 * CS_ERROR. */
int cs_rows_next(cs_rows *rows);
int cs_rows_columns(cs_rows *rows);
/* The rows' strings: see "Lifetimes" above. */
const char *cs_rows_name(cs_rows *rows, int col);
int cs_rows_type(cs_rows *rows, int col);          /* CS_NULL .. CS_TEXT */
const char *cs_rows_text(cs_rows *rows, int col);  /* NULL for NULL */
/* Finish the statement and close its connection.  NULL-safe. */
void cs_rows_free(cs_rows *rows);

#endif
