/* SQLite helpers on the handle's connection (db.c). */
#ifndef CS_DB_H
#define CS_DB_H

#include "ctx.h"

/* ---- SQLite helpers (db.c) -------------------------------------------- */
#define DB_CREATE 1
#define DB_BULK 2     /* no journal: for a new file renamed into place when done */
int db_open(cs_ctx *ctx, const char *path, int how);
int db_exec(cs_ctx *ctx, const char *sql);
int db_prepare(cs_ctx *ctx, sqlite3_stmt **out, const char *sql);
/* Bind by name (":name"); an unknown name is an error. */
int db_bind_text(cs_ctx *ctx, sqlite3_stmt *st, const char *name, const char *v);
int db_bind_int(cs_ctx *ctx, sqlite3_stmt *st, const char *name, long long v);
int db_bind_real(cs_ctx *ctx, sqlite3_stmt *st, const char *name, double v);
int db_bind_null(cs_ctx *ctx, sqlite3_stmt *st, const char *name);
/* SQLITE_ROW, SQLITE_DONE, or CS_ERROR with the message set. */
int db_step(cs_ctx *ctx, sqlite3_stmt *st);
/* One-shot: the first column of the first row as text (caller frees) or
 * integer; the statement may have one ":a" text parameter. */
int db_text(cs_ctx *ctx, char **out, const char *sql, const char *a);
int db_int(cs_ctx *ctx, long long *out, const char *sql, const char *a);
int db_meta_set(cs_ctx *ctx, const char *key, const char *value);
/* A bulk load drops a table's indexes and builds them once at the end: one
 * sorted build beats many random inserts.  The DDL comes from the schema. */
typedef struct db_indexes {
	char **sql;
	int n;
} db_indexes;
int db_indexes_drop(cs_ctx *ctx, const char *table, db_indexes *ix);  /* appends to ix */
int db_indexes_create(cs_ctx *ctx, db_indexes *ix);
void db_indexes_free(db_indexes *ix);
int db_begin(cs_ctx *ctx);
int db_commit(cs_ctx *ctx);
void db_rollback(cs_ctx *ctx);

#endif
