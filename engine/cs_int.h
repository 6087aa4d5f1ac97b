/* Internal declarations shared by the engine's modules. */
#ifndef CS_INT_H
#define CS_INT_H

#include <stdarg.h>
#include <stdio.h>
#include <sqlite3.h>
#include <git2.h>
#include "coordsync/coordsync.h"

/* The largest coordination file read, by default (coordsync.maxfilesize):
 * 100k jobs are about 28 MB. */
#define CS_MAX_BLOB ((long long)64 << 20)
#define CS_MAX_KV 32                /* --set pairs per command */

/* A change to a file that is not a mirrored record (logs, archives). */
typedef struct cs_tree_edit {
	char *path;
	git_oid blob;
	int remove;
} cs_tree_edit;

struct cs_ctx {
	char err[1024];
	git_repository *repo;
	git_remote *origin;  /* looked up once: each lookup leaks in libgit2 1.5 */
	git_repository *local;  /* origin, when it is a path on this machine */
	int local_checked;      /* ... and whether that was looked at yet */
	int local_shared;       /* its core.sharedRepository (gx_shared_mode) */
	char local_hooks[4096]; /* its hooks directory (gx_hooks_dir) */
	long import_rows;       /* rows written by imports so far */
	struct cs_text **texts; /* versions of files at hand (gx_text_get) */
	size_t ntexts;
	unsigned long text_tick;  /* ... and a clock of their use */
	sqlite3 *db;
	char *workdir;      /* the clone's working tree, with a trailing '/' */
	char *gitdir;       /* its .git directory, with a trailing '/' */
	char *dbpath;
	char *server;
	char *branch;       /* remote branch we coordinate on, e.g. "main" */
	int max_attempts;   /* decision retries */
	int retries;        /* refused pushes in the last decision */
	char pushed[GIT_OID_HEXSZ + 1];  /* the commit the last decision pushed, or "" */
	int lock_delay;     /* seconds an expired lock of another server stays taken */
	long long max_file; /* largest file read, in bytes (coordsync.maxfilesize) */
	int query_seconds;  /* bound on an ad-hoc query or report (coordsync.query.timeout) */
	int lockfd;         /* flock on gitdir/coordsync/lock, or -1 */
	int mirrorfd;       /* shared flock on DBPATH.lock while the mirror is open, or -1 */
	int in_txn;
	cs_tree_edit *edits;  /* queued by a decision, applied after its export */
	size_t nedits;
	git_tree *base;       /* during a decision: the remote tree it decides on */
	cs_notice_fn notice;  /* cs_set_notice */
	void *notice_arg;
	int cred_refused;     /* the remote refused our credentials: do not try again */
	cs_abort_fn abort_fn; /* cs_set_abort: asked before a decision pushes */
	void *abort_arg;
	int malformed;        /* SQLite said the mirror is malformed (cs_err_db) */
	char malformed_why[128];  /* ... and what it said */
	int accept_history;   /* cs_accept_history: import a head that is no descendant */
	int net_down;         /* a remote operation timed out: do not try again (net.c) */
	char net_down_msg[512];   /* ... and how */
};

