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
/* One typed bind of db_run: name (":name") and its value, made by DB_TEXT
 * (NULL binds NULL), DB_INT or DB_REAL so that the compiler checks the
 * value's type.  The text is copied when bound. */
typedef struct db_bind {
	const char *name;
	enum { DB_BIND_TEXT, DB_BIND_INT, DB_BIND_REAL } type;
	const char *t;
	long long i;
	double r;
} db_bind;
#define DB_TEXT(name, v) ((db_bind){(name), DB_BIND_TEXT, (v), 0, 0})
#define DB_INT(name, v) ((db_bind){(name), DB_BIND_INT, NULL, (v), 0})
#define DB_REAL(name, v) ((db_bind){(name), DB_BIND_REAL, NULL, 0, (v)})
/* Prepare sql, bind b[0, n) by name (an unknown name is an error), step it
 * once and finalize it.  Returns the number of rows a writing statement
 * changed, 1 or 0 for whether a reading one gave a row, or a negative
 * code with the message set. */
int db_run_binds(cs_ctx *ctx, const char *sql, const db_bind *b, int n);
/* db_run_binds with the binds as arguments: DB_RUN(ctx, sql, DB_TEXT(":s",
 * s), DB_REAL(":t", t)). */
#define DB_RUN(ctx, sql, ...)                                                   \
	db_run_binds((ctx), (sql), (const db_bind[]){__VA_ARGS__},              \
		     (int)(sizeof((const db_bind[]){__VA_ARGS__}) / sizeof(db_bind)))
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
