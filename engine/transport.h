/* The remote: libgit2's set-up, clone, fetch, the push as compare-and-swap
 * and the turns of deciders sharing a local remote (transport.c). */
#ifndef CS_TRANSPORT_H
#define CS_TRANSPORT_H

#include "ctx.h"

void transport_init(void);   /* git_libgit2_init, the CA bundle left for transport_tls_ready */
/* The clone's remote 'origin' (owned by ctx). */
int transport_origin(cs_ctx *ctx, git_remote **out);
/* Clone url into dir, answering credential requests with auth (NULL, or a
 * NULL member: the coordsync.remote.* setting, from the environment).  A
 * URL that holds a password is refused. */
int transport_clone(cs_ctx *ctx, const char *url, const char *dir, const cs_remote_auth *auth);
/* Fetch origin; *head is the remote branch's commit, or *empty is set. */
int transport_fetch(cs_ctx *ctx, git_oid *head, int *empty);
/* Commit tree on parent (NULL: a root commit), authored and signed as
 * sign_commit says (sign.h), and push it as a compare-and-swap: the
 * remote branch must still be parent.
 * Returns CTX_ERETRY when another server moved it first. */
int transport_commit_push(cs_ctx *ctx, const git_oid *tree, const git_oid *parent,
		   const char *msg, git_oid *commit);
int transport_turn_begin(cs_ctx *ctx);   /* -1: no turn taken */
void transport_turn_end(int fd);
/* Path of origin when it is a local repository, else NULL; caller frees. */
char *transport_local_path(const char *url);

#endif
