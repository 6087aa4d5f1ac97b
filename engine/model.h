/* How coordination files map to mirror tables (model.c). */
#ifndef CS_MODEL_H
#define CS_MODEL_H

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

extern const kind cs_kinds[];
#endif
