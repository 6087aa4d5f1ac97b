/*
 * coordsync/config.h: settings.  They live in the clone's git config as
 * coordsync.KEY; an environment variable overrides one (see `coordsync
 * config`); flags override both.  The conventions of coordsync/common.h
 * hold here.
 *
 * Threads: a handle is one thread's at a time (coordsync/common.h).
 */
#ifndef COORDSYNC_CONFIG_H
#define COORDSYNC_CONFIG_H

#include "coordsync/common.h"

/* The effective value of KEY (without "coordsync."): its default when it
 * is not set; malloc'd (free() it).  NULL when KEY is no setting, has no
 * value and no default, or there is no memory. */
char *cs_config_get(cs_ctx *ctx, const char *key);
/* A number setting (a count, a duration in seconds, days, or a flag as 0/1)
 * parsed strictly into *out: CS_EINVAL, with a message naming the key, the
 * value, where it came from and the form expected, when it is not of its
 * form or range.  Durations take systemd's units (cs_duration_parse). */
int cs_config_int(cs_ctx *ctx, const char *key, long long *out);
/* cs_config_int's value, or dflt when it does not parse (the message on the
 * handle is kept): for code that runs only after cs_config_check passed. */
long long cs_config_num(cs_ctx *ctx, const char *key, long long dflt);
/* Every number setting parsed: the first error, or CS_OK.  cs_open runs it
 * without compact.olderthan, which only the compaction reads and fails on
 * (a bare number there meant days once). */
int cs_config_check(cs_ctx *ctx);
/* Every setting: key, value, source, help.  The value is the one in use
 * (a number setting in its unit: "15m" shows as 900), "(invalid)" marks a
 * source whose value does not parse, and a URL's password shows as ***.
 * Unlike a query's, these rows read a temporary table on the handle's own
 * connection to the mirror: free them (cs_rows_free) before the next call
 * on the handle other than the cs_rows_* ones.  On failure *out may be
 * left as it was (unlike cs_query's): initialise it to NULL. */
int cs_config_list(cs_ctx *ctx, cs_rows **out);
/* The n-th setting (n = 0, 1, ...) as `coordsync config` lists it, without
 * a clone (for the generated man page, coordsync(5)): its key (without
 * "coordsync."), the environment variable that overrides it (NULL: none),
 * its default (NULL: unset) and its help.  CS_ENOTFOUND past the last. */
int cs_config_describe(int n, const char **key, const char **env, const char **dflt,
		       const char **help);

#endif
