/*
 * coordsync/validate.h: checking coordination files before they are
 * committed, with the checks a sync's import runs (the command line's
 * `validate`, and the pre-commit hook it installs).  The conventions of
 * coordsync/common.h hold here.
 *
 * Each file is imported by the importer itself into a scratch mirror held
 * in memory, in a transaction that is then rolled back: a file passes here
 * exactly when a sync would import it.  No clone, mirror or remote is
 * touched.
 */
#ifndef COORDSYNC_VALIDATE_H
#define COORDSYNC_VALIDATE_H

#include "coordsync/common.h"

/* One problem in a file.  Its strings are valid during the callback only. */
typedef struct cs_file_problem {
	const char *path;     /* the file as named: the argument, or its path in the tree */
	int line, col;        /* from 1; 1:1 for a problem with the whole file */
	const char *message;
} cs_file_problem;

/* Called for each problem, in the order found; nonzero stops the check,
 * which then returns CS_ERROR. */
typedef int (*cs_file_problem_fn)(const cs_file_problem *p, void *arg);

/* A handle for checking files, on a scratch mirror in memory.  dir: the
 * git repository to read (any work tree: it need not be a coordsync clone),
 * found as git finds one from dir; NULL: from the environment as git
 * does (GIT_DIR, GIT_INDEX_FILE..., else the current directory), which is
 * what a hook sees.  With need_repo 0 a handle without a repository is
 * made when none is found (only cs_validate_file then).  The repository's
 * coordsync.maxfilesize applies.  Freed with cs_close. */
int cs_validate_open(cs_ctx **out, const char *dir, int need_repo);

/* Check the file at file (a path on this machine), read as the
 * coordination file its last two components name once "." and ".." are
 * resolved from the current directory (coordination/jobs.json ... or
 * SERVER/status.json, SERVER/heartbeat.json).  Each problem goes to fn and
 * is counted in *problems.  CS_OK when the check ran (problems or none);
 * CS_ERROR when it could not run (out of memory, fn stopped it). */
int cs_validate_file(cs_ctx *ctx, const char *file, int *problems, cs_file_problem_fn fn,
		     void *arg);

/* Check every coordination file of the repository's working tree
 * (coordination/jobs.json, locks.json, messages.json and SERVER/status.json,
 * SERVER/heartbeat.json of every directory named by a server id), or with
 * staged those of its index (what `git commit` would commit; a hook sees
 * the index in GIT_INDEX_FILE).  As cs_validate_file; *checked counts the
 * files checked (may be NULL). */
int cs_validate_tree(cs_ctx *ctx, int staged, int *checked, int *problems, cs_file_problem_fn fn,
		     void *arg);

/* What cs_validate_hook_install did. */
enum { CS_HOOK_INSTALLED, CS_HOOK_SAME, CS_HOOK_REPLACED };

/* Install a git pre-commit hook in the repository (its core.hooksPath, else
 * its hooks directory) that runs `EXE validate --staged` (exe: the program's
 * absolute path; `coordsync` from PATH when it is gone).  An existing hook
 * that differs is kept and the call fails (CS_ERROR), unless force: then it
 * is renamed to pre-commit.orig and *what is CS_HOOK_REPLACED.  *path
 * (malloc'd, also on failure when known; NULL else) is the hook's path. */
int cs_validate_hook_install(cs_ctx *ctx, const char *exe, int force, char **path, int *what);

#endif
