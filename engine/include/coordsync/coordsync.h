/*
 * coordsync: a SQLite mirror of a git repository of JSON coordination files.
 *
 * Every function returns CS_OK (0) or a negative CS_E* code and leaves a
 * message on the handle (cs_errmsg).  Objects handed back through an out
 * parameter belong to the caller, who frees them with the matching _free;
 * strings handed back are freed with free().  Nothing here prints or exits.
 */
#ifndef COORDSYNC_H
#define COORDSYNC_H

#include <stddef.h>
#include "coordsync/tls.h"

#define CS_OK        0
#define CS_ERROR    -1   /* operational failure: git, sqlite, I/O, bad file */
#define CS_EINVAL   -2   /* invalid input from the caller */
#define CS_EREFUSED -3   /* a decision was refused: lock held, nothing queued */
#define CS_ENOTFOUND -4  /* no such job, lock or message */

typedef struct cs_ctx cs_ctx;
typedef struct cs_rows cs_rows;

/* Where things are; NULL members take the defaults. */
typedef struct cs_opts {
	const char *dir;      /* a directory inside the clone (default ".") */
	const char *server;   /* overrides coordsync.server from git config */
	const char *db;       /* overrides DIR/.git/coordsync/mirror.db */
} cs_opts;

/* ---- handles --------------------------------------------------------- */

/* Open the clone containing opts->dir and its mirror, applying migrations.
 * *out is set even on failure (so the message can be read); close it. */
int cs_open(cs_ctx **out, const cs_opts *opts);

/* cs_open, except that an invalid setting or a reserved server id does not
 * stop it (cs_open refuses them with CS_EINVAL): for `coordsync config`,
 * which shows them.  A directory that is not a coordsync clone (no
 * coordsync.branch in its git config, no mirror) is CS_ERROR for both, and
 * nothing is created in it. */
int cs_open_unchecked(cs_ctx **out, const cs_opts *opts);

/* Clone URL into DIR with libgit2, record the server id in the clone's git
 * config, seed an empty remote with the embedded template and create the
 * mirror; cs_sync then imports the state.  *out as for cs_open. */
int cs_init(cs_ctx **out, const char *url, const char *dir, const cs_opts *opts);

/* How to log in to an http(s) or ssh remote (docs/OPERATIONS.md); NULL
 * members: the environment's COORDSYNC_REMOTE_USER, _TOKEN_FILE, _SSH_KEY. */
typedef struct cs_remote_auth {
	const char *user;        /* user name; default: the URL's, else "git" */
	const char *token_file;  /* the http(s) token or password; mode 0600 */
	const char *ssh_key;     /* ssh private key, mode 0600; default ssh-agent */
} cs_remote_auth;

/* cs_init, logging in with auth while cloning, and recording what it gives
 * in the clone's config (coordsync.remote.user, and .tokenfile and .sshkey
 * as absolute paths) for every later fetch and push. */
int cs_init_auth(cs_ctx **out, const char *url, const char *dir, const cs_opts *opts,
		 const cs_remote_auth *auth);
/* Init refuses (CS_EREFUSED, and removes the clone it made) a remote that is
 * not empty but has no coordination/ directory; this one adopts it instead,
 * adding coordination/ on top of its files in one commit. */
int cs_init_adopt(cs_ctx **out, const char *url, const char *dir, const cs_opts *opts,
		  const cs_remote_auth *auth);

void cs_close(cs_ctx *ctx);                 /* NULL-safe */
const char *cs_errmsg(const cs_ctx *ctx);   /* never NULL */
const char *cs_server(const cs_ctx *ctx);   /* NULL when none is configured */
const char *cs_workdir(const cs_ctx *ctx);
const char *cs_dbpath(const cs_ctx *ctx);
const char *cs_gitdir(const cs_ctx *ctx);   /* the clone's .git/, with a trailing '/' */

