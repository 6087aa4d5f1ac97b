/*
 * coordsync/common.h: what every part of the API shares: return codes, the
 * handle's type, where a clone is (cs_opts), the rules for ownership and
 * threads, and the helpers that need no handle (ids, times, durations).
 * Every public header includes it; coordsync/coordsync.h includes them all.
 *
 * Errors.  Every function that returns int returns CS_OK (0) or a negative
 * CS_E* code, and leaves a message on the handle (cs_errmsg) unless it says
 * otherwise.  Nothing in the library prints, exits or installs a signal
 * handler.
 *
 * Ownership and lifetimes, unless a declaration says otherwise:
 * - Arguments are read during the call only: the engine copies what it
 *   keeps (cs_opts, cs_remote_auth, a cs_tls_hook).  The arg pointers of
 *   cs_set_notice, cs_set_abort and cs_tls_hook_set are kept as given.
 * - A string an accessor of the handle returns (cs_server, cs_workdir...)
 *   belongs to the handle and is valid until cs_close; cs_errmsg's until
 *   the next call on that handle.
 * - A string handed back through a char ** parameter is malloc'd: the
 *   caller frees it with free().  An object handed back through a ** out
 *   parameter (cs_rows, cs_health) is the caller's, freed with its own
 *   _free (NULL-safe), and before cs_close of the handle it came from.
 * - Whatever the engine passes to a callback (a notice's text, a cs_intent,
 *   a cycle's log line) is valid during that call of the callback only.
 *
 * Threads.  A handle (cs_ctx), and what is made from it (cs_rows,
 * cs_health), is used by one thread at a time: the engine takes no lock of
 * its own on it.  Different handles may be used on different threads at
 * once, within these process-wide limits:
 * - libgit2's global set-up: every handle (cs_open, cs_clone...) and every
 *   cs_hold takes a reference on it (git_libgit2_init, counted by libgit2),
 *   and cs_close and cs_release drop it.  The engine also changes libgit2
 *   for the whole process, which a program using libgit2 itself shares:
 *   each set-up registers coordsync's socket stream as libgit2's standard
 *   one (git_stream_register: the time bounds below); each new handle turns
 *   strict hash verification off and keeps blobs of up to 8 MiB in the
 *   object cache; the first transfer over http(s) after a set-up sets the
 *   CA locations (GIT_SSL_CAINFO's, or the TLS hook's).
 * - cs_hold's keeper of file versions is per thread: the handles a thread
 *   opens while it holds share its keeper, which is counted without atomics,
 *   so those handles are used and closed on that thread, and cs_release is
 *   called on the thread that called cs_hold.  A handle opened with no hold
 *   may move to another thread between calls.
 * - The time bounds on the network (coordsync.timeout.*) are one watchdog
 *   for the process: two transfers with a remote through libgit2 (a clone,
 *   a fetch or a push, which cs_clone*, cs_sync, cs_rebuild,
 *   cs_accept_history, every decision, cs_compact, cs_logs_push, cs_cycle
 *   and cs_health_check with sync may run) must not overlap on two threads.
 *   coordsync's own program runs every handle on one thread.
 * - cJSON's allocator: the first import installs cJSON allocation hooks
 *   (cJSON_InitHooks) for the life of the process, which route each call by
 *   thread (an importing thread takes from an arena of its own; any other
 *   call is malloc's and free's), so other threads may use cJSON meanwhile.
 *   A program using cJSON itself must not call cJSON_InitHooks (before the
 *   first import its hooks are replaced; after it, an arena's block would
 *   be handed to its free), and frees cJSON's results with cJSON_Delete or
 *   cJSON_free.
 * - The CA-certificate hook (coordsync/tls.h) is process-wide: it is set
 *   once, from one thread, before any other call.
 * - The engine may start threads of its own inside a call (a large import's
 *   parser and checker, the network watchdog) and joins them before it
 *   returns.  Every callback (notice, abort, the cycle's log, an outbox
 *   listing, the TLS hook) is called on the calling thread, inside the call.
 *
 * Callbacks.  A notice or abort function is called in the middle of a call
 * on its handle, often inside a transaction or a push: it may read that
 * handle's accessors (cs_errmsg, cs_server, cs_workdir, cs_dbpath,
 * cs_gitdir) and call the functions of this header that take no handle;
 * it makes no other call on that handle (nor closes it), and starts no
 * transfer with a remote on another.  It should return promptly: the
 * clone's lock is held meanwhile.
 */
#ifndef COORDSYNC_COMMON_H
#define COORDSYNC_COMMON_H

#include <stddef.h>

#define CS_OK        0
#define CS_ERROR    -1   /* operational failure: git, sqlite, I/O, bad file */
#define CS_EINVAL   -2   /* invalid input from the caller */
#define CS_EREFUSED -3   /* a decision was refused: lock held, nothing queued */
#define CS_ENOTFOUND -4  /* no such job, lock or message */
#define CS_EBUSY    -5   /* another coordsync holds the clone's lock (cs_clone_lock) */

/* The handle: one clone and its mirror (coordsync/handle.h). */
typedef struct cs_ctx cs_ctx;
/* The rows of a query, list or report (coordsync/query.h). */
typedef struct cs_rows cs_rows;

/* Where things are; NULL members take the defaults. */
typedef struct cs_opts {
	const char *dir;      /* a directory inside the clone (default ".") */
	const char *server;   /* overrides coordsync.server from git config */
	const char *db;       /* overrides DIR/.git/coordsync/mirror.db */
} cs_opts;

/* The functions below take no handle: they touch no global state, and any
 * thread may call them at any time (from a callback too). */

/* A time as coordsync reads it: ISO-8601 (a date, a space or T, a time, an
 * optional zone; no zone is UTC) or epoch seconds.  0, or -1 if neither. */
int cs_parse_time(const char *s, double *out);

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

#endif
