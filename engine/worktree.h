/* The clone's working tree and index, their self-repair, and the lock
 * files left in its git directory (worktree.c). */
#ifndef CS_WORKTREE_H
#define CS_WORKTREE_H

#include "ctx.h"

/* Point the local branch and working tree at head (a safe checkout).  A
 * journal (gitdir/coordsync/checkout) names every file it is about to
 * write, with its old and new blob, until the branch is moved; an update
 * that finds one first brings coordsync's own interrupted writes back to
 * the local branch (HEAD), keeping hand edits.  A damaged index is set
 * aside and rebuilt from HEAD, with a notice. */
int worktree_move(cs_ctx *ctx, const git_oid *head);
/* 1 when an earlier working-tree update was interrupted (its journal is
 * there): the next sync repairs it even when the branch is at the head. */
int worktree_pending(cs_ctx *ctx);
/* Remove the lock files in the clone's git directory (HEAD, FETCH_HEAD,
 * packed-refs, config, any ref under refs/) that a coordsync or git killed
 * while it wrote them left behind; to be called with the clone's lock held.
 * A lock some process on this machine has open is left alone; one younger
 * than coordsync.stalelock only once it stayed unchanged for two seconds;
 * none with coordsync.stalelock 0.  Each removal or refusal is a notice. */
void worktree_locks_clear(cs_ctx *ctx);

#endif