/* Hold the libraries' global set-up between cs_open/cs_close pairs, which
 * every cs_open pays otherwise (for an http(s) remote that includes the
 * parse of the system's CA bundle, about 10 ms, at the first fetch).  While
 * held, the versions of coordination files (up to 8 MiB each, two per file)
 * that one handle read or wrote stay in memory for the next.  A long-lived process (the
 * daemon serving commands) calls cs_hold once and cs_release at exit. */
void cs_hold(void);
void cs_release(void);

/* Notices: what coordsync did on its own that an operator should hear of
 * (a stale lock file removed from a remote).  fn gets each one as a line
 * of text without a newline; without fn they are dropped. */
typedef void (*cs_notice_fn)(const char *msg, void *arg);
void cs_set_notice(cs_ctx *ctx, cs_notice_fn fn, void *arg);

/* A decision asks fn(arg) when it begins and once more just before it
 * pushes; nonzero abandons it with nothing pushed (CS_ERROR, "the caller
 * went away ...").  A daemon serving a command passes a check that its
 * caller is still connected, so no decision is made for a caller that is
 * gone.  NULL removes it. */
typedef int (*cs_abort_fn)(void *arg);
void cs_set_abort(cs_ctx *ctx, cs_abort_fn fn, void *arg);

/* A time as coordsync reads it: ISO-8601 (a date, a space or T, a time, an
 * optional zone; no zone is UTC) or epoch seconds.  0, or -1 if neither. */
int cs_parse_time(const char *s, double *out);

/* Create an empty bare repository at path whose default branch is main:
 * a remote for the demo and for tests.  CS_ERROR with msg filled on failure. */
int cs_create_remote(const char *path, char *msg, size_t msglen);

/* 1 when id may name a server, lock or job: [A-Za-z0-9._-]{1,64}, no
 * leading dot.  Anything that becomes a path goes through this. */
int cs_valid_id(const char *id);

/* 1 when id is a name no server may take, whatever its syntax: a directory
 * of the repository's shared layout (coordination, docs, logs, ...), "all"
 * (the broadcast recipient) and the like; see docs/RELIABILITY.md. */
int cs_reserved_id(const char *id);
/* 1 when id may name a server: cs_valid_id and not cs_reserved_id. */
int cs_valid_server_id(const char *id);

/* A duration as systemd writes it: "90" (a bare number: seconds), "30s",
 * "15m", "2h", "7d", "1w", or a sum ("1h 30m").  Whole seconds, at most
 * about a thousand years.  0 and *out_seconds, or -1. */
int cs_duration_parse(const char *text, long long *out_seconds);

/* ---- sync ------------------------------------------------------------ */

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

/* ---- the outbox ------------------------------------------------------ */
/* Intents deferred with --defer wait in .git/coordsync/outbox.db until a
 * sync pushes them.  One that failed to apply is set aside (error set) and
 * skipped until retried. */
typedef struct cs_intent {
	long long id;
	const char *kind;       /* status, heartbeat, msg */
	const char *payload;    /* its JSON arguments */
	double created_at;
	const char *error;      /* NULL: pending; else why it was set aside */
	double failed_at;
} cs_intent;
/* fn returns CS_OK to go on, or a code that stops the listing. */
typedef int (*cs_intent_fn)(const cs_intent *in, void *arg);
int cs_outbox_list(cs_ctx *ctx, cs_intent_fn fn, void *arg);
/* Put intent id (0: every set-aside one) back in line; *n counts them.
 * CS_ENOTFOUND for no such intent, CS_EREFUSED for one not set aside. */
int cs_outbox_retry(cs_ctx *ctx, long long id, int *n);
/* Delete intent id: it is never pushed.  CS_ENOTFOUND for none. */
int cs_outbox_drop(cs_ctx *ctx, long long id);
/* How many intents wait, and how many are set aside. */
int cs_outbox_count(cs_ctx *ctx, long long *pending, long long *held);
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

/* ---- queries --------------------------------------------------------- */

#define CS_NULL 0
#define CS_INT  1
#define CS_REAL 2
#define CS_TEXT 3

/* Run one read-only statement on a separate read-only connection.  Writes,
 * ATTACH and PRAGMA changes are refused with CS_EINVAL; time is bounded. */
