/*
 * coordsync/handle.h: the handle.  Open a clone (cs_open) or make one
 * (cs_clone), read where it is, take its lock, and close it (cs_close);
 * hold the libraries' set-up across handles (cs_hold); hear what the engine
 * did on its own (notices) and let a decision stop when its caller is gone
 * (abort).  The conventions of coordsync/common.h hold here.
 *
 * Threads: a handle is one thread's at a time; one opened while its thread
 * holds (cs_hold) stays on that thread (coordsync/common.h).
 */
#ifndef COORDSYNC_HANDLE_H
#define COORDSYNC_HANDLE_H

#include "coordsync/common.h"

/* ---- handles --------------------------------------------------------- */

/* Open the clone containing opts->dir and its mirror, applying migrations.
 * *out is set even on failure (so the message can be read): close it.  It
 * is NULL only when there was no memory for a handle, and cs_errmsg(NULL)
 * then says so.  opts (may be NULL) is read during the call only. */
int cs_open(cs_ctx **out, const cs_opts *opts);

/* cs_open, except that an invalid setting or a reserved server id does not
 * stop it (cs_open refuses them with CS_EINVAL): for `coordsync config`,
 * which shows them.  A directory that is not a coordsync clone (no
 * coordsync.branch in its git config, no mirror) is CS_ERROR for both, and
 * nothing is created in it. */
int cs_open_unchecked(cs_ctx **out, const cs_opts *opts);

/* Clone URL into DIR with libgit2, record the server id in the clone's git
 * config, seed an empty remote with the embedded template and create the
 * mirror; cs_sync then imports the state.  On success *out is a handle open
 * on the new clone, as cs_open's; *out as for cs_open, closed with
 * cs_close (the clone stays).  The command-line's `init`. */
int cs_clone(cs_ctx **out, const char *url, const char *dir, const cs_opts *opts);

/* How to log in to an http(s) or ssh remote (docs/OPERATIONS.md); NULL
 * members: the environment's COORDSYNC_REMOTE_USER, _TOKEN_FILE, _SSH_KEY.
 * Read during the call only. */
typedef struct cs_remote_auth {
	const char *user;        /* user name; default: the URL's, else "git" */
	const char *token_file;  /* the http(s) token or password; mode 0600 */
	const char *ssh_key;     /* ssh private key, mode 0600; default ssh-agent */
} cs_remote_auth;

/* cs_clone, logging in with auth while cloning, and recording what it gives
 * in the clone's config (coordsync.remote.user, and .tokenfile and .sshkey
 * as absolute paths) for every later fetch and push. */
int cs_clone_auth(cs_ctx **out, const char *url, const char *dir, const cs_opts *opts,
		  const cs_remote_auth *auth);
/* A clone refuses (CS_EREFUSED, and removes the clone it made) a remote that
 * is not empty but has no coordination/ directory; this one adopts it
 * instead, adding coordination/ on top of its files in one commit. */
int cs_clone_adopt(cs_ctx **out, const char *url, const char *dir, const cs_opts *opts,
		   const cs_remote_auth *auth);
/* The seed's "Initialize status files", which `init` does once the clone
 * is made: this server's status.json ({"status": "idle", "timestamp"})
 * and heartbeat.json, each only when the remote has none, in one commit
 * (none when both are there).  A decision (coordsync/msgs.h). */
int cs_init_status_files(cs_ctx *ctx);

/* Create an empty bare repository at path whose default branch is main:
 * a remote for the demo and for tests.  No handle: CS_ERROR with the
 * message written into msg (msglen bytes, the caller's), else msg is left
 * as it was.  Runs libgit2's set-up (and the TLS hook's set-up) and drops
 * it again. */
int cs_create_remote(const char *path, char *msg, size_t msglen);

/* Close the handle, its mirror connections and its locks, and drop its
 * reference on libgit2's set-up; a transaction left open is rolled back.
 * Free its cs_rows and cs_health first.  NULL-safe. */
void cs_close(cs_ctx *ctx);

/* The message of the last failure on ctx: the handle's, valid until the
 * next call on ctx (which may replace it) or cs_close.  Never NULL; for a
 * NULL ctx (cs_open without memory) a static "out of memory". */
const char *cs_errmsg(const cs_ctx *ctx);
/* Where the handle is.  The handle's strings, valid until cs_close. */
const char *cs_server(const cs_ctx *ctx);   /* NULL when none is configured */
const char *cs_workdir(const cs_ctx *ctx);  /* the working tree, with a trailing '/' */
const char *cs_dbpath(const cs_ctx *ctx);
const char *cs_gitdir(const cs_ctx *ctx);   /* the clone's .git/, with a trailing '/' */

