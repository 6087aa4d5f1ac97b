/* Secrets (secret.c): the token and key files, loopback hosts, and the one
 * URL parser; below the git layer, which asks it about remotes. */
#ifndef CS_SECRET_H
#define CS_SECRET_H

#include <stddef.h>
#include "ctx.h"

/* ---- secret files (secret.c) ------------------------------------------- */
/* The one token in path, a regular file of this user with mode 0600 or
 * stricter; errors name the file, never its content.  The caller wipes
 * (explicit_bzero) and frees *out. */
int secret_token_read(cs_ctx *ctx, const char *path, char **out);
/* 1 when the n bytes of host name a loopback address (localhost, 127.x.y.z,
 * [::1]), where a secret may go over plain http. */
int secret_host_loopback(const char *host, size_t n);
/* CS_OK when path is a regular file of this user with mode 0600 or
 * stricter; else CS_EINVAL with a message naming it as what ("ssh key"). */
int secret_check(cs_ctx *ctx, const char *what, const char *path);

/* ---- the URL parser (secret.c) ------------------------------------------- */
/* n bytes at p, inside the parsed URL (not NUL-terminated); p is NULL for a
 * part the URL does not have. */
typedef struct secret_span {
	const char *p;
	size_t n;
} secret_span;

#define SECRET_URL_SCHEME 1   /* scheme://[user[:password]@]host[:port][/path] */
#define SECRET_URL_SCP    2   /* [user@]host:path, git's scp-like ssh address */
#define SECRET_URL_LOCAL  3   /* a path on this machine, or file://path */

/* A URL in parts, each pointing into the string parsed. */
typedef struct secret_url {
	int form;              /* SECRET_URL_* */
	secret_span scheme;    /* as written ("HTTPS"); also file's; else NULL */
	secret_span user;      /* the user info's user; p set (n maybe 0) when
				* there is an '@', the last one before the path */
	int password;          /* the user info holds ":password" (never kept) */
	secret_span host;      /* a name, an IPv4 address or an IPv6 literal with
				* its brackets ("[::1]"); NULL for a local path */
	secret_span port;      /* digits, 0 to 65535; NULL when none is given */
	secret_span path;      /* the rest: from the '/' after the host (query and
				* fragment included, maybe n 0); scp's after the
				* ':'; a local path, file:// taken off */
} secret_url;

/* Parse url, git's way of telling its forms apart:
 * - "scheme://..." (scheme: a letter, then letters, digits, '+', '-', '.')
 *   is SECRET_URL_SCHEME, with the authority up to the first '/', '?' or
 *   '#'; "file://X" is SECRET_URL_LOCAL with path X (lower case "file", as
 *   libgit2 tells a local remote);
 * - else a ':' before any '/' makes it SECRET_URL_SCP ("git@host:repo",
 *   "[::1]:repo");
 * - else it is SECRET_URL_LOCAL, the whole string its path.
 * Returns 0, or -1 (*out then zeroed) for NULL, "", a malformed scheme
 * before "://", a missing host, an unclosed or empty '[', a port that is not
 * a number up to 65535, or a space or control character before the path. */
int secret_url_parse(secret_url *out, const char *url);

#endif