int cs_query(cs_ctx *ctx, cs_rows **out, const char *sql);
/* The seconds a query or report may run (coordsync.query.timeout). */
int cs_query_timeout(const cs_ctx *ctx);

/* The rows of list name, a view of queries/ (queries/NAME.sql: lock_list,
 * job_list, msg_inbox...), on a separate read-only connection as cs_query.
 * filters: NULL, or pairs column, value ending in NULL: only the rows whose
 * column equals the value (bound as text).  Columns whose name starts with
 * '_' filter but are not shown.  CS_EINVAL for a name that is no view of
 * queries/ or a column the view lacks. */
int cs_list(cs_ctx *ctx, cs_rows **out, const char *name, const char *const *filters);

/* 1 and a row, 0 at the end, or a negative code (message on the ctx). */
int cs_rows_next(cs_rows *rows);
int cs_rows_columns(cs_rows *rows);
const char *cs_rows_name(cs_rows *rows, int col);
int cs_rows_type(cs_rows *rows, int col);          /* CS_NULL .. CS_TEXT */
const char *cs_rows_text(cs_rows *rows, int col);  /* NULL for NULL */
void cs_rows_free(cs_rows *rows);                  /* NULL-safe */

/* ---- decisions ------------------------------------------------------- */
/* Each is one SQLite transaction, one commit and one push (a compare-and-
 * swap on the remote branch), retried on a refused push.  With defer set,
 * status, heartbeat and message intents are queued for the next sync. */

typedef struct cs_lock_info {
	long long fence;
	double expires_at;
	char holder[65];
} cs_lock_info;

int cs_lock_acquire(cs_ctx *ctx, const char *name, int ttl, int wait,
		    cs_lock_info *info);
int cs_lock_renew(cs_ctx *ctx, const char *name, int ttl, cs_lock_info *info);
int cs_lock_release(cs_ctx *ctx, const char *name);
int cs_lock_cleanup(cs_ctx *ctx, int *released);

/* kv is an array of n "KEY=VALUE" strings that become job fields. */
int cs_job_add(cs_ctx *ctx, char **id_out, const char *id, int priority,
	       const char *const *kv, int n);
int cs_job_claim(cs_ctx *ctx, char **id_out);
int cs_job_done(cs_ctx *ctx, const char *id, const char *result);
int cs_job_fail(cs_ctx *ctx, const char *id, const char *error);
int cs_job_cancel(cs_ctx *ctx, const char *id);
/* Give back a claim of this server's that its caller never received: the
 * job is queued again with why as its error, the attempt stays counted and
 * the fence rises.  CS_EREFUSED when the job is not running here. */
int cs_job_requeue(cs_ctx *ctx, const char *id, const char *why);
int cs_job_rescue(cs_ctx *ctx, int older_than, int *rescued);

int cs_status_set(cs_ctx *ctx, const char *status, const char *const *kv,
		  int n, int defer);
int cs_heartbeat(cs_ctx *ctx, int defer);

/* defer is a set of flags: CS_DEFER queues the message (1, as for the
 * others), CS_FORCE sends it to a recipient the remote does not know.
 * Without CS_FORCE, `to` must be "all", this server, or a server with a
 * directory or a heartbeat on the remote (CS_EINVAL otherwise). */
#define CS_DEFER 1
#define CS_FORCE 2
int cs_msg_send(cs_ctx *ctx, char **id_out, const char *to, const char *type,
		const char *subject, const char *body, int defer);
int cs_msg_read(cs_ctx *ctx, const char *id);

/* Bounds for the decision loop, for tests and benchmarks. */
void cs_set_retries(cs_ctx *ctx, int max_attempts);
/* Refused pushes retried by the last decision (0 when it won at once). */
int cs_last_retries(const cs_ctx *ctx);

#include "coordsync/health.h"

/* ---- reports --------------------------------------------------------- */
/* A report is a view: a built-in one (queries/NAME.sql, embedded), or a
 * user's NAME.sql (a single SELECT) in a directory of user views, created
 * as a TEMP view on the read-only connection.  Filters follow column names:
 * --since applies to a column named time (ISO text or epoch seconds: rows
 * at or after it), else hour or day (buckets that end after it); --server
 * to a column named server.  See docs/REPORTS.md. */

