/* Credentials for a remote, and the checks on its URL (cred.c). */
#ifndef CS_CRED_H
#define CS_CRED_H

#include "ctx.h"

/* What libgit2's credential callback answers from: the payload of cred_cb,
 * one per clone, fetch or push. */
typedef struct cred_state {
	cs_ctx *ctx;
	const cs_remote_auth *auth;  /* init's; NULL, or a NULL member: the setting */
	int tries;
} cred_state;

/* libgit2's credential callback (payload: a cred_state).  Answers a request
 * for url with an ssh key, or for http(s) with a user and the token of the
 * token file; gives up after a few requests per handle.  Messages name the
 * remote by its origin only; a failure leaves ctx's message as libgit2's
 * error (GIT_EUSER). */
int cred_cb(git_credential **out, const char *url, const char *url_user,
	    unsigned int allowed, void *payload);
/* "scheme://host[:port]" of a remote URL (an scp-like one's host, a local
 * one's path), without user or password, into out: the only part of it put
 * in a message.  Returns 1 when url is plain http to a host that is not a
 * loopback address, or not a valid URL (out then says so): no token goes
 * to it.  The URL is parsed by secret_url_parse. */
int cred_url_origin(const char *url, char *out, size_t len);
/* 1 when url carries a password (scheme://user:password@host/...); a URL
 * secret_url_parse refuses carries none. */
int cred_url_has_password(const char *url);

#endif