/* ---- errors (util.c) ------------------------------------------------- */
int cs_err(cs_ctx *ctx, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int cs_err_git(cs_ctx *ctx, const char *what);   /* CS_ERROR, libgit2's text */
int cs_err_db(cs_ctx *ctx, sqlite3 *db);         /* CS_ERROR, sqlite's text */
int cs_err_oom(cs_ctx *ctx);
/* Tell the operator through the notice callback, if any. */
void cs_notice(cs_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- fault injection, a test hook (fault.c) ---------------------------- */
/* COORDSYNC_FAULT=STEP[:stop] kills (or stops) the process at STEP; see
 * docs/RELIABILITY.md.  cs_fault_init reads the variable once. */
extern int cs_fault_on;
void cs_fault_init(void);
int cs_fault_armed(const char *step);
void cs_fault_hit(const char *step);
#define CS_FAULT(step) do { if (cs_fault_on) cs_fault_hit(step); } while (0)

/* ---- growable buffer (util.c) ---------------------------------------- */
typedef struct sbuf {
	char *p;
	size_t n, cap;
	int oom;            /* set once an allocation failed; writes then no-op */
} sbuf;
void sb_put(sbuf *b, const char *s, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_putc(sbuf *b, char c);
void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *sb_detach(sbuf *b);   /* NUL-terminated; caller frees; NULL on oom */
void sb_free(sbuf *b);

/* ---- time (util.c) ---------------------------------------------------- */
double cs_now(void);                          /* wall clock, epoch seconds */
/* Times are epoch seconds within years 1 to 9999: anything else in a file
 * is refused rather than carried into casts and date arithmetic. */
#define CS_TIME_MIN -62135596800.0   /* 0001-01-01T00:00:00Z */
#define CS_TIME_MAX 253402300799.0   /* 9999-12-31T23:59:59Z */
int cs_time_parse(const char *s, double *out); /* ISO-8601; 0 ok, -1 bad */
void cs_time_iso(double t, char out[32]);     /* YYYY-MM-DDTHH:MM:SSZ */
char *cs_strdup(const char *s);
int cs_replace_file(const char *tmp, const char *path);   /* 0, or -1 and errno */
char *cs_uuid(void);                          /* new random uuid, caller frees */

/* ---- the boot clock and watches (clock.c, schema/007) -------------------- */
/* A reading of CLOCK_BOOTTIME (seconds, only moves forward, counts suspend)
 * and the boot it belongs to; id points to a static string. */
typedef struct cs_boot {
	double now;
	const char *id;
} cs_boot;
int cs_clock_boot(cs_ctx *ctx, cs_boot *out);
/* After an import, inside its transaction: start a watch (lock_seen, watch)
 * for every held lock, heartbeat and running claim whose state changed or
 * that was last watched in another boot; forget the ones that are gone. */
int cs_clock_note(cs_ctx *ctx);
/* Outside a transaction, when nothing new was imported: cs_clock_note in a
 * transaction of its own if some watch is from another boot (a reboot). */
int cs_clock_renote(cs_ctx *ctx);

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

/* ---- JSON text (json.c) ----------------------------------------------- */
/* A span of the source text: [start, end). */
typedef struct jspan { size_t start, end; } jspan;
typedef struct jmember {
	jspan key;          /* the key's string literal, quotes included; 0,0 in arrays */
	jspan val;
} jmember;
typedef struct jscan {
	jmember *m;
	size_t n, cap;
} jscan;
/* List the members of the object or array whose text starts at `at` (after
 * whitespace).  *end is set past its closing bracket.  On a syntax error
 * returns -1 and sets *err_at to the offending offset. */
int json_members(const char *s, size_t len, size_t at, int want, jscan *out,
		 size_t *end, size_t *err_at);
/* The same, appending to out, from `at`: just after the opening bracket
 * (first set) or just after a member.  Stops before a member that starts at
 * or after `stop`, returning 1 with *end at its start. */
int json_members_from(const char *s, size_t len, size_t at, int obj, int first, size_t stop,
		      jscan *out, size_t *end, size_t *err_at);
int jscan_push(jscan *sc, jspan key, jspan val);   /* -1 on oom */
/* Lengths of the common prefix *p and suffix *q of texts a and b; the two
 * never overlap in the shorter text. */
void text_common(const char *a, size_t alen, const char *b, size_t blen, size_t *p, size_t *q);
void jscan_free(jscan *sc);
/* Offset past whitespace at i; past the value at i (0 on error, *err set). */
size_t json_skip_ws(const char *s, size_t len, size_t i);
size_t json_skip_value(const char *s, size_t len, size_t i, size_t *err);
/* Offset of the first byte that is not valid UTF-8, or is a control
 * character inside a string or other than whitespace outside one, or starts
 * a \u0000 escape, or makes a number that JSON does not allow (a leading
 * zero, a point without a digit on each side); or len. */
size_t json_text_check(const char *s, size_t len);
/* Bump when json_text_check accepts less: a mirror remembers which version
 * of a file passed which version of the check, and checks only the bytes
 * that changed in the next version of a file that passed this one. */
#define JSON_TEXT_CHECK_VERSION 1
/* Line and column (1-based) of offset off. */
void json_linecol(const char *s, size_t off, int *line, int *col);
/* Append s as a JSON string literal, escaped as Python's json.dumps does
 * (ensure_ascii: non-ASCII as \uXXXX). */
void json_put_string(sbuf *b, const char *s);
void json_put_number(sbuf *b, double v);
/* Decode the string literal at span into a malloc'd UTF-8 string. */
char *json_string_value(const char *s, jspan sp);

/* ---- model (model.c) -------------------------------------------------- */
struct git_tree;
int model_import_tree(cs_ctx *ctx, git_tree *tree, cs_sync_stats *st, int force);
/* Import s[0, len) as the file at path (coordination/jobs.json, ..., or
 * SERVER/status.json), without git: the checks and the import a sync runs,
 * in a savepoint, so a file that fails leaves the rows as they were.  For
 * the fuzzers; CS_EINVAL for a path that is not a coordination file. */
int model_import_buffer(cs_ctx *ctx, const char *path, const char *s, size_t len);
/* Write every dirty record into new blobs on top of tree, giving *out. */
int model_export(cs_ctx *ctx, git_tree *base, git_oid *out_tree, int *changed);

/* orig (a JSON object's text) with members keys[i] set to the JSON texts
 * vals[i]: existing members are replaced in place, others appended in the
 * object's own layout; all other bytes are kept.  *out is malloc'd. */
int model_patch(cs_ctx *ctx, const char *orig, const char *const *keys, char *const *vals,
		int n, char **out);

/* The export's invariant for one record text of the file at path (its
 * kind: jobs.json, ..., status.json): 0, or CS_EREFUSED saying what the
 * importer would refuse.  key: a lock's name or a server's id. */
int model_check_record(cs_ctx *ctx, const char *path, const char *key, const char *text);
/* For the fuzzers, the value path without a repository: the payload text of
 * `status set STATUS --set kv...` (*out malloc'd; CS_EINVAL as the command),
 * and the text of status.json/heartbeat.json after a status or heartbeat
 * intent's payload is applied to cur (NULL: no file yet). */
int ops_status_payload(cs_ctx *ctx, const char *status, const char *const *kv, int n, char **out);
int ops_intent_text(cs_ctx *ctx, const char *payload, const char *cur, char **out);

/* A new record of table (jobs, locks, messages) from its text, typed as an
 * import types it, to be appended by the next export.  name is the lock's
 * name (the key of a locks.json member); NULL for the others. */
int model_add(cs_ctx *ctx, const char *table, const char *name, const char *text);
/* The text of a jobs.json- or messages.json-shaped file at path (s NULL:
 * the template) with n records appended in its layout.  *out is malloc'd. */
int model_append(cs_ctx *ctx, const char *path, const char *s, size_t len,
		 char *const *texts, size_t n, char **out);

/* ---- history (history.c) ------------------------------------------------ */
/* Record in the *_history tables every record change of the first-parent
 * commits up to head not processed yet; *rows counts the rows added. */
int history_update(cs_ctx *ctx, const git_oid *head, long *rows);

/* ---- time bounds on the network (net.c) --------------------------------- */
/* Make libgit2 open its connections (git://, http(s)://, ssh://) through
 * net.c's stream; after each git_libgit2_init. */
void gx_net_register(void);
/* Arm the bounds (coordsync.timeout.connect, .stall, .total) for one remote
 * operation, step ("fetch", "push", "clone"), and start its watchdog.
 * Every gx_net_begin that returns CS_OK is followed by one gx_net_end.
 * Fails at once when an operation of this ctx timed out before. */
int gx_net_begin(cs_ctx *ctx, const char *step);
/* End the operation.  When it failed (failed != 0) because a bound fired,
 * the error names step, url (as shown: no credentials) and the bound, and
 * CS_ERROR is returned; else CS_OK, and libgit2's error is the caller's. */
int gx_net_end(cs_ctx *ctx, const char *step, const char *url, int failed);
/* The setting coordsync.timeout.NAME in seconds ("connect", "stall",
 * "total"); CS_EINVAL naming the key when it is not a duration. */
int gx_net_bound(cs_ctx *ctx, const char *name, long long *out);

/* ---- a local remote shared like git shares it (shared.c) -------------- */
/* core.sharedRepository of r as git reads it: 0 (umask: nothing to do),
 * 0660 (group), 0664 (all), or -MODE for an octal mode. */
int gx_shared_mode(git_repository *r);
/* Give path, when this user owns it, the permissions git gives it in a
 * repository whose core.sharedRepository is shared (gx_shared_mode): group
 * (or all) read and write, directories searchable and set-group-id.
 * Returns 0, or -1 with errno when chmod failed. */
int gx_shared_fix(int shared, const char *path);
/* r's hooks directory (core.hooksPath, else hooks/) into out. */
void gx_hooks_dir(git_repository *r, char *out, size_t n);
/* Run hook name of r from dir, as git's receive-pack does: in r's git
 * directory with GIT_DIR=., input on its standard input, args after its
 * name, output (stdout and stderr, the first 4 KiB) into out.  *status is
 * -1 when there is no executable hook, else its exit status (128+signal).
 * A hook that has not finished within coordsync.timeout.total is killed:
 * CS_ERROR. */
int gx_hook_run(cs_ctx *ctx, git_repository *r, const char *dir, const char *name,
		const char *input, const char *const *args, sbuf *out, int *status);

/* ---- git (git.c) ------------------------------------------------------ */
#define CS_ERETRY -100   /* internal: the push was refused, decide again */
#define CS_ETOOBIG -101  /* internal: a file is over ctx->max_file */

void gx_init(void);   /* git_libgit2_init, the CA bundle left for gx_tls_ready */
/* The clone's remote 'origin' (owned by ctx). */
int gx_origin(cs_ctx *ctx, git_remote **out);
/* Clone url into dir, answering credential requests with auth (NULL, or a
 * NULL member: the coordsync.remote.* setting, from the environment).  A
 * URL that holds a password is refused. */
int gx_clone(cs_ctx *ctx, const char *url, const char *dir, const cs_remote_auth *auth);
/* "scheme://host[:port]" of a remote URL, without user or password, into
 * out: the only part of it put in a message.  Returns 1 when url is plain
 * http to a host that is not a loopback address. */
int gx_url_origin(const char *url, char *out, size_t len);
/* Fetch origin; *head is the remote branch's commit, or *empty is set. */
int gx_fetch(cs_ctx *ctx, git_oid *head, int *empty);
/* The tree of base (NULL: empty tree) with path set to blob; *out is its id. */
int gx_tree_put(cs_ctx *ctx, git_tree *base, const char *path, const git_oid *blob,
		git_oid *out);
/* The tree of base without path (and without directories left empty). */
int gx_tree_remove(cs_ctx *ctx, git_tree *base, const char *path, git_oid *out);
/* Commit tree on parent (NULL: a root commit), authored by the server, and
 * push it as a compare-and-swap: the remote branch must still be parent.
 * Returns CS_ERETRY when another server moved it first. */
int gx_commit_push(cs_ctx *ctx, const git_oid *tree, const git_oid *parent,
		   const char *msg, git_oid *commit);
/* Look up blob id, the file at path, refusing it from the object's header,
 * before anything is read or inflated, when it is over ctx->max_file:
 * CS_ETOOBIG with a message naming path, its size and the limit.  *out
 * belongs to the caller (git_blob_free). */
int gx_blob_lookup(cs_ctx *ctx, git_blob **out, const git_oid *id, const char *path);
/* Point the local branch and working tree at head (a safe checkout).  A
 * journal (gitdir/coordsync/checkout) names every file it is about to
 * write, with its old and new blob, until the branch is moved; an update
 * that finds one first brings coordsync's own interrupted writes back to
 * the local branch (HEAD), keeping hand edits.  A damaged index is set
 * aside and rebuilt from HEAD, with a notice. */
int gx_update_local(cs_ctx *ctx, const git_oid *head);
/* 1 when an earlier working-tree update was interrupted (its journal is
 * there): the next sync repairs it even when the branch is at the head. */
int gx_checkout_pending(cs_ctx *ctx);
/* Write repo's new loose objects at zlib's fastest level. */
int gx_fast_writes(cs_ctx *ctx, git_repository *repo);
/* Remove the lock files in the clone's git directory (HEAD, FETCH_HEAD,
 * packed-refs, config, any ref under refs/) that a coordsync or git killed
 * while it wrote them left behind; to be called with the clone's lock held.
 * A lock some process on this machine has open is left alone; one younger
 * than coordsync.stalelock only once it stayed unchanged for two seconds;
 * none with coordsync.stalelock 0.  Each removal or refusal is a notice. */
void gx_clone_locks_clear(cs_ctx *ctx);
int gx_turn_begin(cs_ctx *ctx);   /* -1: no turn taken */
void gx_turn_end(int fd);
/* One version of a coordination file, read once per process and shared by
 * the import, the export, the history walk and the working tree update,
 * with what they learnt about it.  Held versions are counted (refs). */
#define TEXT_LISTED 1   /* sc and top list its records (history's scan) */
#define TEXT_STRICT 2   /* ... and the import's scan (scan_file) accepted it */
typedef struct cs_text {
	git_oid id;
	char *path;          /* the file it was read or written as */
	const char *p;       /* its bytes */
	size_t n;
	git_blob *obj;       /* holds p, for a version read from git */
	char *copy;          /* holds p, for a blob this process wrote */
	int refs;
	int written;         /* written by the current decision: kept until gx_texts_clear */
	unsigned long used;  /* when it was last handed out */
	int checked;         /* passed the import's text check, whole */
	int scan;            /* 0, TEXT_LISTED or TEXT_STRICT */
	jscan sc;            /* a shared file's records */
	jspan top;           /* ... and their container, bracket to bracket */
} cs_text;
/* The version id of the shared file path, read through gx_blob_lookup
 * (CS_ETOOBIG over the limit) unless at hand.  Held by the caller until
 * gx_text_release; per path, at most two unheld versions read from git
 * stay.  Entries are per blob and path: a listing is of one kind of file. */
int gx_text_get(cs_ctx *ctx, cs_text **out, const git_oid *id, const char *path);
/* Blob id, held, when it is at hand (written, or read by gx_text_get); else
 * NULL, and nothing is read. */
cs_text *gx_text_hold(cs_ctx *ctx, const git_oid *id);
void gx_text_release(cs_ctx *ctx, cs_text *t);   /* NULL-safe */
/* Write a blob and keep its bytes until gx_texts_clear: the history walk
 * and the working tree update read them back without inflating. */
int gx_blob_write(cs_ctx *ctx, const char *path, const char *data, size_t len, git_oid *out);
/* The bytes of blob id when at hand (written, or read by gx_text_get), or
 * NULL; valid until the next gx_text_* or gx_texts_* call. */
const char *gx_blob_text(cs_ctx *ctx, const git_oid *id, size_t *len);
void gx_texts_clear(cs_ctx *ctx);   /* drops the blobs the decision wrote */
/* Drops everything: at the end of a sync, a decision or a rebuild, so that a
 * long-running process does not keep big files between them; with gx_keep
 * on, versions of up to 8 MiB go to a process-wide keeper instead, where the
 * next handle finds them. */
void gx_texts_free(cs_ctx *ctx);
void gx_keep(int on);   /* off frees what is kept */
/* Path of origin when it is a local repository, else NULL; caller frees. */
char *gx_local_path(const char *url);

/* ---- secret files (health.c) ------------------------------------------- */
/* The one token in path, a regular file of this user with mode 0600 or
 * stricter; errors name the file, never its content.  The caller wipes
 * (explicit_bzero) and frees *out. */
int cs_token_read(cs_ctx *ctx, const char *path, char **out);
/* 1 when the n bytes of host name a loopback address (localhost, 127.x.y.z,
 * [::1]), where a secret may go over plain http. */
int cs_host_loopback(const char *host, size_t n);
/* CS_OK when path is a regular file of this user with mode 0600 or
 * stricter; else CS_EINVAL with a message naming it as what ("ssh key"). */
int cs_secret_check(cs_ctx *ctx, const char *what, const char *path);

/* ---- identity (identity.c) ---------------------------------------------- */
/* This clone's instance id (a UUID, in gitdir/coordsync/instance) into out;
 * with create, one is made when there is none (or the file is a copy's, at
 * another inode); without, out is "" then. */
int cs_instance(cs_ctx *ctx, char out[37], int create);
/* Record in heartbeat_instances (schema/005) the instance id of every
 * server's heartbeat as the mirror holds it now, noting changes, flips back
 * and this clone's own id replaced.  Inside the caller's transaction. */
int cs_note_instances(cs_ctx *ctx);

/* ---- decisions (sync.c) ------------------------------------------------ */
/* A decision: SQL changes made inside the decision transaction, over a
 * freshly imported mirror.  It marks records dirty and writes the commit
 * message into msg.  Returns CS_OK, or a code that aborts the decision. */
typedef int (*cs_decide_fn)(cs_ctx *ctx, void *arg, sbuf *msg);
int cs_decide(cs_ctx *ctx, cs_decide_fn fn, void *arg);
/* From inside a decision: the text of path in the tree being decided on
 * (*out malloc'd and NUL-terminated, NULL when the file is absent). */
int cs_base_read(cs_ctx *ctx, const char *path, char **out, size_t *len);
/* From inside a decision: write data at path, or remove path, in the
 * decision's commit.  Cleared before every attempt. */
int cs_edit_put(cs_ctx *ctx, const char *path, const char *data, size_t len);
int cs_edit_remove(cs_ctx *ctx, const char *path);
/* Push the outbox's intents in one commit; *delivered counts them.  One
 * that fails to apply is set aside with its error (a notice says so) and
 * the others still go out. */
int cs_outbox_flush(cs_ctx *ctx, int *delivered);

/* ---- the outbox file (outbox.c) ------------------------------------------ */
/* One pending intent, as the flush handles it. */
typedef struct ob_intent {
	long long seq;
	char *kind, *payload;
	int state;          /* 0 not applied, 1 applied (delete it), -1 set it aside */
	char *error;        /* state -1: why */
} ob_intent;
/* Queue an intent; never waits for a decision or a rebuild. */
int ob_add(cs_ctx *ctx, const char *kind, const char *payload);
/* The intents to flush, oldest first: those not set aside (intents left in
 * the mirror by a previous version moved in first), counted as taken by a
 * flush; after process deaths, fewer (outbox.c).  Free with ob_free. */
int ob_pending(cs_ctx *ctx, ob_intent **out, int *n);
/* After the flush's decision: delete the applied ones (state 1), set aside
 * the failed ones (-1), and note that the flush came back from all. */
int ob_settle(cs_ctx *ctx, ob_intent *it, int n);
void ob_free(ob_intent *it, int n);
/* Take the clone's process lock (flock), waiting a bounded time. */
int cs_lock_clone(cs_ctx *ctx);

#endif