typedef struct cs_report_opts {
	const char *since;    /* ISO-8601, epoch seconds, or "30m", "24h", "7d", "2w" ago */
	const char *server;   /* only rows whose server column equals this */
	const char *queries;  /* user views (default: git config coordsync.queries,
				 relative to the clone) */
} cs_report_opts;

/* Every report, sorted by name: columns name, description (the first
 * "-- NAME: ..." comment line of its file) and source ("builtin" or the
 * user file's path).  opts may be NULL. */
int cs_report_list(cs_ctx *ctx, cs_rows **out, const cs_report_opts *opts);

/* The rows of report name, filtered by opts (may be NULL), on the
 * read-only connection.  CS_ENOTFOUND for an unknown report; CS_EINVAL for
 * a bad name or time, a filter the report has no column for, or a user view
 * that is not one read-only SELECT. */
int cs_report(cs_ctx *ctx, cs_rows **out, const char *name, const cs_report_opts *opts);


/* ---- configuration (config.c) ------------------------------------------ */
/* Settings live in the clone's git config as coordsync.KEY; an environment
 * variable overrides one (see `coordsync config`); flags override both. */

/* The effective value of KEY (without "coordsync."), malloc'd, or NULL. */
char *cs_config_get(cs_ctx *ctx, const char *key);
/* A number setting (a count, a duration in seconds, days, or a flag as 0/1)
 * parsed strictly into *out: CS_EINVAL, with a message naming the key, the
 * value, where it came from and the form expected, when it is not of its
 * form or range.  Durations take systemd's units (cs_duration_parse). */
int cs_config_int(cs_ctx *ctx, const char *key, long long *out);
/* cs_config_int's value, or dflt when it does not parse (the message on the
 * handle is kept): for code that runs only after cs_config_check passed. */
long long cs_config_num(cs_ctx *ctx, const char *key, long long dflt);
/* Every number setting parsed (cs_open runs it): the first error, or CS_OK. */
int cs_config_check(cs_ctx *ctx);
/* Every setting: key, value, source, help.  The value is the one in use
 * (a number setting in its unit: "15m" shows as 900), "(invalid)" marks a
 * source whose value does not parse, and a URL's password shows as ***. */
int cs_config_list(cs_ctx *ctx, cs_rows **out);

/* ---- maintenance (maint.c) ---------------------------------------------- */

/* Move done, failed and cancelled jobs and read messages older than
 * older_than days into coordination/archive/YYYY-MM/{jobs,messages}.json in
 * one commit.  The mirror's history keeps every record. */
int cs_compact(cs_ctx *ctx, int older_than_days, int *jobs, int *messages);

typedef struct cs_logs_opts {
	int keep_files;          /* newest files kept per server */
	long long keep_bytes;    /* bytes kept per server */
	long long max_file;      /* larger files are refused */
} cs_logs_opts;
/* Put files into <server>/logs/ in one commit, then rotate: by name, newest
 * (greatest) first, keep what fits keep_files and keep_bytes; the files
 * pushed are always kept.  *removed counts rotated-out files. */
int cs_logs_push(cs_ctx *ctx, const char *const *files, int n, const cs_logs_opts *o,
		 int *removed);


/* Apply docs/auto_reply_rules.json to this server's unread messages in one
 * commit: each matching message is replied to and marked read, or marked
 * read, exactly once; unmatched ones stay unread; this server's own
 * messages are never processed.  *log (malloc'd, may be NULL) has a line
 * per action. */
int cs_autoreply(cs_ctx *ctx, int *replied, int *marked, char **log);

/* Take the clone's lock, waiting at most wait seconds: CS_EBUSY when
 * another coordsync keeps it.  Held until cs_close. */
#define CS_EBUSY -5
int cs_lock(cs_ctx *ctx, int wait);

#include "coordsync/cycle.h"

#endif
