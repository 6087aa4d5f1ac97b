/* Unit tests of engine/db.c on a real SQLite file. */
#include <stdlib.h>
#include <unistd.h>
#include "ctx.h"
#include "db.h"
#include "test.h"

/* A failed migration says which one and SQLite's reason.  ctx_err used to
 * format ctx->err into itself ("migration %s: %s", ..., ctx->err), so the
 * reason came out as garbage. */
static void migration_error(const char *dir)
{
	char path[512];
	cs_ctx *ctx = calloc(1, sizeof *ctx);
	sqlite3 *db;
	int rc;

	snprintf(path, sizeof path, "%s/mirror.db", dir);
	/* A file at user_version 0 that already has a table migration 001
	 * creates: 001 fails with "table files already exists". */
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "CREATE TABLE files(x)", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);

	rc = db_open(ctx, path, DB_CREATE);
	CHECK(rc != CS_OK);
	CHECK(strstr(ctx->err, "migration 001_mirror.sql: ") == ctx->err);
	CHECK(strstr(ctx->err, "table files already exists") != NULL);
	CHECK(strstr(ctx->err + 1, "migration") == NULL);   /* said once */
	if (t_fail)
		fprintf(stderr, "got: %s\n", ctx->err);
	sqlite3_close(ctx->db);
	free(ctx);
}

/* ctx_err may take ctx->err as an argument, whatever its length. */
static void err_wraps_itself(void)
{
	cs_ctx *ctx = calloc(1, sizeof *ctx);
	char want[sizeof ctx->err];

	ctx_err(ctx, CS_ERROR, "inner reason");
	CHECK(ctx_err(ctx, CS_EINVAL, "outer: %s", ctx->err) == CS_EINVAL);
	CHECK_STR(ctx->err, "outer: inner reason");
	memset(ctx->err, 'x', sizeof ctx->err - 1);
	ctx->err[sizeof ctx->err - 1] = 0;
	memcpy(want, "w: ", 3);
	memcpy(want + 3, ctx->err, sizeof want - 4);
	want[sizeof want - 1] = 0;
	ctx_err(ctx, CS_ERROR, "w: %s", ctx->err);
	CHECK_STR(ctx->err, want);
	free(ctx);
}

int main(void)
{
	char dir[] = "/tmp/cs-unit-db.XXXXXX";
	char cmd[64];

	if (!mkdtemp(dir))
		return 2;
	err_wraps_itself();
	migration_error(dir);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return t_done();
}