/* Take the clone's lock (an flock on .git/coordsync/lock), waiting at most
 * wait seconds: CS_EBUSY when another coordsync keeps it, also another
 * handle of this process.  Held until cs_clone_unlock or cs_close; a second call
 * on a handle that holds it is CS_OK at once.  Decisions and syncs take it
 * themselves and keep it, so that no other coordsync decides on this clone
 * between two of them: cs_clone_unlock gives it back (NULL-safe). */
int cs_clone_lock(cs_ctx *ctx, int wait);
void cs_clone_unlock(cs_ctx *ctx);

/* ---- the process's set-up -------------------------------------------- */

/* Hold the libraries' global set-up between cs_open/cs_close pairs, which
 * every cs_open pays otherwise (for an http(s) remote that includes the
 * parse of the system's CA bundle, about 10 ms, at the first fetch).  While
 * held, the versions of coordination files (up to 8 MiB each, two per file)
 * that one handle read or wrote stay in memory for the next handle of the
 * same thread: the keeper of them is the calling thread's, shared by the
 * handles that thread opens while it holds, and freed when the last of
 * those handles and the hold are gone.  Holds nest: each cs_hold is matched
 * by one cs_release, on the same thread; a cs_release with no hold of its
 * thread does nothing.  A long-lived process (the daemon
 * serving commands) calls cs_hold once and cs_release at exit. */
void cs_hold(void);
void cs_release(void);

/* ---- callbacks ------------------------------------------------------- */
/* Both are kept on the handle, with arg as given, until replaced (NULL
 * removes one) or cs_close; both are called on the calling thread, inside a
 * call on ctx, and may do only what coordsync/common.h allows a callback. */

/* Notices: what coordsync did on its own that an operator should hear of
 * (a stale lock file removed from a remote).  fn gets each one as a line
 * of text without a newline, valid during that call of fn only; it may
 * hold text from the remote as it is, which the caller escapes for where
 * it goes.  Without fn they are dropped. */
typedef void (*cs_notice_fn)(const char *msg, void *arg);
void cs_set_notice(cs_ctx *ctx, cs_notice_fn fn, void *arg);

/* A decision asks fn(arg) when it begins and once more just before it
 * pushes; nonzero abandons it with nothing pushed (CS_ERROR, "the caller
 * went away ...").  A daemon serving a command passes a check that its
 * caller is still connected, so no decision is made for a caller that is
 * gone.  NULL removes it. */
typedef int (*cs_abort_fn)(void *arg);
void cs_set_abort(cs_ctx *ctx, cs_abort_fn fn, void *arg);

/* A dry run: while fn is set, every decision on ctx is made as always, on
 * a mirror just brought up to date with the remote, but it is neither
 * committed nor pushed: fn gets each record the decision changed (kind
 * "job", "message" or "lock"; its id or name; how: 1 changed, 2 archived),
 * then the decision is rolled back and the call returns as if it had
 * succeeded, its counts set.  NULL removes it. */
typedef void (*cs_dry_fn)(const char *kind, const char *id, int how, void *arg);
void cs_set_dry_run(cs_ctx *ctx, cs_dry_fn fn, void *arg);

/* A job or message id from what a person typed: id itself when the mirror
 * has a record of that id, or when no id there begins with it; else the
 * one id that begins with it, when id has 4 characters or more (*full,
 * malloc'd; NULL when id stands as it is).  kind is "job" or "message".
 * Several ids beginning with it: CS_EINVAL, naming them.  The mirror is
 * read as it is, without a fetch: a prefix finds what the last sync saw. */
int cs_id_resolve(cs_ctx *ctx, const char *kind, const char *id, char **full);

/* ---- the decision loop's bounds -------------------------------------- */

/* The attempts a decision makes before it gives up on refused pushes (at
 * least 1; 60 by default), for tests and benchmarks. */
void cs_set_retries(cs_ctx *ctx, int max_attempts);
/* How long a job claim waits while another server holds the seed's
 * job_assignment lock, and a message sent now while one holds
 * message_queue, looking again on fresh fetches (CS_EREFUSED, naming the
 * holder, when it still does).  CS_SEED_WAIT seconds by default; 0 looks
 * once. */
#define CS_SEED_WAIT 10
void cs_set_seed_wait(cs_ctx *ctx, double seconds);
/* Refused pushes retried by the last decision on ctx (0 when it won at once). */
int cs_last_retries(const cs_ctx *ctx);

#endif
