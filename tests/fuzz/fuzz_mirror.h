/* For the harnesses that write into a mirror (fuzz_import, fuzz_jira): a
 * handle on a real SQLite mirror in a temporary file under $TMPDIR, made
 * on the first input and removed, with its -wal and -shm, at exit. */
#ifndef CS_FUZZ_MIRROR_H
#define CS_FUZZ_MIRROR_H
#include <stdlib.h>
#include <unistd.h>
#include "ctx.h"
#include "db.h"
#include "fuzz.h"

static cs_ctx *ctx;
static char dbpath[4096];

static void cleanup(void)
{
	char p[4200];
	if (ctx) {
		sqlite3_close(ctx->db);
		free(ctx);
		ctx = NULL;
	}
	unlink(dbpath);
	snprintf(p, sizeof p, "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", dbpath);
	unlink(p);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	int fd;
	snprintf(dbpath, sizeof dbpath, "%s/coordsync-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	FUZZ_CHECK((fd = mkstemp(dbpath)) >= 0, "cannot create a file in %s", dbpath);
	close(fd);
	FUZZ_CHECK((ctx = calloc(1, sizeof *ctx)) != NULL, "out of memory");
	ctx->lockfd = -1;
	ctx->max_file = CTX_MAX_BLOB;
	ctx->query_seconds = 30;
	FUZZ_CHECK(db_open(ctx, dbpath, DB_CREATE) == CS_OK, "%s", ctx->err);
	atexit(cleanup);
}
#endif
