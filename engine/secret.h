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
int cs_token_read(cs_ctx *ctx, const char *path, char **out);
/* 1 when the n bytes of host name a loopback address (localhost, 127.x.y.z,
 * [::1]), where a secret may go over plain http. */
int cs_host_loopback(const char *host, size_t n);
/* CS_OK when path is a regular file of this user with mode 0600 or
 * stricter; else CS_EINVAL with a message naming it as what ("ssh key"). */
int cs_secret_check(cs_ctx *ctx, const char *what, const char *path);

#endif
