/*
 * coordsync/tls.h: the CA-certificate hook.  A program that keeps libgit2's
 * global set-up from loading the CA certificates (coordsync's own does, to
 * spare the commands that never speak TLS the parse of the system's
 * bundle) tells the engine through this hook where the set-up would have
 * loaded them from; the engine loads them before the first connection over
 * http:// or https://.  Without a hook the engine is a plain libgit2 user:
 * libgit2 loads the CA certificates in its own set-up.
 */
#ifndef COORDSYNC_TLS_H
#define COORDSYNC_TLS_H

#include "coordsync/common.h"

typedef struct cs_tls_hook {
	/* Told 1 just before the engine runs libgit2's global set-up
	 * (git_libgit2_init), and 0 just after. */
	void (*setup)(int entering, void *arg);
	/* Asked before the first clone, fetch or push over http:// or https://
	 * after a set-up (unless GIT_SSL_CAINFO names a file): the CA file and
	 * directory (either may be NULL) that the set-up asked for, which the
	 * engine then loads; valid until the next set-up.  Both NULL: none is
	 * loaded, and a certificate cannot be verified (TLS fails closed). */
	void (*ca_locations)(const char **file, const char **dir, void *arg);
	void *arg;
} cs_tls_hook;

/* Make a copy of *hook (NULL: none) the engine's hook.  Call it once,
 * before any other call of the engine, from one thread: the hook is
 * process-wide, and its functions are called from inside cs_open, cs_clone,
 * cs_hold, cs_create_remote and the calls that reach a remote. */
void cs_tls_hook_set(const cs_tls_hook *hook);

#endif
