/* Commits signed as git signs them, and their signatures checked as git
 * checks them (sign.c). */
#ifndef CS_SIGN_H
#define CS_SIGN_H

#include "ctx.h"

/* Create the commit of tree on parent (NULL: a root commit) with message
 * msg into *out, as git commit would in ctx's clone: author and committer
 * are user.name and user.email when set (else the server id, and
 * SERVER@coordsync), and when commit.gpgsign is true it is signed with
 * user.signingkey in gpg.format (openpgp: gpg.program, default gpg; ssh:
 * gpg.ssh.program, default ssh-keygen), the program run as git runs it and
 * bounded by coordsync.timeout.total.  CS_OK, or CS_ERROR naming the
 * program and what it said. */
int sign_commit(cs_ctx *ctx, git_oid *out, const git_tree *tree, const git_commit *parent,
		const char *msg);

/* What checking a commit's signature found (sign_verify). */
enum {
	SIGN_GOOD,      /* signed by a trusted key */
	SIGN_NONE,      /* not signed */
	SIGN_UNKNOWN,   /* signed by a key not trusted (or not known) */
	SIGN_BAD        /* a signature that does not verify, or cannot be checked */
};

/* Check the signature of commit id as git verify-commit does, with the keys
 * git trusts: the keyring of gpg.program (GNUPGHOME) for openpgp,
 * gpg.ssh.allowedSignersFile for ssh.  *state is one of SIGN_*; signer gets
 * who signed (the key's user id and id, the ssh principal or key), or what
 * is wrong.  CS_OK whatever the verdict; CS_ERROR when the commit cannot be
 * read or the program not run. */
int sign_verify(cs_ctx *ctx, const git_oid *id, int *state, char *signer, size_t n);

#endif
