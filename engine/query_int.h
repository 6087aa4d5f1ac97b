/* The read-only connection of engine/query.c, shared with engine/report.c:
 * a row cursor whose statement runs on its own SQLITE_OPEN_READONLY
 * connection under a reads-only authorizer and a time bound. */
#ifndef CS_QUERY_INT_H
#define CS_QUERY_INT_H

#include <sqlite3.h>
#include "coordsync/coordsync.h"

/* *out: a cursor on a new read-only connection to ctx's mirror, with the
 * time bound set, no statement yet and no authorizer.  Free with
 * cs_rows_free. */
int query_open(cs_ctx *ctx, cs_rows **out);
sqlite3 *query_db(cs_rows *r);          /* the cursor's connection */
sqlite3_stmt *query_stmt(cs_rows *r);   /* its statement, NULL before query_prepare */
/* Install (on = 1) or remove the reads-only authorizer on r's connection. */
void query_lock_down(cs_rows *r, int on);
/* Prepare sql on db into *out, requiring exactly one statement that
 * sqlite3_stmt_readonly accepts; CS_EINVAL (message on ctx) otherwise.
 * The caller finalizes *out. */
int query_check(cs_ctx *ctx, sqlite3 *db, const char *sql, sqlite3_stmt **out);
/* query_check into the cursor's own statement. */
int query_prepare(cs_rows *r, const char *sql);
/* A cursor over sql, a fixed statement of the engine's own, prepared on
 * ctx's own (writable) connection: for what only that connection sees
 * (config.c's temp table).  Free with cs_rows_free. */
int query_fixed(cs_ctx *ctx, cs_rows **out, const char *sql);

#endif
