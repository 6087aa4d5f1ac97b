/* The record kinds (kinds.c): how coordination files map to mirror tables,
 * the schema as data; and a record's values, the checks that import and
 * export share. */
#ifndef CS_KINDS_H
#define CS_KINDS_H
#include "ctx.h"
#include "util.h"
#include "json.h"
#include "json_int.h"

enum { F_TEXT, F_INT, F_BOOL, F_ISO, F_EPOCH, F_JSON };

/* dirty = 2: the next export takes the record out of its file. */
#define DIRTY_REMOVE 2

/* A JSON member that has a column of its own. */
typedef struct field {
	const char *key;    /* name in the JSON record */
	const char *col;    /* column in the table */
	int type;           /* F_*: how it is read and written */
} field;

/* A kind of record and the file it lives in. */
typedef struct kind {
	const char *path;      /* shared: repository path; per server: file name */
	const char *top;       /* shared: the member holding the records; else NULL */
	int container;         /* '[' or '{' (records keyed by member name) */
	const char *table;
	const char *key_col;
	const char *key_json;  /* field holding the key, NULL when it is the member name */
	const char *json_col;  /* column with the record's text */
	const char *dirty_col;
	const char *noun;      /* for messages: "job", "lock", ... */
	const field *fields;
} kind;

extern const kind kinds_table[];

/* 1 when e, an entry at the top of a commit's tree, is a server's directory:
 * a tree named by a valid server id (cs_valid_server_id: coordination/,
 * docs/, all/ ... are none). */
int kinds_server_dir(const git_tree_entry *e);

/* ---- a record's values ---------------------------------------------------- */
/* A record is imported in two steps: kinds_record_parse reads its text into
 * the values the INSERT binds, kinds_row_insert binds and steps them. */

/* One value to bind: the record's key, then one per field. */
typedef struct rval {
	int type;            /* SQLITE_NULL, SQLITE_INTEGER, SQLITE_FLOAT or SQLITE_TEXT */
	long long i;
	double d;
	size_t off, len;     /* text: bytes [off, off + len) of the batch's strings */
} rval;

/* The key and the fields of the largest kind; the fields arrays count
 * their terminator, which stands for the key here. */
#define ROW_VALUES 16

typedef struct row {
	rval v[ROW_VALUES];
	jspan sp;            /* the record's text */
	long ord;
} row;

/* Up to cap parsed records, their text values in str (not NUL-separated),
 * and what stopped the parse at the record after the n-th: failed is 1 for
 * an error in the file (err, at offset err_at), 2 when out of memory. */
typedef struct batch {
	row *rows;
	size_t n, cap;
	sbuf str;
	int failed;
	size_t err_at;
	char err[512];
} batch;

/* The import's text check of s[from, to): no NUL byte, json_text_check.
 * kinds_check_run finds the first bad byte (it touches nothing else, so it
 * can run on a second thread), kinds_text_verdict reports it: the error
 * names path, with the line and column of the offending byte. */
typedef struct text_job {
	const char *s;
	size_t from, to;
	int nul;            /* the text holds a NUL byte */
	size_t bad;         /* else the first byte json_text_check refuses, or to */
} text_job;

/* A time from JSON: epoch seconds or an ISO-8601 string.  0 or -1. */
int kinds_time_value(const cJSON *v, double *out);

/* Set an error "PATH:LINE:COL: what" for offset off of text s; returns
 * CS_ERROR. */
int kinds_file_err(cs_ctx *ctx, const char *path, const char *s, size_t off,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* b ran out of memory (failed = 2); returns -1. */
int kinds_batch_oom(batch *b);
/* Empty b for the next records (its rows and strings are reused). */
void kinds_batch_clear(batch *b);
/* The error that stopped b's parse (b->failed set), on ctx, naming path
 * with the line and column in s; returns the code. */
int kinds_batch_err(cs_ctx *ctx, const char *path, const char *s, const batch *b);

/* The statement that inserts one row of kind k (an upsert into servers for
 * a per-server kind); kinds_row_insert binds it.  *st is the caller's. */
int kinds_prepare_insert(cs_ctx *ctx, const kind *k, sqlite3_stmt **st);
/* Parse and check the record s[sp.start, sp.end) of kind k into row b->n of
 * b (b->n < b->cap), to be inserted at position ord.  keytext is the key
 * when it is a member name (locks) or a directory (servers), else NULL and
 * read from the record.  0, or -1 with b->failed set (1: the record's
 * error in b->err at b->err_at; 2: out of memory).  Uses no handle and no
 * SQLite: safe on any one thread at a time. */
int kinds_record_parse(const kind *k, const char *s, jspan sp, const char *keytext, long ord,
		       batch *b);
/* Insert row r of b, a record of s (the file at path), with st from
 * kinds_prepare_insert.  A duplicate key is an error naming path. */
int kinds_row_insert(cs_ctx *ctx, const kind *k, const char *path, sqlite3_stmt *st,
		     const char *s, const batch *b, const row *r);
/* kinds_record_parse and kinds_row_insert of one record, errors on ctx. */
int kinds_import_record(cs_ctx *ctx, const kind *k, const char *path, sqlite3_stmt *st,
			const char *s, jspan sp, const char *keytext, long ord);
/* Scan s[0, len), a shared file of kind k: the top level must be an object
 * holding member k->top (every other member's value is parsed too).  Its
 * records are listed into *sc (the caller's: jscan_free), *top is the span
 * of k->top's value.  Errors name k->path with line and column. */
int kinds_scan_file(cs_ctx *ctx, const kind *k, const char *s, size_t len, jspan *top,
		    jscan *sc);
/* The text check of job j (a text_job *): fills in nul and bad, touching
 * nothing else (a pthread start routine).  Returns NULL. */
void *kinds_check_run(void *arg);
/* The error for a finished text check j, naming path, or CS_OK. */
int kinds_text_verdict(cs_ctx *ctx, const char *path, const text_job *j);
/* kinds_check_run and kinds_text_verdict of s[from, to). */
int kinds_text_check(cs_ctx *ctx, const char *path, const char *s, size_t from, size_t to);

/* Record in the mirror's files table that path is at blob (a hex id; NULL:
 * keep the last good one), or failed with error (NULL: it imported), the
 * failing version being bad_blob (NULL: none to remember). */
int kinds_file_row(cs_ctx *ctx, const char *path, const char *blob, const char *error,
		   const char *bad_blob);

#endif
